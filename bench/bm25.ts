// The BM25 leg at scale: the engine (src/bm25: block-max MaxScore over versioned files) against
// FTS5 exhaustive (`ORDER BY rank` over every matching posting, the previous leg and the exact
// reference), side by side in one run on the same store and the same analysed query terms.
//
//   node --import tsx bench/bm25.ts --chunks 100000 [--queries 300] [--k 10] [--changed 0.01]
//        [--skip-refresh] [--seed 42] [--out bench/out] [--replicate T [--drop 0.2]]
// --replicate T: T near-duplicate copies of the cached --chunks corpus (no analyzer run: fast
// enough for 1M on a loaded machine; its term statistics are the source corpus's, scaled).
//
// Setup (cached in <out>/bm25-<chunks>/): the demo text corpus of bench/fixtures/server-corpus.ts
// (zh + en news, comments, posts; 10% of documents ACL "sales", 5% "exec"), terms through the
// real analyzer, written through the BM25 module. Queries: document headlines / questions drawn
// from the corpus (every 50th document), analysed with the real analyzer, all terms kept.
// Each phase runs in its own child process so its peak RSS is its own:
//   build    syncBm25Index (forced): build time, file size, peak RSS
//   query    load + checksum the version, then per query: engine top-k and FTS5 top-k for three
//            scopes — unrestricted; an API key with groups [sales]; kind comment + groups [sales]
//            — p50/p99 ms, postings decoded vs postings of the query terms (what FTS5 scores),
//            and the number of top-k lists that differ (score > 1e-6 apart, or another chunk at a
//            rank without a tie). Must be 0. Then the version loaded again the way a server loads
//            a new one (leg.ts readAndOpen, in slices): seconds and the longest event-loop pause.
//   refresh  on a copy of the store, 1% of documents changed (their chunks replaced, as the
//            ingestion writer does): a full rebuild vs building a segment of just the new chunks.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bm25Builder } from '../src/bm25/builder.ts';
import { Bm25Writer, matchAnyTerm, searchBm25 } from '../src/bm25/index.ts';
import { Bm25Leg, readAndOpen } from '../src/bm25/leg.ts';
import type { SearchCounters } from '../src/bm25/segment.ts';
import { activeBm25Version, syncBm25Index } from '../src/bm25/versions.ts';
import { normalizeFilters, toSql } from '../src/retrieval/filters.ts';
import type { DocMaskSpec } from '../src/retrieval/catalog.ts';
import { openStore } from '../src/store/index.ts';
import { analyze } from '../src/text/analyzer.ts';
import { buildTextCorpus } from './fixtures/server-corpus.ts';
import { parseFlags } from './fixtures/flags.ts';

const f = parseFlags(process.argv.slice(2));
const num = (k: string, d: number) => (f.has(k) ? Number(f.get(k)) : d);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const peakRssMiB = () => mib(process.resourceUsage().maxRSS * 1024);
const self = fileURLToPath(import.meta.url);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] * 1000) / 1000;
}

function child(phase: string, dir: string, extra: string[] = []): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--phase', phase, '--dir', dir, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const line = out.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, unknown>;
}

function phaseBuild(dir: string): void {
  const db = openStore(path.join(dir, 'kb.sqlite'));
  const r = syncBm25Index(db, dir, { force: true, keep: 1 });
  console.log(JSON.stringify({ seconds: r.seconds, bytes: r.bytes, docs: r.docs, terms: r.terms, postings: r.postings, peak_rss_mib: peakRssMiB() }));
}

type Hit = { chunkId: number; score: number };
function differ(a: Hit[], b: Hit[]): boolean {
  if (a.length !== b.length) return true;
  return a.some((h, i) => Math.abs(h.score - b[i].score) > 1e-6 || (h.chunkId !== b[i].chunkId && Math.abs(h.score - b[i].score) > 1e-12));
}

/**
 * A server's way of loading a new version (the leg's `background` mode): its duration and the
 * longest the event loop was held meanwhile (a setImmediate ticker measures the gaps).
 */
