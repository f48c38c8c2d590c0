import fs from 'node:fs';
import path from 'node:path';
import type { ChatMessage } from '../../src/llm/chat-model.ts';

// Held-out test samples for `kb finetune eval`, read from the output of `kb finetune prepare`.
// Keys relied on (everything else is ignored):
//   messages                          required: the conversation; its LAST assistant message is
//                                     the reference answer, everything before it is the prompt
//   kind | meta.kind                  "refusal" marks a no-record sample; "raft" a sample whose
//                                     prompt already carries passages (no extra retrieval)
//   lang | meta.lang                  reported per sample
//   answer_values | meta.answer_values | meta.expected
//                                     extra acceptable reference strings (best one counts)
//   refusal | meta.refusal            true also marks a no-record sample
//   id                                sample id (else file:line)

export interface EvalSample {
  id: string;
  kind: string | null;
  lang: string | null;
  refusal: boolean;
  /** Prompt as trained: the messages before the reference answer. */
  prompt: ChatMessage[];
  /** The last user message (the retrieval query). */
  question: string;
  /** Acceptable answers: the reference assistant message first. */
  references: string[];
  /** The prompt already holds retrieved passages (RAFT samples). */
  grounded: boolean;
  /** Asked with a held-out phrasing (never seen in train): generalisation, not recall of wording. */
  heldout: boolean;
}

export interface Rejected {
  locator: string;
  reason: string;
}

/**
 * The test file of a prepare output folder. Rich sample records (with kind) are preferred over
 * bare chat exports, because refusal samples can only be told apart by their metadata.
 */
export function findSplitFile(datasetDir: string, split: 'train' | 'val' | 'test', prefer: 'records' | 'chat'): string {
  const records = [path.join(datasetDir, 'samples', `${split}.jsonl`)];
  const chat = [path.join(datasetDir, `${split}.jsonl`), path.join(datasetDir, 'openai', `${split}.jsonl`)];
  const order = prefer === 'records' ? [...records, ...chat] : [...chat, ...records];
  const found = order.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`no ${split} split in ${datasetDir} (looked for ${order.map((f) => path.relative(datasetDir, f)).join(', ')}); run \`kb finetune prepare\``);
  return found;
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** Parses the test file; bad lines are returned with their reason, never silently dropped. */
export function readEvalSamples(file: string): { samples: EvalSample[]; rejected: Rejected[] } {
  const samples: EvalSample[] = [];
  const rejected: Rejected[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const locator = `${path.basename(file)}:${i + 1}`;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      rejected.push({ locator, reason: 'invalid JSON' });
      return;
    }
    const messages = rec.messages;
    if (!Array.isArray(messages) || !messages.every((m) => m && ROLES.has(m.role) && typeof m.content === 'string')) {
      rejected.push({ locator, reason: 'messages must be an array of {role: system|user|assistant, content: string}' });
      return;
    }
    const lastAssistant = messages.map((m) => m.role).lastIndexOf('assistant');
    const prompt = (lastAssistant >= 0 ? messages.slice(0, lastAssistant) : []) as ChatMessage[];
    const question = [...prompt].reverse().find((m) => m.role === 'user')?.content;
    if (lastAssistant < 0 || !question) {
      rejected.push({ locator, reason: 'needs a user question followed by a reference assistant answer' });
      return;
    }
    const meta = (typeof rec.meta === 'object' && rec.meta !== null ? rec.meta : {}) as Record<string, unknown>;
    const kind = typeof rec.kind === 'string' ? rec.kind : typeof meta.kind === 'string' ? meta.kind : null;
    const lang = typeof rec.lang === 'string' ? rec.lang : typeof meta.lang === 'string' ? meta.lang : null;
    const extra = [rec.answer_values, meta.answer_values, meta.expected].flatMap((v) => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : [])).filter((v): v is string => typeof v === 'string' && v.trim() !== '');
    samples.push({
      id: typeof rec.id === 'string' ? rec.id : locator,
      kind,
      lang,
      refusal: kind === 'refusal' || rec.refusal === true || meta.refusal === true,
      prompt,
      question,
      references: [messages[lastAssistant].content as string, ...extra],
      grounded: kind === 'raft',
      heldout: rec.heldout === true || meta.heldout === true,
    });
  });
  return { samples, rejected };
}
