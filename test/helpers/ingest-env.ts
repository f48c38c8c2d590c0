import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { openStore, type DB } from '../../src/store/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { HnswIndex } from '../../src/vector/hnsw.ts';
import { activeVersion } from '../../src/vector/versions.ts';
import { activeBm25Version, bm25Pending } from '../../src/bm25/versions.ts';
import { Bm25Segment } from '../../src/bm25/segment.ts';
import { buildTinyModel } from '../fixtures/tiny-model/build.ts';

// A throw-away data folder with the tiny ONNX model, a JSONL source and an open store.

export interface NewsRecord {
  id: string;
  title: string;
  body: string;
  date?: string;
  tags?: string[];
  groups?: string[];
  kind?: string;
}

export interface IngestEnv {
  dir: string;
  config: Config;
  db: DB;
  ctx: { config: Config; db: DB; log: typeof silentLogger };
  sourceFile: string;
  writeSource(records: (NewsRecord | string)[]): void;
  reopen(overrides?: Record<string, unknown>): void;
  close(): void;
}

export async function makeIngestEnv(overrides: Record<string, unknown> = {}, opts: { model?: boolean } = {}): Promise<IngestEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-ingest-'));
  if (opts.model !== false) await buildTinyModel(path.join(dir, 'models', 'tiny', 'e5'), { fullCjk: true });
  const sourceFile = path.join(dir, 'news.jsonl');
  const base = {
    data_dir: dir,
    sources: [
      {
        name: 'news',
        type: 'jsonl',
        path: 'news.jsonl',
        mode: 'full',
        kind: 'news',
        mapping: { title: 'title', body: 'body', published_at: 'date', acl_groups: 'groups' },
      },
    ],
    embedding: { provider: 'local', model: 'tiny/e5', allow_remote: false },
    chunking: { target_tokens: 60, max_tokens: 100, overlap_tokens: 10 },
    cleaning: { min_chars: 10 },
  };
  const build = (extra: Record<string, unknown>) => loadConfig({ env: {}, overrides: { ...base, ...overrides, ...extra } });
  const env: IngestEnv = {
    dir,
    config: build({}),
    db: undefined as unknown as DB,
    ctx: undefined as unknown as IngestEnv['ctx'],
    sourceFile,
    writeSource(records) {
      fs.writeFileSync(sourceFile, records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
    },
    reopen(extra = {}) {
      env.db?.close();
      env.config = build(extra);
      env.db = openStore(path.join(dir, 'kb.sqlite'));
      env.ctx = { config: env.config, db: env.db, log: silentLogger };
    },
    close() {
      env.db?.close();
    },
  };
  env.reopen();
  return env;
}

const ids = (db: DB, sql: string) => new Set(db.prepare(sql).pluck().all() as number[]);

/**
 * The store's consistency contract: BM25 (FTS5, and the engine's active version after a completed run) holds exactly the live chunks, every live chunk belongs
 * to a live document, and the active HNSW file holds exactly the chunks labelled in SQLite.
 */
export function expectConsistent(env: IngestEnv, { allEmbedded = true, bm25Current = undefined as boolean | undefined } = {}): void {
  bm25Current ??= allEmbedded;
  const { db } = env;
  const live = ids(db, 'SELECT id FROM chunks WHERE retired_at IS NULL');
  expect(ids(db, 'SELECT rowid FROM chunks_fts')).toEqual(live);
  if (bm25Current) {
    // After a completed run the active BM25 engine file holds exactly the live chunks.
    const v = activeBm25Version(db);
    expect(v).not.toBeNull();
    expect(bm25Pending(db)).toEqual({ added: 0, removed: 0 });
    const seg = new Bm25Segment(fs.readFileSync(path.join(env.dir, v!.file)));
    expect(new Set(seg.docChunk)).toEqual(live);
  }
  const orphans = db
    .prepare('SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.retired_at IS NULL AND d.deleted_at IS NOT NULL')
    .pluck()
    .get();
  expect(orphans).toBe(0);
  const labelled = ids(db, 'SELECT id FROM chunks WHERE vector_label IS NOT NULL');
  const active = activeVersion(db);
  if (active) {
    const index = HnswIndex.load(path.join(env.dir, active.file), active.dim);
    expect(new Set(index.liveLabels())).toEqual(labelled);
  } else {
    expect(labelled.size).toBe(0);
  }
  if (allEmbedded) expect(labelled).toEqual(live);
}

const WORDS = 'apple banana cherry orange grape market price revenue profit growth sales quarter chip cloud data model phone bank fund investor exhibition conference expo summit event launch city weather football stock trade team player score'.split(' ');

/** Articles with distinct vocabulary (no two are near duplicates), so tests can search for them. */
export function article(n: number, topic = 'battery', extra = ''): NewsRecord {
  const w = (k: number) => WORDS[(n * 7 + k * 13) % WORDS.length];
  const filler = Array.from({ length: 12 }, (_, k) => `${w(k)} ${w(k + 5)} ${n * 31 + k}`).join(', ');
  return {
    id: `n-${n}`,
    title: `Company ${n} ${topic} news`,
    body: `The company number ${n} launched a new ${topic} product in Shanghai this week. ${extra}\n\nAnalysts listed ${filler}. Reference code ${n * 7919}.`,
    date: `2026-0${(n % 9) + 1}-1${n % 9}`,
  };
}