async function measureBackgroundLoad(dir: string, db: ReturnType<typeof openStore>): Promise<{ seconds: number; longest_pause_ms: number; turns: number }> {
  const v = activeBm25Version(db)!;
  let done = false;
  let last = performance.now();
  let longest = 0;
  let turns = 0;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns++;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  await readAndOpen(path.join(dir, v.file), v);
  done = true;
  return { seconds: Math.round(performance.now() - t0) / 1000, longest_pause_ms: Math.round(longest * 10) / 10, turns };
}

async function phaseQuery(dir: string, k: number, nQueries: number): Promise<void> {
  const db = openStore(path.join(dir, 'kb.sqlite'));
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const leg = new Bm25Leg({ db, dataDir: dir, reloadIntervalMs: 3_600_000 });
  leg.reload();
  const loadS = (performance.now() - t0) / 1000;
  if (leg.status().version === null) throw new Error(`no engine version loaded: ${JSON.stringify(leg.status())}`);
  const rssLoaded = process.memoryUsage().rss;
  const questions = (JSON.parse(fs.readFileSync(path.join(dir, 'queries.json'), 'utf8')) as string[]).slice(0, nQueries);
  const queries = questions.map((q) => [...new Set(analyze(q))]).filter((t) => t.length > 0);
  const scopes: Record<string, DocMaskSpec | null> = {
    unrestricted: null,
    'key [sales]': normalizeFilters(undefined, ['sales']),
    'comment + [sales]': normalizeFilters({ kinds: ['comment'] }, ['sales']),
  };
  const result: Record<string, unknown> = { load_s: loadS, rss_loaded_mib: mib(rssLoaded), rss_delta_mib: mib(rssLoaded - rssBefore), queries: queries.length, k };
  for (const [name, spec] of Object.entries(scopes)) {
    const sql = spec ? toSql(spec) : undefined;
    const eng: number[] = [];
    const fts: number[] = [];
    let engCpu = 0;
    let ftsCpu = 0;
    let decoded = 0;
    let candidates = 0;
    let scored = 0;
    let differing = 0;
    // Warm-up outside the timing (statement cache, first-touch of the file's pages).
    for (const t of queries.slice(0, 10)) {
      leg.search(t, k, spec);
      searchBm25(db, matchAnyTerm(t), k, sql);
    }
    for (const t of queries) {
      const c: SearchCounters = { postings: 0, scored: 0, candidates: 0 };
      let cpu = process.cpuUsage();
      let s = performance.now();
      const e = leg.search(t, k, spec, c);
      eng.push(performance.now() - s);
      cpu = process.cpuUsage(cpu);
      engCpu += cpu.user + cpu.system;
      cpu = process.cpuUsage();
      s = performance.now();
      const x = searchBm25(db, matchAnyTerm(t), k, sql).map((h) => ({ chunkId: h.chunkId, score: h.score }));
      fts.push(performance.now() - s);
      cpu = process.cpuUsage(cpu);
      ftsCpu += cpu.user + cpu.system;
      decoded += c.postings;
      candidates += c.candidates;
      scored += c.scored;
      if (differ(e, x)) differing++;
    }
    result[name] = {
      // cpu_mean: process CPU ms per query — less disturbed than wall time on a shared machine.
      engine: { p50: pct(eng, 0.5), p99: pct(eng, 0.99), mean: Math.round((eng.reduce((a, b) => a + b, 0) / eng.length) * 1000) / 1000, cpu_mean: Math.round(engCpu / queries.length) / 1000 },
      fts5: { p50: pct(fts, 0.5), p99: pct(fts, 0.99), mean: Math.round((fts.reduce((a, b) => a + b, 0) / fts.length) * 1000) / 1000, cpu_mean: Math.round(ftsCpu / queries.length) / 1000 },
      postings_per_query: { engine_decoded: Math.round(decoded / queries.length), fts5_scored: Math.round(candidates / queries.length), share: Math.round((decoded / candidates) * 10000) / 10000 },
      docs_scored_per_query: Math.round(scored / queries.length),
      differing_topk: differing,
    };
  }
  result.peak_rss_mib = peakRssMiB();
  // Last, so its memory does not count in the figures above.
  result.background_load = await measureBackgroundLoad(dir, db);
  console.log(JSON.stringify(result));
}

