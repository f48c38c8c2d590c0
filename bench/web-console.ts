// Web console benchmark: what the pages cost to load in Chromium, and how the console's document
// browser API answers on a large store.
//
//   node --import tsx bench/web-console.ts [--docs 100000] [--reps 20] [--chromium /usr/bin/chromium]
//
// Store: --docs synthetic documents (one chunk each, 1 in 10 in an ACL group) inserted directly in
// SQLite; the server is the real app on 127.0.0.1:0 with auth off and a BM25-only test retriever.
// Page load: cold (new browser context, empty cache) time from navigation to the page's ready flag,
// and the bytes the page transferred, for the chat page and the console overview.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/log/index.ts';
import { openStore } from '../src/store/index.ts';
import { startServer } from '../serve/main.ts';
import type { RetrieveResult, Retriever } from '../src/retrieval/types.ts';
import { parseFlags } from './fixtures/flags.ts';

const f = parseFlags(process.argv.slice(2));
const DOCS = Number(f.get('docs') ?? 100_000);
const REPS = Number(f.get('reps') ?? 20);
const CHROMIUM = f.get('chromium') ?? '/usr/bin/chromium';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-console-'));
const db = openStore(path.join(dir, 'kb.sqlite'));
db.prepare("INSERT INTO sources (name, type, path, mode) VALUES ('news', 'jsonl', 'x', 'full'), ('forum', 'folder', 'y', 'full')").run();
const t0 = Date.now();
const insDoc = db.prepare(`INSERT INTO documents (source, external_id, kind, title, body, published_at, acl_groups, content_hash, text_hash, first_seen, last_seen)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const insChunk = db.prepare('INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, 0, ?, ?, ?, 0, ?, 50)');
db.transaction(() => {
  const now = new Date().toISOString();
  for (let i = 0; i < DOCS; i++) {
    const body = `Document ${i} about topic ${i % 97} and product ${i % 389}. `.repeat(6);
    const id = Number(insDoc.run(i % 3 ? 'news' : 'forum', `d-${i}`, i % 5 ? 'news' : 'post', `Title ${i} topic ${i % 97}`, body, `2026-${String((i % 12) + 1).padStart(2, '0')}-15T00:00:00Z`, i % 10 ? '[]' : '["sales"]', `h${i}`, `t${i}`, now, now).lastInsertRowid);
    insChunk.run(id, body, body, `e${i}`, body.length);
  }
})();
console.log(`store: ${DOCS} documents in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const noRetriever: Retriever = { retrieve: async (): Promise<RetrieveResult> => ({ hits: [], timings: {}, degraded: [] }) };
const config = loadConfig({ env: {}, overrides: { data_dir: dir, log: { level: 'silent' }, auth: { rate_limit: { requests_per_minute: 1000000, burst: 100000 } } } });
const server = await startServer(config, { db, retriever: noRetriever, log: silentLogger, port: 0, host: '127.0.0.1', indexStatus: () => ({ loaded: true, version: 1 }) });

async function time(label: string, url: string) {
  const ms: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const s = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${label}: HTTP ${r.status}`);
    ms.push(performance.now() - s);
  }
  ms.sort((a, b) => a - b);
  console.log(`| ${label} | ${ms[Math.floor(ms.length / 2)].toFixed(1)} | ${ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)].toFixed(1)} | ${ms[0].toFixed(1)} |`);
}

console.log('\n| GET /v1/admin/documents… | median ms | p95 ms | min ms |\n| --- | --- | --- | --- |');
await time('first page (25, newest first)', `${server.url}/v1/admin/documents?limit=25`);
await time('page 40 (offset 1000)', `${server.url}/v1/admin/documents?limit=25&offset=1000`);
await time('q=topic 42 (title/id/url LIKE)', `${server.url}/v1/admin/documents?limit=25&q=topic%2042`);
await time('group=sales', `${server.url}/v1/admin/documents?limit=25&group=sales`);
await time('source=forum&kind=post&from=2026-06-01', `${server.url}/v1/admin/documents?limit=25&source=forum&kind=post&from=2026-06-01`);
await time('one document with chunks', `${server.url}/v1/admin/documents/${Math.floor(DOCS / 2)}`);

if (fs.existsSync(CHROMIUM)) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  console.log('\n| page (cold) | median ms to ready | bytes transferred |\n| --- | --- | --- |');
  for (const [label, p] of [['chat /', '/'], ['console /admin (overview)', '/admin#overview']]) {
    const ms: number[] = [];
    let bytes = 0;
    for (let i = 0; i < Math.min(REPS, 10); i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      let b = 0;
      page.on('response', async (r) => {
        const len = Number(r.headers()['content-length'] ?? 0) || (await r.body().catch(() => Buffer.alloc(0))).length;
        b += len;
      });
      const s = performance.now();
      await page.goto(`${server.url}${p}`);
      await page.locator(p === '/' ? 'body[data-ready="true"]' : '#content[data-loaded="overview"]').waitFor();
      ms.push(performance.now() - s);
      bytes = b;
      await ctx.close();
    }
    ms.sort((a, b) => a - b);
    console.log(`| ${label} | ${ms[Math.floor(ms.length / 2)].toFixed(0)} | ${(bytes / 1024).toFixed(0)} KiB |`);
  }
  await browser.close();
} else {
  console.log(`(no browser at ${CHROMIUM}: page-load figures skipped)`);
}

await server.close();
db.close();
fs.rmSync(dir, { recursive: true, force: true });
