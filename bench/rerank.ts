// Cost of the reranking stage on CPU: the real LocalReranker (transformers.js, ONNX Runtime)
// running compute-shaped stand-ins of common cross-encoders (random weights: timing only; the
// real models cannot be downloaded here), over head sizes, with real passages as input.
//
//   node --import tsx bench/rerank.ts --dataset ../shared/eval/squad-v1.1-dev [--queries 20] [--heads 10,20] [--shapes minilm-l6,bge-base]
//
// Shapes (hidden / layers / heads / FFN): minilm-l6 = cross-encoder/ms-marco-MiniLM-L-6-v2
// (384/6/12/1536); minilm-l12 (384/12/12/1536); bge-base = BAAI/bge-reranker-base (768/12/12/3072,
// XLM-R base; the 250k vocabulary is a lookup and costs no compute). dtype q8 (dynamic int8, like
// the Xenova exports). Baseline in the same run: the BM25 leg's time for the same queries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { searchBm25 } from '../src/bm25/index.ts';
import { RERANK_OFF } from '../src/config/sections/rerank.ts';
import { loadBeir } from '../src/eval/beir.ts';
import { ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { LocalReranker } from '../src/rerank/local.ts';
import { ftsQuery } from '../src/text/analyzer.ts';
import { buildE5ShapedModel } from './fixtures/e5-small-shaped.ts';
import { parseFlags } from './fixtures/flags.ts';

const SHAPES: Record<string, { hidden: number; layers: number; heads: number; intermediate: number }> = {
  'minilm-l6': { hidden: 384, layers: 6, heads: 12, intermediate: 1536 },
  'minilm-l12': { hidden: 384, layers: 12, heads: 12, intermediate: 1536 },
  'bge-base': { hidden: 768, layers: 12, heads: 12, intermediate: 3072 },
};

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const ds = loadBeir(f.get('dataset') ?? '../shared/eval/squad-v1.1-dev');
  const nq = Number(f.get('queries') ?? 20);
  const heads = (f.get('heads') ?? '10,20').split(',').map(Number);
  const shapes = (f.get('shapes') ?? 'minilm-l6,bge-base').split(',');
  const store = openEvalStore();
  const chunkOf = ingestPassages(store.db, ds.corpus, { titlePrefix: true });
  const byChunk = new Map([...chunkOf].map(([pid, cid]) => [cid, ds.corpus.find((p) => p.id === pid)!]));
  const queries = ds.queries.slice(0, nq);
  const maxHead = Math.max(...heads);
  const bm25Ms: number[] = [];
  const heads0 = queries.map((q) => {
    const t = performance.now();
    const hits = searchBm25(store.db, ftsQuery(q.text), maxHead);
    bm25Ms.push(performance.now() - t);
    return hits.map((h) => byChunk.get(h.chunkId)!).map((p) => `${p.title}\n${p.text}`);
  });
  const avgChars = heads0.flat().reduce((s, x) => s + x.length, 0) / Math.max(1, heads0.flat().length);
  // The stand-in's tokenizer gets every word of these texts as a whole-word token, so a pair is
  // about as many tokens as words (real WordPiece/SentencePiece: ≈ 1.3 tokens per English word),
  // instead of one token per letter for words outside the tiny vocabulary.
  const words = (t: string) => t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const extraWords = [...new Set([...queries.map((q) => q.text), ...heads0.flat()].flatMap(words))];
  const pairWords = queries.map((q, i) => heads0[i].map((p) => words(q.text).length + words(p).length)).flat();
  const meanWords = pairWords.reduce((s, x) => s + x, 0) / Math.max(1, pairWords.length);
  console.log(
    `${ds.name}: ${queries.length} queries, passages avg ${avgChars.toFixed(0)} chars, ${meanWords.toFixed(0)} words per query+passage pair; ` +
      `BM25 leg p50 ${pct(bm25Ms, 0.5).toFixed(1)} ms (baseline)`,
  );
  // Wall time depends on machine load; process CPU time (all ONNX Runtime threads) much less so.
  console.log('shape        head  wall p50 ms  wall p95 ms  CPU ms/query  CPU ms/passage');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-rerank-bench-'));
  try {
    for (const shape of shapes) {
      const s = SHAPES[shape];
      if (!s) throw new Error(`unknown shape ${shape}`);
      const modelDir = path.join(dir, shape);
      await buildE5ShapedModel(modelDir, { ...s, classifier: true, extraWords });
      const r = new LocalReranker({ ...RERANK_OFF.local, model: modelDir, dtype: 'q8', max_length: 512, batch_size: 8 }, dir);
      await r.load();
      await r.score(queries[0].text, heads0[0].slice(0, 2)); // warm-up
      for (const head of heads) {
        const ms: number[] = [];
        const cpu0 = process.cpuUsage();
        let passages = 0;
        for (const [i, q] of queries.entries()) {
          const t = performance.now();
          const batch = heads0[i].slice(0, head);
          await r.score(q.text, batch);
          passages += batch.length;
          ms.push(performance.now() - t);
        }
        const c = process.cpuUsage(cpu0);
        const cpuMs = (c.user + c.system) / 1000;
        console.log(
          `${shape.padEnd(12)} ${String(head).padEnd(5)} ${pct(ms, 0.5).toFixed(0).padEnd(12)} ${pct(ms, 0.95).toFixed(0).padEnd(12)} ${(cpuMs / queries.length).toFixed(0).padEnd(13)} ${(cpuMs / passages).toFixed(1)}`,
        );
      }
      await r.dispose();
    }
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench/rerank: ${(err as Error).stack}`);
  process.exitCode = 1;
});