function phaseRefresh(dir: string, changed: number): void {
  const work = path.join(dir, 'refresh');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work);
  fs.copyFileSync(path.join(dir, 'kb.sqlite'), path.join(work, 'kb.sqlite'));
  const db = openStore(path.join(work, 'kb.sqlite'));
  const v = activeBm25Version(db);
  if (!v) throw new Error('no version to refresh');
  fs.mkdirSync(path.join(work, 'bm25'));
  fs.copyFileSync(path.join(dir, v.file), path.join(work, v.file));
  // 1% of documents change: their chunks are replaced by new ones with an extra sentence's terms,
  // through the BM25 module, exactly as ingest/store-writer.ts does it.
  const docs = db.prepare('SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id').pluck().all() as number[];
  const step = Math.max(1, Math.round(1 / changed));
  const picked = docs.filter((_, i) => i % step === 0);
  const writer = new Bm25Writer(db);
  const chunksOf = db.prepare('SELECT c.id, c.document_id, c.ordinal, c.text, c.embed_text, c.embed_hash, c.start_offset, c.end_offset, c.token_count, f.terms FROM chunks c JOIN chunks_fts f ON f.rowid = c.id WHERE c.document_id = ? AND c.retired_at IS NULL');
  const del = db.prepare('DELETE FROM chunks WHERE id = ?');
  const ins = db.prepare('INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const extra = analyze('Update: the company confirmed the new battery factory in Shanghai. 更新：公司确认在上海新建电池工厂。').join(' ');
  let added = 0;
  const tw = performance.now();
  db.transaction(() => {
    for (const d of picked) {
      for (const c of chunksOf.all(d) as Record<string, string | number>[]) {
        writer.remove(c.id as number);
        del.run(c.id);
        const id = Number(ins.run(c.document_id, c.ordinal, c.text, c.embed_text, c.embed_hash, c.start_offset, c.end_offset, c.token_count).lastInsertRowid);
        writer.add(id, `${c.terms} ${extra}`);
        added++;
      }
    }
  })();
  const writeS = (performance.now() - tw) / 1000;
  // An added segment: only the new chunks (what a segment-based refresh would write).
  const ts = performance.now();
  const seg = new Bm25Builder();
  const rows = db
    .prepare(`SELECT c.id, f.terms, d.id, d.kind, d.published_at, d.source, d.tags, d.acl_groups FROM chunks_fts f JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id WHERE c.id > ? ORDER BY f.rowid`)
    .raw(true);
  for (const r of rows.iterate(v.max_chunk_id) as Iterable<[number, string, number, string, string | null, string, string, string]>) {
    seg.add({ chunkId: r[0], terms: r[1], docId: r[2], kind: r[3], publishedAt: r[4], source: r[5], tags: r[6], aclGroups: r[7] });
  }
  const segFile = path.join(work, 'segment.bm25');
  const fd = fs.openSync(segFile, 'w');
  const segStats = seg.writeTo(fd);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const segmentS = (performance.now() - ts) / 1000;
  const full = syncBm25Index(db, work, { keep: 1 });
  console.log(
    JSON.stringify({
      changed_docs: picked.length,
      replaced_chunks: added,
      store_write_s: writeS,
      full_rebuild_s: full.seconds,
      full_rebuild_reason: full.reason,
      segment_s: segmentS,
      segment_docs: segStats.docs,
      segment_bytes: segStats.bytes,
      peak_rss_mib: peakRssMiB(),
    }),
  );
  db.close();
  fs.rmSync(work, { recursive: true, force: true });
}

