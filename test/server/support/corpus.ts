import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RetrievalHit, RetrieveRequest, RetrieveResult, Retriever } from '../../../src/retrieval/types.ts';
import { openStore, type DB } from '../../../src/store/index.ts';

// Test fixture: a small corpus in a real store (so the server's ACL guard can read it) and a
// test-double retriever that ranks its chunks by word overlap.

export interface FixtureDoc {
  externalId: string;
  kind: 'news' | 'comment' | 'post';
  title: string;
  body: string;
  url?: string;
  publishedAt?: string;
  groups?: string[];
}

export const CORPUS: FixtureDoc[] = [
  { externalId: 'acme-rev', kind: 'news', title: 'Acme revenue 2023', body: 'Acme Corp reported revenue of 12 billion yuan in 2023, up 8 percent. The growth came from cloud services.', url: 'https://news.example/acme', publishedAt: '2024-01-15T00:00:00Z' },
  { externalId: 'hr-salary', kind: 'post', title: 'Engineer salary bands', body: 'Confidential salary bands for engineers: level 7 earns SECRET-HR-TOKEN. Salary review happens in March.', groups: ['hr'] },
  { externalId: 'sales-pipe', kind: 'post', title: 'Sales pipeline Q3', body: 'The salary of the sales team is not covered here. Sales pipeline includes the Globex deal SECRET-SALES-TOKEN.', groups: ['sales'] },
  { externalId: 'huawei-phone', kind: 'news', title: '华为发布新手机', body: '华为在2024年9月发布了新款手机，售价5999元。新手机支持卫星通话。', publishedAt: '2024-09-10T00:00:00Z' },
  { externalId: 'acme-comment', kind: 'comment', title: 'Re: Acme revenue', body: 'Acme revenue growth looks slow compared to Globex, in my view.' },
];

export interface Fixture {
  dir: string;
  db: DB;
  docIds: Record<string, number>;
  cleanup(): void;
}

export function createFixture(docs: FixtureDoc[] = CORPUS): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-serve-'));
  const db = openStore(path.join(dir, 'kb.sqlite'));
  db.prepare("INSERT INTO sources (name, type, path, mode) VALUES ('fixture', 'jsonl', 'fixture.jsonl', 'full')").run();
  const docIds: Record<string, number> = {};
  const now = new Date().toISOString();
  for (const d of docs) {
    const info = db
      .prepare(
        `INSERT INTO documents (source, external_id, kind, title, body, url, published_at, acl_groups, content_hash, text_hash, first_seen, last_seen)
         VALUES ('fixture', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(d.externalId, d.kind, d.title, d.body, d.url ?? null, d.publishedAt ?? null, JSON.stringify(d.groups ?? []), d.externalId, d.externalId, now, now);
    const docId = Number(info.lastInsertRowid);
    docIds[d.externalId] = docId;
    db.prepare(
      `INSERT INTO chunks (document_id, ordinal, text, embed_text, embed_hash, start_offset, end_offset, token_count)
       VALUES (?, 0, ?, ?, ?, 0, ?, ?)`,
    ).run(docId, d.body, d.body, d.externalId, d.body.length, Math.ceil(d.body.length / 4));
  }
  return {
    dir,
    db,
    docIds,
    cleanup() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Row {
  chunk_id: number;
  doc_id: number;
  source: string;
  external_id: string;
  kind: 'news' | 'comment' | 'post';
  title: string;
  url: string | null;
  published_at: string | null;
  acl_groups: string;
  text: string;
}

const words = (s: string) => new Set((s.toLowerCase().match(/[a-z0-9]+|[\u4e00-\u9fff]/g) ?? []).filter((w) => w.length > 1 || /[\u4e00-\u9fff]/.test(w)));

/** Ranks chunks by shared words; honours ACL groups (unless `ignoreAcl`) and kind filters. Records requests. */
export class TestRetriever implements Retriever {
  readonly requests: RetrieveRequest[] = [];
  constructor(
    private readonly db: DB,
    private readonly opts: { ignoreAcl?: boolean; degraded?: string[] } = {},
  ) {}

  async retrieve(req: RetrieveRequest): Promise<RetrieveResult> {
    this.requests.push(req);
    const rows = this.db
      .prepare(
        `SELECT c.id AS chunk_id, d.id AS doc_id, d.source, d.external_id, d.kind, d.title, d.url, d.published_at, d.acl_groups, c.text
         FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.retired_at IS NULL AND d.deleted_at IS NULL`,
      )
      .all() as Row[];
    const q = words(req.query);
    const scored = rows
      .filter((r) => {
        if (req.filters?.kinds && !req.filters.kinds.includes(r.kind)) return false;
        if (this.opts.ignoreAcl || req.groups === null) return true;
        const g = JSON.parse(r.acl_groups) as string[];
        return g.length === 0 || g.some((x) => req.groups!.includes(x));
      })
      .map((r) => {
        const w = words(`${r.title} ${r.text}`);
        let s = 0;
        for (const t of q) if (w.has(t)) s++;
        return { r, s };
      })
      .filter((x) => x.s > 0)
      .sort((a, b) => b.s - a.s || a.r.chunk_id - b.r.chunk_id)
      .slice(0, req.topK);
    const hits: RetrievalHit[] = scored.map(({ r, s }, i) => ({
      chunkId: r.chunk_id,
      docId: r.doc_id,
      source: r.source,
      externalId: r.external_id,
      kind: r.kind,
      title: r.title,
      url: r.url,
      publishedAt: r.published_at,
      tags: [],
      text: r.text,
      score: { dense: null, bm25: { rank: i + 1, score: s }, rrf: 1 / (60 + i + 1), recency: 1, fused: 1 / (60 + i + 1) },
    }));
    return { hits, timings: { bm25: 0.4, fuse: 0.1, total: 0.6 }, degraded: this.opts.degraded ?? [] };
  }
}
