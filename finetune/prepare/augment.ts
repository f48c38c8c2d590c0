import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChatModel } from '../../src/llm/chat-model.ts';
import type { Sample } from './types.ts';

// Augmentation of the training questions (seeds 001/003): paraphrases and zh↔en back-translations
// (question → other language → back) written by the configured chat upstream. Only train samples
// are augmented and only their question changes, so the answer stays grounded. A candidate is
// dropped when it repeats a question already in train, equals a test question (the held-out
// phrasings and test records must stay unseen), or lost the entity's name. Every upstream answer
// is cached by the hash of its input, so re-running prepare costs nothing and gives the same set.

export interface AugmentOptions {
  chat: ChatModel;
  /** Name of the model behind `chat` (part of the cache key). */
  model: string;
  paraphrases: number;
  backTranslation: boolean;
  /** New samples at most this share of the train originals. */
  maxRatio: number;
  cacheFile: string;
  concurrency: number;
}

export interface AugmentStats {
  originals: number;
  cap: number;
  requested: number;
  upstream_calls: number;
  cache_hits: number;
  accepted: { paraphrase: number; back_translation: number };
  rejected: { duplicate: number; test_question: number; lost_entity: number; empty: number; failed: number };
  first_error: string | null;
}

const LANG_NAME = { en: 'English', zh: 'Chinese' } as const;
const OTHER = { en: 'zh', zh: 'en' } as const;

const paraphrasePrompt = (lang: 'en' | 'zh', text: string, n: number) =>
  `Rewrite this ${LANG_NAME[lang]} question with different wording (variant ${n}). Keep it in ${LANG_NAME[lang]}, keep every name, number and date exactly, keep the meaning. Reply with the rewritten question only.\n\n${text}`;
const translatePrompt = (to: 'en' | 'zh', text: string) =>
  `Translate this question into ${LANG_NAME[to]}. Keep every name, number and date exactly. Reply with the translation only.\n\n${text}`;

/** Case, width and punctuation-insensitive form for duplicate checks. */
export function normalizeQuestion(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

function lastUser(s: Sample): string {
  return [...s.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

/** First line, without quotes or a "Question:" label the model may add. */
function clean(reply: string): string {
  const line = reply.trim().split('\n').find((l) => l.trim()) ?? '';
  return line.replace(/^(question|rewritten question|translation|问题)\s*[:：]\s*/i, '').replace(/^["“「'](.*)["”」']$/u, '$1').trim();
}

class Cache {
  private data: Record<string, string> = {};
  hits = 0;
  calls = 0;
  constructor(private readonly file: string) {
    if (fs.existsSync(file)) this.data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  }
  async ask(chat: ChatModel, model: string, prompt: string): Promise<string> {
    const key = createHash('sha256').update(`${model}\n${prompt}`).digest('hex');
    const hit = this.data[key];
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.calls++;
    const r = await chat.complete({ messages: [{ role: 'user', content: prompt }], maxTokens: 256, temperature: 0.7 });
    this.data[key] = r.content;
    return r.content;
  }
  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data));
    fs.renameSync(`${this.file}.tmp`, this.file);
  }
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** New train samples (question variants of train originals) and what happened, for the report. */
export async function augmentTrain(train: Sample[], test: Sample[], opts: AugmentOptions): Promise<{ samples: Sample[]; stats: AugmentStats }> {
  // RAFT prompts carry passages around the question: rewriting them is not a question variant.
  const originals = train.filter((s) => s.kind !== 'raft' && !s.heldout).sort((a, b) => a.id.localeCompare(b.id));
  const cap = Math.floor(opts.maxRatio * train.length);
  const stats: AugmentStats = {
    originals: originals.length,
    cap,
    requested: 0,
    upstream_calls: 0,
    cache_hits: 0,
    accepted: { paraphrase: 0, back_translation: 0 },
    rejected: { duplicate: 0, test_question: 0, lost_entity: 0, empty: 0, failed: 0 },
    first_error: null,
  };
  const cache = new Cache(opts.cacheFile);
  const seen = new Set(train.map((s) => normalizeQuestion(lastUser(s))));
  const forbidden = new Set(test.map((s) => normalizeQuestion(lastUser(s))));
  type Job = { s: Sample; variant: 'paraphrase' | 'back_translation'; n: number };
  const jobs: Job[] = originals.flatMap((s) => [
    ...Array.from({ length: opts.paraphrases }, (_, i) => ({ s, variant: 'paraphrase' as const, n: i + 1 })),
    ...(opts.backTranslation ? [{ s, variant: 'back_translation' as const, n: 1 }] : []),
  ]);
  const candidates = new Map<Job, string>();
  stats.requested = jobs.length;
  await pool(jobs, opts.concurrency, async (job) => {
    const q = lastUser(job.s);
    const lang = job.s.lang as 'en' | 'zh';
    try {
      if (job.variant === 'paraphrase') candidates.set(job, clean(await cache.ask(opts.chat, opts.model, paraphrasePrompt(lang, q, job.n))));
      else {
        const there = clean(await cache.ask(opts.chat, opts.model, translatePrompt(OTHER[lang], q)));
        candidates.set(job, there ? clean(await cache.ask(opts.chat, opts.model, translatePrompt(lang, there))) : '');
      }
    } catch (err) {
      stats.rejected.failed++;
      stats.first_error ??= (err as Error).message;
    }
  });
  cache.save();
  stats.upstream_calls = cache.calls;
  stats.cache_hits = cache.hits;

  // Accepted in job order (deterministic), up to the cap.
  const out: Sample[] = [];
  for (const job of jobs) {
    const text = candidates.get(job);
    if (text === undefined) continue;
    if (out.length >= cap) break;
    const norm = normalizeQuestion(text);
    if (!norm) {
      stats.rejected.empty++;
      continue;
    }
    if (forbidden.has(norm)) {
      stats.rejected.test_question++;
      continue;
    }
    if (seen.has(norm)) {
      stats.rejected.duplicate++;
      continue;
    }
    const name = job.s.entity.name;
    if (name && lastUser(job.s).includes(name) && !text.includes(name)) {
      stats.rejected.lost_entity++;
      continue;
    }
    seen.add(norm);
    stats.accepted[job.variant]++;
    const idx = job.s.messages.map((m) => m.role).lastIndexOf('user');
    out.push({
      ...job.s,
      id: createHash('sha256').update(`${job.s.id}|${job.variant}|${text}`).digest('hex').slice(0, 16),
      template: `${job.s.template}+${job.variant}`,
      augmented: job.variant,
      messages: job.s.messages.map((m, i) => (i === idx ? { ...m, content: text } : m)),
      split: 'train',
    });
  }
  return { samples: out, stats };
}
