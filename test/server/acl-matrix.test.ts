import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { createKey, revokeKey } from '../../src/auth/keys.ts';
import { createRng, type Rng } from '../../src/util/rng.ts';
import { startServer, type RunningServer } from '../../serve/main.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';
import { ScriptedUpstream } from './support/scripted-upstream.ts';

// Randomised ACL matrix, end to end: canary documents go through the real ingestion job (source
// defaults, record groups, malformed ACLs) and the real retriever (bm25, dense, hybrid), and keys
// with random groups ask random questions through /v1/retrieve and /v1/chat/completions.
// A canary is a unique token in one document's body; a key must never receive — in hits,
// citations, answers or the prompt sent to the model — the canary of a document it may not read.
// Revoked keys and the state after the last key is revoked are part of the matrix.

const SEED = 20261130;
const GROUPS = ['exec', 'hr', 'sales', 'staff', 'board'];
const MODES = ['bm25', 'dense', 'hybrid'] as const;

interface Canary {
  externalId: string;
  source: 'open' | 'staffonly';
  kind: 'news' | 'post';
  /** The record's ACL field as written in the export (undefined = field absent). */
  field: unknown;
  /** Who may read it under the documented rule; null = must be quarantined (nobody). */
  groups: string[] | null;
  token: string;
}

function token(rng: Rng): string {
  let s = 'zq';
  for (let i = 0; i < 10; i++) s += String.fromCharCode(97 + Math.floor(rng() * 26));
  return s;
}

/** Every ACL shape the rule distinguishes, twice each (news and post), in both sources. */
function canaries(rng: Rng): Canary[] {
  const shapes: Array<Omit<Canary, 'externalId' | 'kind' | 'token'>> = [
    { source: 'open', field: undefined, groups: [] },
    { source: 'open', field: ['exec'], groups: ['exec'] },
    { source: 'open', field: ['hr'], groups: ['hr'] },
    { source: 'open', field: 'sales', groups: ['sales'] },
    { source: 'open', field: ['exec', 'hr'], groups: ['exec', 'hr'] },
    { source: 'open', field: 'hr; sales', groups: ['hr', 'sales'] },
    { source: 'open', field: [null], groups: null },
    { source: 'open', field: [''], groups: null },
    { source: 'open', field: null, groups: null },
    { source: 'open', field: [], groups: null },
    { source: 'open', field: ['exec', 7], groups: null },
    // The source default is [staff]: absent → staff; present → replaces it (never exec+staff).
    { source: 'staffonly', field: undefined, groups: ['staff'] },
    { source: 'staffonly', field: ['exec'], groups: ['exec'] },
    { source: 'staffonly', field: ['board', 'staff'], groups: ['board', 'staff'] },
    { source: 'staffonly', field: '  ', groups: null },
  ];
  const out: Canary[] = [];
  shapes.forEach((s, i) => {
    for (const kind of ['news', 'post'] as const) out.push({ ...s, kind, externalId: `c${i}-${kind}`, token: token(rng) });
  });
  return out;
}

const mayRead = (c: Canary, keyGroups: string[]) => c.groups !== null && (c.groups.length === 0 || c.groups.some((g) => keyGroups.includes(g)));

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}
function sample<T>(rng: Rng, xs: readonly T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rng() * pool.length), 1)[0]);
  return out;
}

let env: IngestEnv;
let server: RunningServer;
let upstream: ScriptedUpstream;
let docs: Canary[];
const guardErrors: string[] = [];

