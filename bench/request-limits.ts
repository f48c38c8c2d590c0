// Request limits: how long one pathological request can hold the event loop, at the default
// `limits`, against the unbounded baseline measured in the same run.
//
//   node --import tsx bench/request-limits.ts [--repeat 5]
//
// 1. Stemmer: wink-porter2-stemmer alone (the baseline: what the analyzer did before it stopped
//    stemming words over MAX_STEM_CHARS letters) vs analyze() on the same one-word text, per
//    word length. The stemmer is quadratic, so the baseline is cut off at 16k letters (~4 s).
// 2. Server: each pathological request of test/server/limits.test.ts sent alone to a real server
//    (BM25 retriever over an empty store, extractive mode); the figure is the longest event-loop
//    stall during the request (perf_hooks.monitorEventLoopDelay, 1 ms resolution), max of
//    --repeat runs. The target of issue 10 is ≤ ~100 ms.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/log/index.ts';
import { createHybridRetriever } from '../src/retrieval/hybrid.ts';
import { openStore } from '../src/store/index.ts';
import { MAX_STEM_CHARS, analyze, warmUpAnalyzer } from '../src/text/analyzer.ts';
import { startServer } from '../serve/main.ts';
import { parseFlags } from './fixtures/flags.ts';

const f = parseFlags(process.argv.slice(2));
for (const k of f.keys()) if (k !== 'repeat') throw new Error(`unknown flag --${k} (known: repeat)`);
const REPEAT = Number(f.get('repeat') ?? 5);

const stem = createRequire(import.meta.url)('wink-porter2-stemmer') as (w: string) => string;
const ms = (t0: number) => performance.now() - t0;
const word = (n: number) => `${'ab'.repeat(Math.floor((n - 1) / 2))}${n % 2 === 0 ? 'x' : ''}s`;

warmUpAnalyzer();
console.log(`MAX_STEM_CHARS = ${MAX_STEM_CHARS}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('\n| word length | Porter2 stem alone (baseline) | analyze() now | ratio |');
console.log('| ---: | ---: | ---: | ---: |');
const stemRows: Array<Record<string, number | null>> = [];
for (const n of [16, 64, 65, 256, 1024, 4096, 16384, 60000]) {
  const w = word(n);
  let base: number | null = null;
  if (n <= 16384) {
    const t0 = performance.now();
    stem(w);
    base = ms(t0);
  }
  const t1 = performance.now();
  analyze(w);
  const now = ms(t1);
  stemRows.push({ length: n, stem_ms: base, analyze_ms: now });
  console.log(`| ${n} | ${base === null ? 'not run (≈ 45 s)' : `${base.toFixed(2)} ms`} | ${now.toFixed(2)} ms | ${base === null ? '–' : `${(base / now).toFixed(0)}×`} |`);
}

// ── server ──
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-limits-'));
const config = loadConfig({ env: {}, overrides: { data_dir: dir, log: { level: 'silent' }, auth: { rate_limit: { requests_per_minute: 1_000_000, burst: 100_000 } } } });
const db = openStore(path.join(dir, 'kb.sqlite'));
const server = await startServer(config, { db, log: silentLogger, port: 0, host: '127.0.0.1', retriever: createHybridRetriever({ db, dense: null, embedder: null, config }), indexStatus: () => ({ loaded: true }) });
const han = Array.from({ length: 30_000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join('');
const chat = (messages: unknown[]) => ['/v1/chat/completions', JSON.stringify({ model: 'kb-assistant', messages })] as const;
const cases: Array<[string, readonly [string, string]]> = [
  ['chat: one 60,000-letter word (over max_message_chars)', chat([{ role: 'user', content: word(60_000) }])],
  ['chat: one 10,001-letter word (analysed)', chat([{ role: 'user', content: word(10_001) }])],
  ['chat: 30,000 Chinese characters', chat([{ role: 'user', content: han }])],
  ['chat: 2,500 Chinese characters (fits the context)', chat([{ role: 'user', content: han.slice(0, 2_500) }])],
  ['chat: 6 × 20,000-letter history + question', chat([...Array.from({ length: 6 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: word(20_000) })), { role: 'user', content: 'and then?' }])],
  ['chat: 30,000 one-letter messages (~0.9 MB)', chat(Array.from({ length: 30_000 }, () => ({ role: 'user', content: 'x' })))],
  ['retrieve: 4,000-letter word', ['/v1/retrieve', JSON.stringify({ query: word(4_000) })]],
  ['retrieve: 2,000 one-letter words', ['/v1/retrieve', JSON.stringify({ query: 'x '.repeat(2_000) })]],
  ['retrieve: 4,000 Chinese characters', ['/v1/retrieve', JSON.stringify({ query: han.slice(0, 4_000) })]],
];
console.log(`\n| request (alone, default limits) | status | longest event-loop stall (max of ${REPEAT}) |`);
console.log('| --- | ---: | ---: |');
const serverRows: Array<Record<string, unknown>> = [];
for (const [name, [route, body]] of cases) {
  let worst = 0;
  let status = 0;
  for (let i = 0; i < REPEAT; i++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const res = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    h.disable();
    status = res.status;
    worst = Math.max(worst, h.max / 1e6);
  }
  serverRows.push({ name, status, max_stall_ms: Number(worst.toFixed(1)) });
  console.log(`| ${name} | ${status} | ${worst.toFixed(1)} ms |`);
}
await server.close();
db.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ bench: 'request-limits', max_stem_chars: MAX_STEM_CHARS, stem: stemRows, server: serverRows, loadavg: os.loadavg() }));
