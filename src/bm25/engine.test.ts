import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { DocMaskSpec } from '../retrieval/catalog.ts';
import { Bm25Builder, type BuildRow } from './builder.ts';
import { compileDocFilter } from './filter.ts';
import { FTS5_BM25, type Bm25Params } from './scoring.ts';
import { Bm25Segment, segmentMemoryBytes } from './segment.ts';

// The engine's top-k must equal a brute-force BM25 written out plainly here, on random corpora
// (Chinese, English, mixed; Zipf-skewed term frequencies so common terms span many 128-posting
// blocks and pruning really skips), random deletes, random filters/ACL and random queries.
// Score statistics: the file's documents (N, avgdl, df), deleted documents only masked — the
// definition documented in src/bm25/leg.ts.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bm25-prop-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ZH = ['人工智能', '芯片', '出口', '半导体', '市场', '公司', '电池', '上海', '发布', '增长', '用户', '产品', '价格', '政策', '技术'];
const EN = ['market', 'compani', 'batteri', 'huake', 'revenu', 'solar', 'panel', 'chip', 'export', 'growth', 'user', 'price', 'polici', 'launch', '2024'];
const VOCABS = { zh: ZH, en: EN, mixed: [...ZH, ...EN] };

interface Doc {
  chunkId: number;
  terms: string[];
  row: number;
}
interface Row {
  kind: 'news' | 'comment' | 'post';
  publishedMs: number | null;
  source: string;
  tags: string[];
  acl: string[];
}

/** Plain BM25 as FTS5 defines it, over the given docs (stats) and the live+allowed ones (results). */
function bruteForce(all: Doc[], live: (d: Doc) => boolean, query: string[], k: number, { k1, b }: Bm25Params = FTS5_BM25): { chunkId: number; score: number }[] {
  const N = all.length;
  const avgdl = all.reduce((s, d) => s + d.terms.length, 0) / N;
  const terms = [...new Set(query)];
  const df = new Map(terms.map((t) => [t, all.filter((d) => d.terms.includes(t)).length]));
  const scored: { chunkId: number; score: number }[] = [];
  for (const d of all) {
    if (!live(d)) continue;
    let score = 0;
    let matched = false;
    for (const t of terms) {
      const tf = d.terms.filter((x) => x === t).length;
      if (tf === 0) continue;
      matched = true;
      let idf = Math.log((N - df.get(t)! + 0.5) / (df.get(t)! + 0.5));
      if (idf <= 0) idf = 1e-6;
      score += idf * ((tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * d.terms.length) / avgdl)));
    }
    if (matched) scored.push({ chunkId: d.chunkId, score });
  }
  scored.sort((x, y) => y.score - x.score || x.chunkId - y.chunkId);
  return scored.slice(0, k);
}

function allowedBySpec(row: Row, spec: DocMaskSpec): boolean {
  if (spec.kinds && !spec.kinds.includes(row.kind)) return false;
  if (spec.fromMs !== undefined && (row.publishedMs === null || row.publishedMs < spec.fromMs)) return false;
  if (spec.toMs !== undefined && (row.publishedMs === null || row.publishedMs > spec.toMs)) return false;
  if (spec.sources && !spec.sources.includes(row.source)) return false;
  if (spec.tags && !row.tags.some((t) => spec.tags!.includes(t))) return false;
  if (spec.groups && row.acl.length > 0 && !row.acl.some((g) => spec.groups!.includes(g))) return false;
  return true;
}

let fileNo = 0;
function build(docs: Doc[], rows: Row[], params?: Bm25Params): Bm25Segment {
  const builder = new Bm25Builder(params);
  for (const d of docs) {
    const r = rows[d.row];
    const input: BuildRow = {
      chunkId: d.chunkId,
      terms: d.terms.join(' '),
      docId: d.row + 1,
      kind: r.kind,
      publishedAt: r.publishedMs === null ? null : new Date(r.publishedMs).toISOString(),
      source: r.source,
      tags: JSON.stringify(r.tags),
      aclGroups: JSON.stringify(r.acl),
    };
    builder.add(input);
  }
  const file = path.join(tmp, `p${fileNo++}.bm25`);
  const fd = fs.openSync(file, 'w');
  builder.writeTo(fd);
  fs.closeSync(fd);
  const buf = fs.readFileSync(file);
  fs.rmSync(file);
  lastFile = buf;
  return new Bm25Segment(buf, file);
}
/** The bytes of the file build() wrote last (for damage tests). */
let lastFile: Buffer = Buffer.alloc(0);

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

