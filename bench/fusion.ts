// Fusion of the dense and BM25 legs, measured offline with a real embedding model: which fusion
// (weighted RRF, or the convex combination of normalised scores) and which weight make
// hybrid ≥ each leg on held-out queries.
//
//   KB_DATA_DIR=$PWD/data KB_EMBEDDING__MODEL=local/all-MiniLM-L6-v2 KB_EMBEDDING__DTYPE=fp32 \
//   KB_EMBEDDING__QUERY_PREFIX= KB_EMBEDDING__PASSAGE_PREFIX= KB_EMBEDDING__ALLOW_REMOTE=false \
//     nice -n 5 node --import tsx bench/fusion.ts --dataset ../shared/eval/squad-v1.1-dev \
//       [--cache-dir data/bench-cache] [--limit N] [--dump-only]
//       [--alphas 0,0.1,…,1] [--dense-weights 0.05,…,1.5] [--rrf-k 60,10]   (the grid of phase 2)
//       [--fit-alphas 0.3,0.5,0.7]   (then kb eval fit's fitRetrieval on the served path, cached vectors)
//
// Phase 1 (once per dataset and model): the SERVED retriever (createServedRetriever, mode hybrid,
// explainLegs) answers every query and its two legs' candidate lists — chunk ids and raw scores,
// `retrieval.candidates` (100) each, exactly what the fusion step receives — are written to
// <cache-dir>/<dataset>-<model>.legs.jsonl. Every vector the model produced is kept in
// <cache-dir>/<dataset>-<model>.vectors.jsonl (bench/fixtures/vector-cache.ts), so this phase and
// `bench/beir.ts --vector-cache` embed nothing twice.
// Phase 2 (seconds): every fusion setting fuses those lists with the product's own functions
// (src/retrieval/fusion.ts), ranks the top 10 by the fused score, and is scored per query. The
// queries are split in two halves by a hash of their id (the split `kb eval fit` uses); a setting
// is chosen on one half and reported on the other, both ways. The stages after fusion (exact
// match, per-document cap, MMR, reranker) are not applied here: they are confirmed on the served
// path with bench/beir.ts afterwards.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { createEmbedder } from '../src/embeddings/factory.ts';
import { loadBeir, type BeirDataset } from '../src/eval/beir.ts';
import { fitRetrieval, fitTable } from '../src/eval/fit.ts';
import { buildDenseIndex, ingestPassages, openEvalStore } from '../src/eval/store.ts';
import { createServedRetriever } from '../src/retrieval/open.ts';
import { parseFlags } from './fixtures/flags.ts';
import { fileCachedEmbedder } from './fixtures/vector-cache.ts';

export interface LegsRecord {
  id: string;
  /** [passage id, raw score] in the leg's rank order. */
  bm25: Array<[string, number]>;
  dense: Array<[string, number]>;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');

async function dumpLegs(ds: BeirDataset, file: string, vectorFile: string): Promise<void> {
  const config = loadConfig();
  const embedder = fileCachedEmbedder(createEmbedder(config), vectorFile);
  await embedder.load();
  const store = openEvalStore();
  try {
    const chunkOf = ingestPassages(store.db, ds.corpus, { titlePrefix: config.chunking.title_prefix });
    const passageOf = new Map<number, string>();
    for (const [pid, cid] of chunkOf) passageOf.set(cid, pid);
    let t = performance.now();
    let done = 0;
    const { reader } = await buildDenseIndex(store.db, store.dir, embedder, config, (n) => {
      done += n;
      if (done % 256 < n) console.log(`  passages embedded: ${done}/${ds.corpus.length} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    });
    console.log(`dense index: ${embedder.id}, ${ds.corpus.length} passages in ${((performance.now() - t) / 1000).toFixed(1)} s (vector cache: ${embedder.stats.hits} hits, ${embedder.stats.misses} embedded)`);
    const { retriever } = createServedRetriever(config, { db: store.db, dense: reader, embedder, reranker: null });
    const tmp = `${file}.partial`;
    const out = fs.openSync(tmp, 'w');
    t = performance.now();
    for (let i = 0; i < ds.queries.length; i++) {
      const q = ds.queries[i];
      const res = await retriever.retrieve({ query: q.text, topK: 10, groups: null, mode: 'hybrid', explainLegs: true });
      if (res.degraded.length > 0) throw new Error(`query ${q.id}: served retriever degraded: ${res.degraded.join('; ')}`);
      const map = (hits: Array<{ chunkId: number; score: number }> | null) => (hits ?? []).map((h) => [passageOf.get(h.chunkId)!, h.score] as [string, number]);
      const rec: LegsRecord = { id: q.id, bm25: map(res.legHits!.bm25), dense: map(res.legHits!.dense) };
      fs.writeSync(out, `${JSON.stringify(rec)}\n`);
      if ((i + 1) % 1000 === 0) console.log(`  queries: ${i + 1}/${ds.queries.length} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    fs.closeSync(out);
    fs.renameSync(tmp, file);
    reader.stop();
  } finally {
    store.close();
    await embedder.dispose?.();
  }
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  const dataset = f.get('dataset');
  if (!dataset) throw new Error('usage: node --import tsx bench/fusion.ts --dataset DIR [--cache-dir DIR] [--limit N] [--dump-only] [--alphas LIST] [--dense-weights LIST] [--rrf-k LIST]');
  const limit = f.has('limit') ? Number(f.get('limit')) : undefined;
  const ds = loadBeir(dataset, { limit });
  const config = loadConfig();
  const cacheDir = f.get('cache-dir') ?? 'data/bench-cache';
  fs.mkdirSync(cacheDir, { recursive: true });
  const base = path.join(cacheDir, `${slug(ds.name)}-${slug(config.embedding.model)}-${config.embedding.dtype}`);
  const legsFile = `${base}${limit ? `-${limit}` : ''}.legs.jsonl`;
  console.log(`dataset ${ds.name}: ${ds.corpus.length} passages, ${ds.queries.length} queries; model ${config.embedding.model} (${config.embedding.dtype}); node ${process.version}`);
  if (!fs.existsSync(legsFile)) await dumpLegs(ds, legsFile, `${base}.vectors.jsonl`);
  console.log(`legs: ${legsFile}`);
  if (f.has('dump-only')) return;
  const { evaluateFusion } = await import('./fusion-eval.ts');
  evaluateFusion(ds, legsFile, f);
  // --fit-alphas LIST: `kb eval fit --fusion convex`'s own code (fitRetrieval: the served
  // retriever per alpha, 2-fold CV) on the same set, with the cached vectors (kb eval fit itself
  // would embed the whole set again).
  const fitAlphas = f.get('fit-alphas');
  if (fitAlphas) {
    const t = performance.now();
    const embedder = fileCachedEmbedder(createEmbedder(config), `${base}.vectors.jsonl`);
    const r = await fitRetrieval({ dataset, limit, config, mode: 'hybrid', fusion: 'convex', denseWeights: [], alphas: fitAlphas.split(',').map(Number), heads: [], embedder, reranker: null });
    console.log(`\nkb eval fit --fusion convex (fitRetrieval), ${((performance.now() - t) / 1000).toFixed(0)} s, vector cache ${embedder.stats.hits} hits / ${embedder.stats.misses} embedded:\n${fitTable(r)}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench/fusion: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
