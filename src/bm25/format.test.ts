import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getVarints, putVarint } from './format.ts';

// The LEB128 codec of the postings: every value the writer stores reads back, at every byte-length
// boundary (the reader's loop is unrolled per byte).

const roundTrip = (values: number[]) => {
  const buf = new Uint8Array(values.length * 5 + 1);
  let end = 0;
  for (const v of values) end = putVarint(buf, end, v);
  const out = new Int32Array(values.length);
  expect(getVarints(buf, 0, values.length, out)).toBe(end);
  // The same values decoded into the middle of a larger array leave its other slots alone.
  const wide = new Int32Array(values.length + 5).fill(-7);
  expect(getVarints(buf, 0, values.length, wide, 3)).toBe(end);
  expect([...wide.subarray(0, 3), ...wide.subarray(3 + values.length)]).toEqual([-7, -7, -7, -7, -7]);
  expect([...wide.subarray(3, 3 + values.length)]).toEqual([...out]);
  return [...out];
};

describe('postings varints', () => {
  it('reads back values at each byte-length boundary', () => {
    const edges = [0, 1, 127, 128, 255, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 2_147_483_647];
    expect(roundTrip(edges)).toEqual(edges);
  });

  it('reads back random doc deltas and term frequencies', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })), { maxLength: 200 }), (values) => {
        expect(roundTrip(values)).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });
});