const rowArb: fc.Arbitrary<Row> = fc.record({
  kind: fc.constantFrom('news' as const, 'comment' as const, 'post' as const),
  publishedMs: fc.option(fc.integer({ min: 0, max: 365 }).map((d) => T0 + d * DAY), { freq: 6 }),
  source: fc.constantFrom('wire', 'forum', 'blog'),
  tags: fc.uniqueArray(fc.constantFrom('t1', 't2', 't3', 't4'), { maxLength: 3 }),
  acl: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom('sales', 'exec', 'hr'), { minLength: 1, maxLength: 2 }) }),
});

const specArb: fc.Arbitrary<DocMaskSpec | null> = fc.option(
  fc
    .record(
      {
        kinds: fc.uniqueArray(fc.constantFrom('news' as const, 'comment' as const, 'post' as const), { minLength: 1 }),
        fromMs: fc.integer({ min: 0, max: 300 }).map((d) => T0 + d * DAY),
        toMs: fc.integer({ min: 60, max: 400 }).map((d) => T0 + d * DAY),
        sources: fc.uniqueArray(fc.constantFrom('wire', 'forum', 'blog', 'nowhere'), { minLength: 1 }),
        tags: fc.uniqueArray(fc.constantFrom('t1', 't2', 't3', 't4', 'tx'), { minLength: 1 }),
        groups: fc.option(fc.uniqueArray(fc.constantFrom('sales', 'exec', 'hr', 'other'), { maxLength: 2 }), { nil: null }),
      },
      { requiredKeys: ['groups'] },
    )
    .map((s) => s as DocMaskSpec),
  { nil: null },
);

/** A corpus: Zipf-skewed draws from one vocabulary, chunk ids with gaps, documents of 1-3 chunks. */
const corpusArb = fc
  .record({
    lang: fc.constantFrom('zh' as const, 'en' as const, 'mixed' as const),
    docs: fc.integer({ min: 1, max: 1500 }),
    maxLen: fc.integer({ min: 1, max: 60 }),
    skew: fc.double({ min: 1, max: 4, noNaN: true }),
    seed: fc.integer(),
    rows: fc.array(rowArb, { minLength: 1, maxLength: 40 }),
  })
  .map(({ lang, docs: count, maxLen, skew, seed, rows }) => {
    let s = seed >>> 0 || 1;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const vocab = VOCABS[lang];
    const docs: Doc[] = [];
    let id = 0;
    for (let i = 0; i < count; i++) {
      id += 1 + Math.floor(rnd() * 3);
      const len = Math.floor(rnd() * (maxLen + 1)); // 0: a chunk without terms still counts in N
      const terms = Array.from({ length: len }, () => vocab[Math.floor(vocab.length * rnd() ** skew)]);
      docs.push({ chunkId: id, terms, row: Math.floor(rnd() * rows.length) });
    }
    return { vocab, docs, rows };
  });