/**
 * A larger corpus from a generated one without re-running the analyzer (the expensive part):
 * `times` copies of every document; in copies after the first each term is dropped with
 * probability `drop`, so copies are near-duplicates with their own scores (exact copies would tie
 * and make the top-k threshold unrealistically easy to reach).
 */
function replicate(srcDir: string, dir: string, times: number, drop: number, seed: number): number {
  const src = openStore(path.join(srcDir, 'kb.sqlite'), { readonly: true });
  const db = openStore(path.join(dir, 'kb.sqlite'));
  const rows = src
    .prepare(
      `SELECT d.id, d.source, d.kind, d.title, d.published_at, d.tags, d.acl_groups, f.terms
         FROM chunks c JOIN documents d ON d.id = c.document_id JOIN chunks_fts f ON f.rowid = c.id
        WHERE c.retired_at IS NULL AND d.deleted_at IS NULL ORDER BY d.id, c.id`,
    )
    .raw(true)
    .all() as [number, string, string, string, string | null, string, string, string][];
  for (const s of src.prepare('SELECT name, type, path, mode FROM sources').all() as Record<string, string>[]) {
    db.prepare('INSERT OR IGNORE INTO sources (name, type, path, mode) VALUES (?, ?, ?, ?)').run(s.name, s.type, s.path, s.mode);
  }
  src.close();
  const insDoc = db.prepare(
    `INSERT INTO documents (source, external_id, kind, title, body, published_at, tags, acl_groups, content_hash, text_hash, first_seen, last_seen)
     VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, 'now', 'now')`,
  );
  const insChunk = db.prepare(`INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count) VALUES (?, ?, '', '', ?, 0, 0, 0)`);
  const writer = new Bm25Writer(db);
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let chunks = 0;
  for (let copy = 0; copy < times; copy++) {
    db.transaction(() => {
      let lastDoc = -1;
      let docId = 0;
      let ordinal = 0;
      for (const [origDoc, source, kind, title, published, tags, acl, terms] of rows) {
        if (origDoc !== lastDoc) {
          lastDoc = origDoc;
          const ext = `${origDoc}-${copy}`;
          docId = Number(insDoc.run(source, ext, kind, title, published, tags, acl, ext, ext).lastInsertRowid);
          ordinal = 0;
        }
        const kept = copy === 0 ? terms : terms.split(' ').filter(() => rnd() >= drop).join(' ');
        const id = Number(insChunk.run(docId, ordinal++, `${docId}:${ordinal}`).lastInsertRowid);
        writer.add(id, kept);
        chunks++;
      }
    })();
  }
  db.close();
  fs.copyFileSync(path.join(srcDir, 'queries.json'), path.join(dir, 'queries.json'));
  return chunks;
}

