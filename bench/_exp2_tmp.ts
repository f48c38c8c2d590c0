import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { createRequire } from 'node:module';
import { loadBeir } from '../src/eval/beir.ts';
import { summarize } from '../src/eval/metrics.ts';
const require = createRequire(import.meta.url);
const winkBm25 = require('wink-bm25-text-search');
const ds = loadBeir(process.argv[2]);
const jieba = Jieba.withDict(dict);
const W = /[\p{L}\p{N}]/u;
const preps: Record<string, (t: string) => string[]> = {
  cut: (t) => jieba.cut(t, true).map((w) => w.trim().toLowerCase()).filter((w) => W.test(w)),
  cutNoFilter: (t) => jieba.cut(t, true),
  cutForSearch: (t) => jieba.cutForSearch(t, true).map((w) => w.trim().toLowerCase()).filter((w) => W.test(w)),
};
for (const [pname, prep] of Object.entries(preps)) for (const fw of [{ title: 1, text: 1 }, { text: 1 }, { title: 2, text: 1 }]) {
  const e = winkBm25();
  e.defineConfig({ fldWeights: fw });
  e.definePrepTasks([prep]);
  for (const p of ds.corpus) e.addDoc(fw.title ? { title: p.title, text: p.text } : { text: p.text }, p.id);
  e.consolidate();
  const s = summarize(ds.queries.map((q) => ({ ranked: e.search(q.text, 10).map((r: [string, number]) => r[0]), rel: ds.qrels.get(q.id) as Map<string, number> })));
  console.log(pname.padEnd(14), JSON.stringify(fw).padEnd(22), s['recall@1'].toFixed(4), s['ndcg@10'].toFixed(4));
}
