import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { createRequire } from 'node:module';
import { loadBeir } from '../src/eval/beir.ts';
import { summarize } from '../src/eval/metrics.ts';
import { openStore } from '../src/store/index.ts';
import { analyze, toSimplifiedChinese } from '../src/text/analyzer.ts';
const require = createRequire(import.meta.url);
const ds = loadBeir(process.argv[2]);
const jieba = Jieba.withDict(dict);
const W = /[\p{L}\p{N}]/u;
type An = (t: string) => string[];
const bigrams: An = (t) => { const out: string[] = []; for (const m of toSimplifiedChinese(t.toLowerCase()).matchAll(/\p{Script=Han}+|[\p{L}\p{N}]+/gu)) { const r = m[0]; if (/\p{Script=Han}/u.test(r)) { if (r.length === 1) out.push(r); for (let i = 0; i + 1 < r.length; i++) out.push(r.slice(i, i + 2)); } else out.push(r); } return out; };
const variants: Record<string, { doc: An; query: An }> = {
  base: { doc: analyze, query: analyze },
  queryCut: { doc: analyze, query: (t) => jieba.cut(toSimplifiedChinese(t.toLowerCase()), true).filter((w) => W.test(w)) },
  bigram: { doc: bigrams, query: bigrams },
  wordsPlusBigrams: { doc: (t) => [...analyze(t), ...bigrams(t)], query: (t) => [...analyze(t), ...bigrams(t)] },
  titleTwice: { doc: analyze, query: analyze },
};
for (const [name, v] of Object.entries(variants)) {
  const db = openStore(':memory:');
  db.exec(`CREATE VIRTUAL TABLE f USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2')`);
  const ins = db.prepare('INSERT INTO f (rowid, terms) VALUES (?, ?)');
  db.transaction(() => ds.corpus.forEach((p, i) => ins.run(i + 1, v.doc(name === 'titleTwice' ? `${p.title}\n${p.title}\n${p.text}` : `${p.title}\n${p.text}`).join(' '))))();
  const q = db.prepare('SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT 10').pluck();
  const runs = ds.queries.map((qq) => {
    const terms = [...new Set(v.query(qq.text))].filter((t) => W.test(t));
    const expr = terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
    const ranked = expr ? (q.all(expr) as number[]).map((r) => ds.corpus[r - 1].id) : [];
    return { ranked, rel: ds.qrels.get(qq.id) as Map<string, number> };
  });
  const s = summarize(runs);
  console.log(name.padEnd(18), s['recall@1'].toFixed(4), s['ndcg@10'].toFixed(4));
}
