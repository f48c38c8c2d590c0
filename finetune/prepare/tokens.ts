import fs from 'node:fs';
import path from 'node:path';
import { estimateTokenCounter, tokenizerCounter, type TokenCounter } from '../../src/text/tokens.ts';
import type { Sample } from './types.ts';

// Token counts for length filters and the report: the base model's own tokenizer when its
// tokenizer.json is under <data_dir>/models/<id> (never downloaded), else the documented
// estimate of src/text/tokens.ts — the report states which one was used.

/** Chat-template tokens around each message (role header + end marker), added per message. */
export const PER_MESSAGE_OVERHEAD = 4;

export async function loadTokenCounter(modelsDir: string, tokenizerId: string): Promise<{ counter: TokenCounter; note: string | null }> {
  if (!tokenizerId) return { counter: estimateTokenCounter, note: 'no finetune.tokenizer configured: token counts are estimates' };
  const dir = path.join(modelsDir, tokenizerId);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json')))
    return { counter: estimateTokenCounter, note: `tokenizer ${tokenizerId} not found under ${modelsDir}: token counts are estimates (src/text/tokens.ts)` };
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  const saved = { localModelPath: env.localModelPath, allowRemoteModels: env.allowRemoteModels, allowLocalModels: env.allowLocalModels };
  try {
    Object.assign(env, { localModelPath: `${modelsDir}${path.sep}`, allowRemoteModels: false, allowLocalModels: true });
    const tok = await AutoTokenizer.from_pretrained(tokenizerId);
    return { counter: tokenizerCounter(tokenizerId, (t) => tok.encode(t, { add_special_tokens: false }).length), note: null };
  } catch (err) {
    return { counter: estimateTokenCounter, note: `tokenizer ${tokenizerId} failed to load (${(err as Error).message}): token counts are estimates` };
  } finally {
    Object.assign(env, saved);
  }
}

export function sampleTokens(s: Sample, counter: TokenCounter): number {
  return s.messages.reduce((n, m) => n + counter.count(m.content) + PER_MESSAGE_OVERHEAD, 0);
}
