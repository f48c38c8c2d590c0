import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeChunkTerms } from '../../src/bm25/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { FinetuneConfig } from '../../src/config/sections/finetune.ts';
import { generateDemoCore } from '../../src/core/demo.ts';
import { importCoreFile } from '../../src/core/import.ts';
import { loadEntities } from '../../src/core/store.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { analyzeForFts } from '../../src/text/analyzer.ts';
import { estimateTokenCounter } from '../../src/text/tokens.ts';
import { buildContext } from './context.ts';
import { normalise } from './dedupe.ts';
import { groundingErrors } from './grounding.ts';
import { prepareDataset, type Sample } from './index.ts';

const config = loadConfig({ env: {} });
let tmp: string;
let db: DB;
let docSeq = 0;

function addDoc(text: string, acl: string[] = []): number {
  docSeq++;
  db.prepare(`INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES ('t', 'jsonl', 'x', 'full')`).run();
  const docId = Number(
    db
      .prepare(
        `INSERT INTO documents (source, external_id, kind, title, body, acl_groups, content_hash, text_hash, first_seen, last_seen)
         VALUES ('t', ?, 'news', ?, ?, ?, ?, ?, 'now', 'now')`,
      )
      .run(`d${docSeq}`, `Doc ${docSeq}`, text, JSON.stringify(acl), `h${docSeq}`, `t${docSeq}`).lastInsertRowid,
  );
  const chunkId = Number(
    db
      .prepare(`INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, 0, ?, ?, ?, 0, ?, 10)`)
      .run(docId, text, text, `e${docSeq}`, text.length).lastInsertRowid,
  );
  writeChunkTerms(db, chunkId, analyzeForFts(text));
  return chunkId;
}

const ft = (over: Partial<FinetuneConfig> = {}): FinetuneConfig => ({ ...config.finetune, ...over });
const build = (out: string, f: FinetuneConfig = ft(), seed?: number) =>
  prepareDataset({ db, core: config.core, finetune: f, outDir: path.join(tmp, out), seed, tokenCounter: estimateTokenCounter });
const readJsonl = (file: string) =>
  fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const samplesOf = (out: string): Sample[] => ['train', 'val', 'test'].flatMap((s) => readJsonl(path.join(tmp, out, 'samples', `${s}.jsonl`)) as unknown as Sample[]);
const allText = (out: string) =>
  ['.', 'sharegpt', 'samples'].flatMap((d) => fs.readdirSync(path.join(tmp, out, d)).filter((f) => /\.jsonl?$/.test(f)).map((f) => fs.readFileSync(path.join(tmp, out, d, f), 'utf8'))).join('\n');

