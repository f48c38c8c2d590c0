// "Did you mean …?" for misspelt configuration keys: the closest known key by edit distance.

/** Levenshtein distance (insert, delete, substitute; each costs 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known key closest to `key`, when close enough to be a plausible typo: at most a third of
 * the key's length (min 2) edits away — `retreival` → `retrieval`, `top_kk` → `top_k` — and not
 * for unrelated words.
 */
export function closestKey(key: string, known: Iterable<string>): string | null {
  const k = key.toLowerCase();
  const limit = Math.max(2, Math.floor(k.length / 3));
  let best: string | null = null;
  let bestD = Infinity;
  for (const cand of known) {
    const d = editDistance(k, cand.toLowerCase());
    if (d < bestD || (d === bestD && best !== null && cand < best)) {
      best = cand;
      bestD = d;
    }
  }
  return best !== null && bestD <= limit ? best : null;
}
