import { InvalidArgumentError } from 'commander';

// Option parsers that reject bad values with the flag's own name (commander prefixes the option),
// so `kb search -k 0` says "-k/--top-k must be…" instead of failing later about an internal field.

/** An integer in [min, max]. */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer ≥ ${min}` : `expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}