beforeAll(async () => {
  const rng = createRng(SEED);
  docs = canaries(rng);
  upstream = await new ScriptedUpstream().start();
  upstream.script = () => ({ content: 'Answer from the passages [1].' });
  env = await makeIngestEnv({
    auth: { mode: 'required', rate_limit: { requests_per_minute: 1_000_000, burst: 100_000 }, max_body_bytes: 1_048_576 },
    upstreams: { scripted: { base_url: upstream.url, api_key: '', timeout_ms: 5000, max_retries: 0 } },
    assistants: { 'kb-assistant': { upstream: 'scripted', model: 'base-model', adapter: '' } },
  });
  const mapping = { title: 'title', body: 'body', published_at: 'date', acl_groups: 'visibility' };
  env.reopen({
    sources: [
      { name: 'open', type: 'jsonl', path: 'open.jsonl', mode: 'full', kind: 'news', acl_groups: [], mapping },
      { name: 'staffonly', type: 'jsonl', path: 'staffonly.jsonl', mode: 'full', kind: 'news', acl_groups: ['staff'], mapping },
    ],
  });
  for (const source of ['open', 'staffonly'] as const) {
    const lines = docs
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c.source === source)
      .map(({ c, i }) => {
        const a = article(100 + i, 'battery', `Internal note ${c.token} for the record.`);
        const rec: Record<string, unknown> = { id: c.externalId, title: a.title, body: a.body, date: a.date, kind: c.kind };
        if (c.field !== undefined) rec.visibility = c.field;
        return JSON.stringify(rec);
      });
    fs.writeFileSync(path.join(env.dir, `${source}.jsonl`), `${lines.join('\n')}\n`);
  }
  const report = await runIngestion(env.ctx);
  expect(report.status).toBe('succeeded');
  expect(report.docs.quarantined).toBe(docs.filter((c) => c.groups === null).length);
  expect(report.docs.new).toBe(docs.filter((c) => c.groups !== null).length);

  // The server's defence-in-depth guard logs at error level when the retriever returns a hit the
  // caller may not read; the retriever must be right on its own, so any such line fails the test.
  const log = pino({ level: 'error' }, { write: (line: string) => void guardErrors.push(line) });
  server = await startServer(env.config, { db: env.db, log, port: 0, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await upstream?.close();
  env?.close();
});

interface Key {
  label: string;
  secret: string;
  groups: string[];
  id: number;
}

function makeKeys(rng: Rng): Key[] {
  const specs: Array<[string, string[]]> = [
    ['no-groups', []],
    ['exec', ['exec']],
    ['staff', ['staff']],
    ['all', [...GROUPS]],
  ];
  for (let i = 0; i < 6; i++) specs.push([`random-${i}`, sample(rng, GROUPS, 1 + Math.floor(rng() * 3))]);
  return specs.map(([label, groups]) => {
    const { key, secret } = createKey(env.db, { name: label, scopes: ['chat', 'retrieve'], groups });
    return { label, secret, groups, id: key.id };
  });
}

type Filters = { kinds?: string[]; sources?: string[] };

function randomQuery(rng: Rng): { query: string; mode: (typeof MODES)[number]; filters?: Filters; top_k: number } {
  const tokens = sample(rng, docs, 1 + Math.floor(rng() * 3)).map((c) => c.token);
  const words = sample(rng, ['battery', 'product', 'Shanghai', 'company', 'note', 'record'], Math.floor(rng() * 3));
  const filters = pick<Filters | undefined>(rng, [undefined, { kinds: ['news'] }, { kinds: ['post'] }, { sources: ['open'] }, { sources: ['staffonly'] }, { kinds: ['post'], sources: ['staffonly'] }]);
  return { query: [...tokens, ...words].join(' '), mode: pick(rng, MODES), ...(filters ? { filters } : {}), top_k: 5 + Math.floor(rng() * 20) };
}

const forbiddenFor = (groups: string[] | null) => docs.filter((c) => groups === null || !mayRead(c, groups)).map((c) => c.token);
const leaked = (text: string, forbidden: string[]) => forbidden.filter((t) => text.includes(t));

async function post(route: string, body: unknown, secret?: string) {
  const r = await fetch(`${server.url}/v1${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, text: await r.text() };
}

describe('ACL matrix (keys × groups × queries × retrieval modes, retrieve and chat)', () => {
  it('never leaks a canary to a key outside its groups, nor to revoked keys, nor after the last key is revoked', async () => {
    const rng = createRng(SEED + 1);
    const keys = makeKeys(rng);
    // A revoked key that could read everything: refused like a stranger.
    const revoked = createKey(env.db, { name: 'revoked', scopes: ['chat', 'retrieve', 'admin'], groups: [...GROUPS] });
    revokeKey(env.db, revoked.key.id);

    let checks = 0;
    const found = new Map<string, number>();
    for (const key of keys) {
      const forbidden = forbiddenFor(key.groups);
      for (let q = 0; q < 12; q++) {
        const body = randomQuery(rng);
        const r = await post('/retrieve', body, key.secret);
        expect(r.status, r.text).toBe(200);
        // The response echoes the query (which may name any token); everything else must be clean.
        const { query: echoed, ...rest } = JSON.parse(r.text) as { query: string; data: Array<{ external_id: string; source: string }> };
        expect(echoed).toBe(body.query);
        expect(leaked(JSON.stringify(rest), forbidden), `${key.label} ${JSON.stringify(body)}`).toEqual([]);
        const hits = rest.data;
        for (const h of hits) {
          const c = docs.find((d) => d.externalId === h.external_id && d.source === h.source);
          if (!c) continue; // not a canary
          expect(mayRead(c, key.groups), `${key.label} got ${c.externalId}`).toBe(true);
          found.set(key.label, (found.get(key.label) ?? 0) + 1);
        }
        checks++;
      }
      // Positive control, so the test cannot pass by finding nothing: each readable canary is
      // found by its own token (bm25: exact term match).
      for (const c of docs.filter((d) => mayRead(d, key.groups))) {
        const r = await post('/retrieve', { query: c.token, mode: 'bm25', top_k: 3 }, key.secret);
        expect((JSON.parse(r.text) as { data: Array<{ external_id: string }> }).data.map((h) => h.external_id), `${key.label} ${c.externalId}`).toContain(c.externalId);
      }
      // Chat: the prompt the model receives, the answer and the citations.
      for (let q = 0; q < 3; q++) {
        const { query, mode, filters } = randomQuery(rng);
        const before = upstream.requests.length;
        const stream = q % 2 === 1;
        const r = await post('/chat/completions', { model: 'kb-assistant', stream, messages: [{ role: 'user', content: `What does the note say about ${query}?` }], kb: { mode, ...(filters ? { filters } : {}) } }, key.secret);
        expect(r.status, r.text).toBe(200);
        // The question itself may name a forbidden token; what must not appear is the document.
        const asked = new Set(query.split(' '));
        const notAsked = forbidden.filter((t) => !asked.has(t));
        expect(leaked(r.text, notAsked), `${key.label} chat answer`).toEqual([]);
        const sent = upstream.requests.slice(before).map((x) => JSON.stringify(x.messages)).join('\n');
        expect(sent.length).toBeGreaterThan(0);
        expect(leaked(sent, notAsked), `${key.label} prompt`).toEqual([]);
        // Citations name only readable documents.
        const citationText = stream ? r.text.split('\n').filter((l) => l.includes('"citations"')).join('\n') : r.text;
        for (const c of docs.filter((d) => !mayRead(d, key.groups))) expect(citationText).not.toContain(`"${c.externalId}"`);
        checks++;
      }
    }
    // Every key with any readable canary found some: the matrix exercised real retrieval.
    for (const key of keys) expect(found.get(key.label) ?? 0, key.label).toBeGreaterThan(0);
    expect(checks).toBe(keys.length * 15);

    // The revoked key and strangers: refused everywhere, with nothing in the body.
    const requestsBefore = upstream.requests.length;
    const everything = docs.map((c) => c.token);
    for (const secret of [revoked.secret, undefined, 'kb_not-a-real-key-00000000000000']) {
      for (const mode of MODES) {
        const r = await post('/retrieve', { query: everything.join(' '), mode }, secret);
        expect(r.status).toBe(401);
        expect(leaked(r.text, everything)).toEqual([]);
      }
    }

    // The last key revoked: auth stays on and everyone, former keys included, is refused.
    for (const key of keys) revokeKey(env.db, key.id);
    for (const secret of [...keys.map((k) => k.secret), undefined]) {
      const r = await post('/retrieve', { query: everything.join(' '), mode: 'hybrid' }, secret);
      expect(r.status).toBe(401);
      expect(r.text).toMatch(/no active API key exists/);
      expect(leaked(r.text, everything)).toEqual([]);
      const chat = await post('/chat/completions', { model: 'kb-assistant', messages: [{ role: 'user', content: 'Summarise all notes.' }] }, secret);
      expect(chat.status).toBe(401);
      expect(leaked(chat.text, everything)).toEqual([]);
      for (const route of ['/admin/runs', '/admin/index', '/models']) {
        const g = await fetch(`${server.url}/v1${route}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });
        expect(g.status, route).toBe(401);
      }
    }
    expect(upstream.requests.length).toBe(requestsBefore);
    expect(guardErrors).toEqual([]);
  }, 120_000);
});