describe('BM25 engine equals brute force', () => {
  it('same top-k, same scores (1e-6), same tie order, on random corpora, deletes, filters and queries', () => {
    fc.assert(
      fc.property(
        corpusArb,
        fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 40 }), specArb, fc.double({ min: 0, max: 0.5, noNaN: true })), {
          minLength: 1,
          maxLength: 6,
        }),
        ({ vocab, docs, rows }, queries) => {
          const seg = build(docs, rows);
          expect(seg.docs).toBe(docs.length);
          for (const [picks, k, spec, deleteShare] of queries) {
            // Query terms: vocabulary words (duplicates possible) plus an absent term now and then.
            const query = picks.map((p) => (p % 11 === 10 ? 'absentterm' : vocab[p % vocab.length]));
            const dead = new Uint8Array(docs.length);
            docs.forEach((_, i) => {
              if ((i * 2654435761) % 1000 < deleteShare * 1000) dead[i] = 1;
            });
            const expected = bruteForce(docs, (d) => !dead[docs.indexOf(d)] && (!spec || allowedBySpec(rows[d.row], spec)), query, k);
            const counters = { postings: 0, scored: 0, candidates: 0 };
            const got = seg.search(query, k, { allowed: compileDocFilter(seg, spec), blocked: dead, counters });
            expect(got.map((h) => h.chunkId)).toEqual(expected.map((h) => h.chunkId));
            got.forEach((h, i) => expect(Math.abs(h.score - expected[i].score)).toBeLessThanOrEqual(1e-6));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('same top-k and scores for any k1 in [0.5, 2] and b in [0, 1] (settable retrieval.bm25.k1 / .b)', () => {
    // Norms and block maxima are computed with the file's k1/b: pruning must stay rank-safe for
    // every value, including b = 0 (no length normalisation) and small k1 (early saturation).
    const paramsArb = fc.record({
      k1: fc.oneof(fc.double({ min: 0.5, max: 2, noNaN: true }), fc.constant(0.5), fc.constant(2)),
      b: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant(0), fc.constant(1)),
    });
    fc.assert(
      fc.property(
        corpusArb,
        paramsArb,
        fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 40 }), specArb), { minLength: 1, maxLength: 4 }),
        ({ vocab, docs, rows }, params, queries) => {
          const seg = build(docs, rows, params);
          expect({ k1: seg.k1, b: seg.b }).toEqual(params);
          for (const [picks, k, spec] of queries) {
            const query = picks.map((p) => (p % 11 === 10 ? 'absentterm' : vocab[p % vocab.length]));
            const expected = bruteForce(docs, (d) => !spec || allowedBySpec(rows[d.row], spec), query, k, params);
            const got = seg.search(query, k, { allowed: compileDocFilter(seg, spec) });
            expect(got.map((h) => h.chunkId)).toEqual(expected.map((h) => h.chunkId));
            got.forEach((h, i) => expect(Math.abs(h.score - expected[i].score)).toBeLessThanOrEqual(1e-6));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('different k1/b give different scores and can reorder (the parameters really apply)', () => {
    // d1: the term twice in a long chunk; d2: once in a short one. High b favours the short
    // chunk (length normalisation), b = 0 with a large k1 favours the higher tf.
    const docs: Doc[] = [
      { chunkId: 1, terms: ['chip', 'chip', ...Array(30).fill('filler')], row: 0 },
      { chunkId: 2, terms: ['chip', 'filler'], row: 0 },
      ...Array.from({ length: 20 }, (_, i) => ({ chunkId: 3 + i, terms: ['filler', 'other'], row: 0 })),
    ];
    const rows: Row[] = [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }];
    const top = (p: Bm25Params) => build(docs, rows, p).search(['chip'], 2).map((h) => h.chunkId);
    expect(top({ k1: 1.2, b: 0.75 })).toEqual([2, 1]);
    expect(top({ k1: 2, b: 0 })).toEqual([1, 2]);
    expect(build(docs, rows, { k1: 2, b: 0 }).search(['chip'], 1)[0].score).not.toBeCloseTo(build(docs, rows).search(['chip'], 1)[0].score, 6);
  });

  it('refuses k1/b outside their range when building (the file would hold NaN bounds)', () => {
    for (const p of [{ k1: -0.1, b: 0.75 }, { k1: 1.2, b: 1.5 }, { k1: Number.NaN, b: 0.5 }, { k1: 1.2, b: -0.01 }, { k1: Infinity, b: 0.5 }]) {
      expect(() => new Bm25Builder(p)).toThrow(/BM25 parameters out of range/);
    }
  });

  it('prunes: a selective query over a skewed corpus decodes a fraction of the postings', () => {
    // 20k docs: "common" in half of them, "rare" in 1% — half of those with a high tf. Once those fill the top 10, the common list is non-essential and is skipped
    // block by block; rare chunks that cannot beat the 10th score are dropped without probing it.
    const docs: Doc[] = [];
    for (let i = 0; i < 20_000; i++) {
      const terms = i % 2 === 0 ? ['common'] : ['filler'];
      // Strong chunks (every 200th) get longer and longer, so their scores strictly decrease.
      if (i % 100 === 0) terms.push(...(i % 200 === 0 ? ['rare', 'rare', 'rare', 'rare'] : ['rare']));
      while (terms.length < (i % 200 === 0 ? 6 + i / 200 : 30 + (i % 20))) terms.push('filler');
      docs.push({ chunkId: i + 1, terms, row: 0 });
    }
    const seg = build(docs, [{ kind: 'news', publishedMs: null, source: 's', tags: [], acl: [] }]);
    const counters = { postings: 0, scored: 0, candidates: 0 };
    const got = seg.search(['common', 'rare'], 10, { counters });
    const expected = bruteForce(docs, () => true, ['common', 'rare'], 10);
    expect(got.map((h) => h.chunkId)).toEqual(expected.map((h) => h.chunkId));
    expect(counters.candidates).toBe(10_200);
    expect(counters.postings).toBeLessThan(counters.candidates / 4);
  });

  it('keeps term frequencies of 255 and more exact (stored apart from the one-byte tfs)', () => {
    const rows: Row[] = [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }];
    const docs: Doc[] = [254, 255, 256, 300, 70_000, 1, 3].map((tf, i) => ({ chunkId: i + 1, terms: [...Array(tf).fill('chip'), ...Array(10).fill('filler')], row: 0 }));
    docs.push(...Array.from({ length: 20 }, (_, i) => ({ chunkId: 100 + i, terms: ['filler', 'other'], row: 0 })));
    const seg = build(docs, rows);
    const got = seg.search(['chip', 'filler'], 10);
    const expected = bruteForce(docs, () => true, ['chip', 'filler'], 10);
    expect(got.map((h) => h.chunkId)).toEqual(expected.map((h) => h.chunkId));
    got.forEach((h, i) => expect(h.score).toBe(expected[i].score));
  });

  it('open() decodes in slices, yielding to other work, and gives the same segment as the constructor', async () => {
    const rnd = ((seed) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32))(11);
    const docs: Doc[] = Array.from({ length: 3_000 }, (_, i) => ({ chunkId: i + 1, terms: Array.from({ length: 3 + Math.floor(rnd() * 30) }, () => EN[Math.floor(EN.length * rnd() ** 2)]), row: 0 }));
    const whole = build(docs, [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }]);
    let others = 0;
    const other = () => {
      others++;
      if (others < 1000) setImmediate(other);
    };
    setImmediate(other); // other work of the event loop, one step per turn
    const sliced = await Bm25Segment.open(lastFile, 'sliced.bm25', 2_000);
    expect(others).toBeGreaterThan(3); // it ran between the slices
    expect(sliced.postingsLoad).toBeNull();
    expect(sliced.pDoc).toEqual(whole.pDoc);
    expect(sliced.pTf).toEqual(whole.pTf);
    expect(sliced.search(['market', 'chip', 'solar'], 20)).toEqual(whole.search(['market', 'chip', 'solar'], 20));
  });

  it('refuses a file whose postings disagree with its block table (structural check at load)', async () => {
    const docs: Doc[] = Array.from({ length: 200 }, (_, i) => ({ chunkId: i + 1, terms: ['chip', i % 3 ? 'market' : 'solar'], row: 0 }));
    build(docs, [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }]);
    const good = lastFile;
    const footerLen = good.readUInt32LE(good.length - 12);
    const footer = JSON.parse(good.toString('utf8', good.length - 12 - footerLen, good.length - 12)) as { sections: Record<string, [number, number, string]> };
    const [offset] = footer.sections.postings;
    const bad = Buffer.from(good);
    bad[offset] = bad[offset] === 0 ? 1 : 0; // the first doc delta of the first block: its docs shift by one
    expect(() => new Bm25Segment(good, 'good.bm25')).not.toThrow();
    expect(() => new Bm25Segment(bad, 'bad.bm25')).toThrow(/bad\.bm25: block 0 does not end at its recorded last document/);
    await expect(Bm25Segment.open(bad, 'bad.bm25', 10)).rejects.toThrow(/block 0 does not end at its recorded last document/);
  });

  it('estimates the memory of a loaded segment (worker sizing) at or above what it holds', () => {
    const rnd = ((seed) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32))(7);
    const docs: Doc[] = Array.from({ length: 5_000 }, (_, i) => ({ chunkId: i + 1, terms: Array.from({ length: 5 + Math.floor(rnd() * 40) }, () => EN[Math.floor(EN.length * rnd() ** 2)]), row: 0 }));
    const seg = build(docs, [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }]);
    const held = Object.values(seg).reduce((sum: number, v) => sum + (ArrayBuffer.isView(v) ? v.byteLength : 0), 0);
    const estimate = segmentMemoryBytes({ docs: seg.docs, postings: seg.postingsCount });
    expect(estimate).toBeGreaterThanOrEqual(held);
    expect(estimate).toBeLessThan(held * 1.5); // 1.04× on the 1M bench store (333 vs 321 MiB)
  });

  it('handles k = 0, unknown terms, empty corpora and rejects a bad k', () => {
    const seg = build([{ chunkId: 5, terms: ['芯片'], row: 0 }], [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }]);
    expect(seg.search(['芯片'], 0)).toEqual([]);
    expect(seg.search(['nothing'], 3)).toEqual([]);
    expect(seg.search([], 3)).toEqual([]);
    expect(seg.search(['芯片', '芯片'], 3).map((h) => h.chunkId)).toEqual([5]);
    expect(() => seg.search(['芯片'], -1)).toThrow(/k must be/);
    expect(build([], [{ kind: 'post', publishedMs: null, source: 's', tags: [], acl: [] }]).search(['芯片'], 3)).toEqual([]);
  });
});
