// Cost of the start-up `PRAGMA quick_check` (src/store/index.ts, `openStore({ check: true })`)
// that `kb serve`, `kb ingest`, `kb scheduler` and `kb index …` run before using the store.
//
//   node --import tsx bench/store-quick-check.ts [--chunks 150000] [--repeat 3] [--keep FILE]
//
// Builds a store with the real schema (documents, chunks with ~120-word texts, the FTS5 BM25
// table) and times quick_check on it; the cost grows with the file size.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '../src/store/index.ts';
import { parseFlags } from './fixtures/flags.ts';

const f = parseFlags(process.argv.slice(2));
const chunks = Number(f.get('chunks') ?? 150000);
const repeat = Number(f.get('repeat') ?? 3);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-bench-qc-'));
const file = f.get('keep') ?? path.join(dir, 'kb.sqlite');
try {
  const db = openStore(file);
  if ((db.prepare('SELECT count(*) FROM chunks').pluck().get() as number) < chunks) {
    const t0 = performance.now();
    db.prepare("INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES ('bench', 'jsonl', 'x', 'full')").run();
    const words = Array.from({ length: 20000 }, () => crypto.randomBytes(4).toString('hex'));
    const doc = db.prepare("INSERT INTO documents (source, external_id, kind, body, content_hash, text_hash, first_seen, last_seen) VALUES ('bench', ?, 'news', ?, ?, ?, 'now', 'now')");
    const chunk = db.prepare('INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count, vector_label) VALUES (?, 0, ?, ?, ?, 0, 1, 120, NULL)');
    const fts = db.prepare('INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < chunks; i++) {
        const text = Array.from({ length: 120 }, () => words[(Math.random() * words.length) | 0]).join(' ');
        const h = crypto.createHash('sha1').update(text).digest('hex');
        const d = Number(doc.run(`d${i}`, text, h, h).lastInsertRowid);
        const c = Number(chunk.run(d, text, text, h).lastInsertRowid);
        fts.run(c, text);
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    console.log(`built ${chunks} chunks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const mib = fs.statSync(file).size / 2 ** 20;
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    const res = db.pragma('quick_check(10)', { simple: true });
    const ms = performance.now() - t;
    times.push(ms);
    console.log(`quick_check → ${String(res)} on ${mib.toFixed(0)} MiB: ${ms.toFixed(0)} ms (${(mib / (ms / 1000)).toFixed(0)} MiB/s)`);
  }
  db.close();
  console.log(JSON.stringify({ bench: 'store-quick-check', chunks, mib, quick_check_ms: times, loadavg: os.loadavg()[0] }));
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  if (!f.get('keep')) fs.rmSync(dir, { recursive: true, force: true });
}