async function main(): Promise<void> {
  const phase = f.get('phase');
  if (phase) {
    const dir = f.get('dir')!;
    if (phase === 'build') return phaseBuild(dir);
    if (phase === 'query') return phaseQuery(dir, num('k', 10), num('queries', 300));
    if (phase === 'refresh') return phaseRefresh(dir, num('changed', 0.01));
    throw new Error(`unknown phase ${phase}`);
  }
  const chunks = num('chunks', 100_000);
  const times = num('replicate', 1);
  const dir = path.resolve(f.get('out') ?? 'bench/out', times > 1 ? `bm25-${chunks}x${times}` : `bm25-${chunks}`);
  const storeFile = path.join(dir, 'kb.sqlite');
  console.log(`bm25 bench: ${chunks}${times > 1 ? ` × ${times} (replicated)` : ''} chunks, node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (times > 1 && !fs.existsSync(path.join(dir, 'queries.json'))) {
    // --chunks N --replicate T: T near-duplicate copies of the cached N-chunk corpus (build that first).
    const srcDir = path.resolve(f.get('out') ?? 'bench/out', `bm25-${chunks}`);
    if (!fs.existsSync(path.join(srcDir, 'queries.json'))) throw new Error(`run --chunks ${chunks} first: ${srcDir} is the corpus to replicate`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const t = performance.now();
    const n = replicate(srcDir, dir, times, num('drop', 0.2), num('seed', 42));
    console.log(`corpus: ${n} chunks (${times} copies of ${srcDir}, ${num('drop', 0.2) * 100}% of terms dropped per later copy) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  } else if (!fs.existsSync(path.join(dir, 'queries.json'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const stats = buildTextCorpus({ chunks, storeFile, seed: num('seed', 42), log: (m) => console.log(`  ${m}`) });
    fs.writeFileSync(path.join(dir, 'queries.json'), JSON.stringify(stats.queries));
    console.log(`corpus: ${stats.chunks} chunks in ${stats.documents} documents, text ${stats.text_seconds.toFixed(0)} s`);
  }
  const build = child('build', dir);
  const ftsBytes = (() => {
    const db = openStore(storeFile, { readonly: true });
    try {
      return db.prepare("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'chunks_fts%'").pluck().get() as number | null;
    } catch {
      return null; // dbstat not compiled in
    } finally {
      db.close();
    }
  })();
  console.log(`build: ${build.docs} chunks, ${build.terms} terms, ${build.postings} postings in ${(build.seconds as number).toFixed(1)} s; file ${mib(build.bytes as number)} MiB (FTS5 tables ${ftsBytes === null ? 'n/a' : `${mib(ftsBytes)} MiB`}); peak RSS ${build.peak_rss_mib} MiB`);
  const q = child('query', dir, ['--k', String(num('k', 10)), '--queries', String(num('queries', 300))]);
  const bg = q.background_load as { seconds: number; longest_pause_ms: number };
  console.log(`query: version loaded + verified in ${(q.load_s as number).toFixed(2)} s (a server's background load: ${bg.seconds.toFixed(2)} s, event loop held ≤ ${bg.longest_pause_ms} ms at a time), RSS ${q.rss_loaded_mib} MiB (+${q.rss_delta_mib} MiB for the index), peak ${q.peak_rss_mib} MiB; ${q.queries} queries, top-${q.k}`);
  console.log('scope                 engine p50 / p99 ms (CPU mean)   FTS5 p50 / p99 ms (CPU mean)   postings engine / FTS5 (share)   differing top-k');
  for (const scope of ['unrestricted', 'key [sales]', 'comment + [sales]']) {
    const r = q[scope] as { engine: { p50: number; p99: number; cpu_mean: number }; fts5: { p50: number; p99: number; cpu_mean: number }; postings_per_query: { engine_decoded: number; fts5_scored: number; share: number }; differing_topk: number };
    console.log(
      `${scope.padEnd(20)}  ${`${r.engine.p50} / ${r.engine.p99} (${r.engine.cpu_mean})`.padEnd(31)}  ${`${r.fts5.p50} / ${r.fts5.p99} (${r.fts5.cpu_mean})`.padEnd(29)}  ${`${r.postings_per_query.engine_decoded} / ${r.postings_per_query.fts5_scored} (${(r.postings_per_query.share * 100).toFixed(1)}%)`.padEnd(31)}  ${r.differing_topk}`,
    );
  }
  let refresh: Record<string, unknown> | null = null;
  if (!f.has('skip-refresh')) {
    refresh = child('refresh', dir, ['--changed', String(num('changed', 0.01))]);
    console.log(
      `refresh (${refresh.changed_docs} documents, ${refresh.replaced_chunks} chunks replaced): full rebuild ${(refresh.full_rebuild_s as number).toFixed(1)} s vs segment of the new chunks ${(refresh.segment_s as number).toFixed(2)} s (${mib(refresh.segment_bytes as number)} MiB)`,
    );
  }
  console.log(JSON.stringify({ bench: 'bm25', chunks, load: os.loadavg(), build, fts5_bytes: ftsBytes, query: q, refresh }));
}

await main();