let piiChunk: number;
let restrictedChunk: number;
let summary: Awaited<ReturnType<typeof prepareDataset>>;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-ft-'));
  db = openStore(':memory:');
  generateDemoCore(db, config.core, path.join(tmp, 'core'));
  // A company that lacks its founding year: a missing-field refusal must come out of it.
  const f = path.join(tmp, 'extra.jsonl');
  fs.writeFileSync(f, JSON.stringify({ id: 'co-900', name_en: 'Nofound Labs', name_zh: '无年实验室', city_en: 'Ningbo', city_zh: '宁波' }) + '\n');
  importCoreFile(db, config.core, { file: f, type: 'company' });
  addDoc('HuaKe Intelligence is headquartered in Shenzhen, where it builds collaborative robots.');
  addDoc('华科智能总部位于深圳，主要生产协作机器人。');
  const ceo = loadEntities(db, config.core).get('person')!.find((p) => p.key === 'p-001')!;
  piiChunk = addDoc(`Contact HuaKe Intelligence via ${ceo.data.email}. HuaKe Intelligence is headquartered in Shenzhen.`);
  restrictedChunk = addDoc('Beichen Battery is headquartered in Hefei, according to an internal memo.', ['finance']);
  for (let i = 0; i < 8; i++) addDoc(`Steel prices rose ${i + 2}% in March as construction demand recovered in the north.`);
  summary = await build('a', ft({ raft: { ...config.finetune.raft, oracle_drop_ratio: 0 } }));
});
afterAll(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('prepareDataset', () => {
  it('reports the documented summary shape and every task kind', () => {
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['out_dir', 'samples', 'by_kind', 'tokens', 'warnings']));
    expect(Object.keys(summary.samples)).toEqual(['train', 'val', 'test']);
    expect(Object.keys(summary.by_kind).sort()).toEqual(['composite', 'raft', 'refusal', 'relation', 'single_fact']);
    expect(summary.samples.train).toBeGreaterThan(summary.samples.test);
    expect(summary.report.filtered.ungrounded).toBe(0);
    expect(summary.warnings.join('\n')).toMatch(/BM25 index directly/);
  });

  it('grounds every answer: each fact matches its source record and is shown in the answer', () => {
    const byKey = new Map([...loadEntities(db, config.core)].map(([t, l]) => [t, new Map(l.map((r) => [r.key, r]))]));
    const samples = samplesOf('a');
    let checked = 0;
    for (const s of samples) {
      const answer = s.messages.find((m) => m.role === 'assistant')!.content;
      for (const f of s.facts) {
        if (f.kind === 'value') {
          expect(byKey.get(f.type)!.get(f.key)!.data[f.field]).toEqual(f.value);
          for (const v of Array.isArray(f.value) ? f.value : [String(f.value)]) expect(answer).toContain(v);
          checked++;
        } else if (f.kind === 'relation') {
          const held = byKey.get(f.type)!.get(f.key)!.data[f.field];
          for (const t of f.targets) expect(Array.isArray(held) ? held : [held]).toContain(t);
          checked++;
        } else if (f.kind === 'absent' && f.key === null) {
          const names = [...byKey.get(f.type)!.values()].flatMap((r) => [r.data.name_en, r.data.name_zh, r.data.title_en, r.data.title_zh]);
          expect(names).not.toContain(f.name);
        }
      }
      if (s.kind !== 'refusal') expect(s.facts.length).toBeGreaterThan(0);
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('the grounding check rejects an answer that states a wrong value', () => {
    const s = samplesOf('a').find((x) => x.kind === 'single_fact' && x.lang === 'en')!;
    const entities = loadEntities(db, config.core);
    const ctx = buildContext(config.core, config.finetune, entities, 1);
    const idx = { core: config.core, byKey: ctx.byKey, namesByType: ctx.namesByType };
    expect(groundingErrors(idx, s)).toEqual([]);
    const v = s.answer_values[0];
    const tampered = { ...s, messages: s.messages.map((m) => (m.role === 'assistant' ? { ...m, content: m.content.replace(v, 'Atlantis') } : m)) };
    expect(groundingErrors(idx, tampered).join(' ')).toMatch(/does not (show|contain)/);
    const wrongFact = { ...s, facts: [{ ...s.facts[0], value: 'Atlantis' } as Sample['facts'][number]] };
    expect(groundingErrors(idx, wrongFact).join(' ')).toMatch(/not "Atlantis"|not \\"Atlantis\\"/);
  });

  it('keeps PII out of every output file by default, and lets one field in when opted in', async () => {
    const people = loadEntities(db, config.core).get('person')!;
    const emails = people.map((p) => String(p.data.email));
    const phones = people.map((p) => String(p.data.phone));
    const text = allText('a');
    for (const v of [...emails, ...phones]) expect(text).not.toContain(v);
    expect(samplesOf('a').some((s) => s.citation?.chunk_id === piiChunk || s.distractors?.includes(piiChunk))).toBe(false);

    await build('optin', ft({ pii_opt_in: ['person.email'] }));
    const opted = allText('optin');
    expect(emails.some((e) => opted.includes(e))).toBe(true);
    for (const v of phones) expect(opted).not.toContain(v);
  });

  it('never trains on restricted (ACL) documents', () => {
    expect(samplesOf('a').some((s) => s.citation?.chunk_id === restrictedChunk || s.distractors?.includes(restrictedChunk))).toBe(false);
  });

  it('uses held-out phrasings only in test, and test questions never appear in train', () => {
    const samples = samplesOf('a');
    const test = samples.filter((s) => s.split === 'test');
    const trainVal = samples.filter((s) => s.split !== 'test');
    expect(test.length).toBeGreaterThan(0);
    expect(test.every((s) => s.heldout)).toBe(true);
    expect(trainVal.some((s) => s.heldout)).toBe(false);
    // Held-out template texts (from config) never appear as a train question's template.
    const heldTemplates = new Set(test.map((s) => s.template));
    expect(trainVal.some((s) => heldTemplates.has(s.template))).toBe(false);
    const trainQ = new Set(trainVal.map((s) => normalise(s.messages.find((m) => m.role === 'user')!.content)));
    for (const s of test) expect(trainQ.has(normalise(s.messages.find((m) => m.role === 'user')!.content))).toBe(false);
    // Test probes learned facts: every test fact has training samples.
    const trainFacts = new Set(samples.filter((s) => s.split === 'train').map((s) => s.fact_id));
    expect(test.every((s) => trainFacts.has(s.fact_id))).toBe(true);
  });

  it('is deterministic for a seed and changes with it', async () => {
    await build('b', ft({ raft: { ...config.finetune.raft, oracle_drop_ratio: 0 } }));
    for (const f of ['train.jsonl', 'test.jsonl', 'sharegpt/val.json', 'samples/train.jsonl'])
      expect(fs.readFileSync(path.join(tmp, 'b', f), 'utf8')).toBe(fs.readFileSync(path.join(tmp, 'a', f), 'utf8'));
    await build('c', ft({ raft: { ...config.finetune.raft, oracle_drop_ratio: 0 } }), 7);
    expect(fs.readFileSync(path.join(tmp, 'c', 'test.jsonl'), 'utf8')).not.toBe(fs.readFileSync(path.join(tmp, 'a', 'test.jsonl'), 'utf8'));
  });

  it('writes refusals for invented names, missing fields and attributes the records never hold', () => {
    const refusals = samplesOf('a').filter((s) => s.kind === 'refusal');
    expect(new Set(refusals.map((s) => s.subkind))).toEqual(new Set(['unknown_entity', 'missing_field', 'absent_attribute']));
    const missing = refusals.find((s) => s.subkind === 'missing_field' && s.entity.key === 'co-900' && s.lang === 'en');
    expect(missing?.messages.at(-1)!.content).toMatch(/do not include/);
  });

  it('builds RAFT samples that cite the oracle passage holding the answer, with distractors not about the entity', () => {
    const raft = samplesOf('a').filter((s) => s.kind === 'raft');
    expect(raft.length).toBeGreaterThan(0);
    for (const s of raft) {
      const prompt = s.messages.find((m) => m.role === 'user')!.content;
      const user = prompt.slice(0, prompt.lastIndexOf('\n\n')); // the passages, without the question
      const answer = s.messages.at(-1)!.content;
      expect(s.citation).toBeDefined();
      const passage = user.split(/\n\n(?=\[\d+\] )/).find((p) => p.startsWith(`[${s.citation!.passage}] `))!;
      expect(passage).toContain(s.citation!.quote);
      for (const v of s.answer_values) expect(s.citation!.quote).toContain(v);
      expect(answer).toContain(`[${s.citation!.passage}]`);
      const others = user.split(/\n\n(?=\[\d+\] )/).filter((p) => /^\[\d+\] /.test(p) && !p.startsWith(`[${s.citation!.passage}] `));
      expect(others.length).toBe(config.finetune.raft.passages - 1);
      for (const p of others) expect(p).not.toContain(s.entity.name);
    }
  });

  it('writes OpenAI and LLaMA-Factory exports that parse and carry the expected keys', () => {
    for (const split of ['train', 'val', 'test']) {
      for (const row of readJsonl(path.join(tmp, 'a', `${split}.jsonl`))) {
        expect(Object.keys(row)).toEqual(['messages']);
        const roles = (row.messages as { role: string; content: string }[]).map((m) => m.role);
        expect(roles.slice(-2)).toEqual(['user', 'assistant']);
      }
      const share = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'sharegpt', `${split}.json`), 'utf8')) as { conversations: { from: string; value: string }[]; system?: string }[];
      expect(share.length).toBe(summary.samples[split as 'train']);
      for (const r of share) expect(r.conversations.map((c) => c.from)).toEqual(['human', 'gpt']);
    }
    const info = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'sharegpt', 'dataset_info.json'), 'utf8')) as Record<string, { file_name: string; formatting: string; columns: Record<string, string>; tags: Record<string, string> }>;
    expect(Object.keys(info)).toEqual(['kb_core_train', 'kb_core_val', 'kb_core_test']);
    for (const d of Object.values(info)) {
      expect(fs.existsSync(path.join(tmp, 'a', 'sharegpt', d.file_name))).toBe(true);
      expect(d).toMatchObject({ formatting: 'sharegpt', columns: { messages: 'conversations', system: 'system' }, tags: { user_tag: 'human', assistant_tag: 'gpt' } });
    }
  });

  it('writes a quality report with counts, token lengths, coverage and warnings', () => {
    const report = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'report.json'), 'utf8'));
    expect(report.by_lang).toEqual({ zh: expect.any(Number), en: expect.any(Number) });
    expect(report.tokens.counter).toBe('estimate');
    expect(report.tokens.train.p95).toBeGreaterThan(0);
    expect(report.coverage.entity_share).toBeGreaterThan(0.9);
    expect(report.coverage.fields.person.not_asked_by_config).toEqual(expect.arrayContaining(['email', 'phone']));
    expect(fs.readFileSync(path.join(tmp, 'a', 'report.md'), 'utf8')).toMatch(/## Coverage/);
  });

  it('warns on a type below the minimum sample count and on a skewed language mix', async () => {
    const s = await build('warn', ft({ languages: ['en'], min_samples_per_type: 100000, max_language_share: 0.7 }));
    expect(s.warnings.join('\n')).toMatch(/type company has \d+ samples/);
    expect(s.warnings.join('\n')).toMatch(/language mix is skewed: en/);
  });

  it('refuses to build without core records', async () => {
    const empty = openStore(':memory:');
    await expect(prepareDataset({ db: empty, core: config.core, finetune: config.finetune, outDir: path.join(tmp, 'none'), tokenCounter: estimateTokenCounter })).rejects.toThrow(/no core records/);
    empty.close();
  });
});
