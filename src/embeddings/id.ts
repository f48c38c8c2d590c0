import { createHash } from 'node:crypto';
import type { Config } from '../config/index.ts';

/**
 * A short tag of the settings that change a passage's vector (prefix, pooling, normalisation,
 * truncation). It is part of the embedder id, so changing any of them misses the embedding
 * cache and builds a new index version instead of mixing incompatible vectors.
 */
export function passageSettingsTag(s: Config['embedding']): string {
  const key = JSON.stringify([s.passage_prefix, s.pooling, s.normalize, s.max_tokens]);
  return createHash('sha256').update(key).digest('hex').slice(0, 6);
}
