import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { generateDemoCore } from '../../src/core/demo.ts';
import type { ChatModel, CompletionResult, GenerateParams } from '../../src/llm/chat-model.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { estimateTokenCounter } from '../../src/text/tokens.ts';
import { augmentTrain, normalizeQuestion, type AugmentOptions } from './augment.ts';
import { prepareDataset, type Sample } from './index.ts';

// A scripted chat upstream: "paraphrases" by prefixing, "translates" by tagging the language, so
// every variant is predictable and the rejection rules can be provoked on purpose.
class ScriptedWriter implements ChatModel {
  readonly description = 'scripted';
  calls: string[] = [];
  constructor(private readonly reply: (prompt: string) => string) {}
  async complete(p: GenerateParams): Promise<CompletionResult> {
    const prompt = p.messages[0].content;
    this.calls.push(prompt);
    return { content: this.reply(prompt), reasoning: '', finishReason: 'stop', usage: null, model: 'writer', fallback: false };
  }
  stream(): never {
    throw new Error('not used');
  }
}
const questionOf = (prompt: string) => prompt.split('\n\n').at(-1)!;
const normalWriter = () =>
  new ScriptedWriter((prompt) => {
    const q = questionOf(prompt);
    if (prompt.startsWith('Rewrite')) return `Question: "Tell me: ${q}"`;
    if (prompt.includes('into Chinese')) return q.startsWith('[en→zh] ') ? q : `[en→zh] ${q}`;
    if (prompt.includes('into English')) return q.startsWith('[en→zh] ') ? `Please answer — ${q.slice(8)}` : `[zh→en] ${q}`;
    return q;
  });

let tmp: string;
let db: DB;
const config = loadConfig({ env: {} });
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-aug-'));
  db = openStore(':memory:');
  generateDemoCore(db, config.core, path.join(tmp, 'core'));
});
afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const opts = (chat: ChatModel, over: Partial<AugmentOptions> = {}): AugmentOptions => ({ chat, model: 'writer', paraphrases: 1, backTranslation: true, maxRatio: 0.5, cacheFile: path.join(tmp, `cache-${Math.random()}.json`), concurrency: 2, ...over });
const sample = (id: string, q: string, name = 'Acme', lang: 'en' | 'zh' = 'en'): Sample => ({
  id, kind: 'single_fact', subkind: null, lang, fact_id: id, entity: { type: 'company', key: id, name }, template: 't', heldout: false, facts: [], answer_values: ['x'],
  messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: q }, { role: 'assistant', content: 'x' }], split: 'train',
});

describe('question augmentation', () => {
  it('adds paraphrases and back-translations of train questions, answer and system prompt unchanged', async () => {
    const train = [sample('a', 'Where is Acme based?'), sample('b', 'When was Acme founded?')];
    const { samples, stats } = await augmentTrain(train, [], opts(normalWriter(), { maxRatio: 2 }));
    expect(samples.map((s) => [s.augmented, s.messages[1].content])).toEqual([
      ['paraphrase', 'Tell me: Where is Acme based?'],
      ['back_translation', 'Please answer — Where is Acme based?'],
      ['paraphrase', 'Tell me: When was Acme founded?'],
      ['back_translation', 'Please answer — When was Acme founded?'],
    ]);
    for (const s of samples) {
      expect(s.messages[0]).toEqual({ role: 'system', content: 'sys' });
      expect(s.messages[2]).toEqual({ role: 'assistant', content: 'x' });
      expect(s.split).toBe('train');
    }
    expect(stats).toMatchObject({ originals: 2, requested: 4, accepted: { paraphrase: 2, back_translation: 2 }, upstream_calls: 6 });
  });

  it('never yields a test question, a duplicate, or a variant without the entity; caps by ratio', async () => {
    const train = [sample('a', 'Where is Acme based?'), sample('b', 'Tell me: Where is Acme based?'), sample('c', 'Who runs Acme?'), sample('d', 'What does Acme make?')];
    const test = [sample('t', 'tell me — who runs acme')];
    const writer = new ScriptedWriter((prompt) => {
      const q = questionOf(prompt);
      if (q.startsWith('What does')) return 'What does the company make?'; // lost the name
      return prompt.startsWith('Rewrite') ? `Tell me: ${q}` : q;
    });
    const { samples, stats } = await augmentTrain(train, test, opts(writer, { backTranslation: false, maxRatio: 1 }));
    expect(stats.rejected).toMatchObject({ duplicate: 1, test_question: 1, lost_entity: 1 });
    expect(samples.map((s) => s.messages[1].content)).toEqual(['Tell me: Tell me: Where is Acme based?']);
    const capped = await augmentTrain(train, [], opts(normalWriter(), { maxRatio: 0.25 }));
    expect(capped.samples).toHaveLength(1);
    expect(capped.stats.cap).toBe(1);
  });

  it('caches upstream answers by input hash: a second run makes no call and gives the same samples', async () => {
    const cacheFile = path.join(tmp, 'cache.json');
    const train = [sample('a', 'Where is Acme based?')];
    const first = await augmentTrain(train, [], opts(normalWriter(), { cacheFile, maxRatio: 2 }));
    const again = normalWriter();
    const second = await augmentTrain(train, [], opts(again, { cacheFile, maxRatio: 2 }));
    expect(again.calls).toEqual([]);
    expect(second.stats).toMatchObject({ upstream_calls: 0, cache_hits: 3 });
    expect(second.samples).toEqual(first.samples);
  });

  it('counts a failing upstream and keeps going', async () => {
    const writer = new ScriptedWriter(() => {
      throw new Error('upstream down');
    });
    const { samples, stats } = await augmentTrain([sample('a', 'Where is Acme based?')], [], opts(writer));
    expect(samples).toEqual([]);
    expect(stats.rejected.failed).toBe(2);
    expect(stats.first_error).toBe('upstream down');
  });

  it('normalises case, width and punctuation for duplicate checks', () => {
    expect(normalizeQuestion('Who runs ACME？')).toBe(normalizeQuestion('who runs acme?'));
    expect(normalizeQuestion('华为 总部在哪里？')).toBe('华为总部在哪里');
  });

  it('prepare: only train grows, test and val are identical to a build without augmentation, the report says what happened', async () => {
    const base = await prepareDataset({ db, core: config.core, finetune: config.finetune, outDir: path.join(tmp, 'plain'), tokenCounter: estimateTokenCounter });
    const aug = await prepareDataset({ db, core: config.core, finetune: config.finetune, outDir: path.join(tmp, 'aug'), tokenCounter: estimateTokenCounter, augment: opts(normalWriter(), { maxRatio: 0.1 }) });
    expect(aug.samples.test).toBe(base.samples.test);
    expect(aug.samples.val).toBe(base.samples.val);
    for (const split of ['test', 'val']) expect(fs.readFileSync(path.join(tmp, 'aug', `${split}.jsonl`), 'utf8')).toBe(fs.readFileSync(path.join(tmp, 'plain', `${split}.jsonl`), 'utf8'));
    const added = aug.samples.train - base.samples.train;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(Math.floor(0.1 * base.samples.train));
    expect(aug.report.augmentation).toMatchObject({ cap: Math.floor(0.1 * base.samples.train) });
    expect(aug.report.augmentation!.accepted.paraphrase + aug.report.augmentation!.accepted.back_translation).toBe(added);
    expect(base.report.augmentation).toBeNull();
    expect(fs.readFileSync(path.join(tmp, 'aug', 'report.md'), 'utf8')).toMatch(/## Augmentation\nTrain questions rewritten by the chat upstream/);
  }, 120_000);
});
