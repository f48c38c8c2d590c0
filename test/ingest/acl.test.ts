import { afterEach, describe, expect, it } from 'vitest';
import { runIngestion } from '../../ingest/pipeline.ts';
import { listQuarantine } from '../../ingest/quarantine.ts';
import { article, makeIngestEnv, type IngestEnv } from '../helpers/ingest-env.ts';

// ACLs through the whole ingestion job: what is stored is exactly what the record states (or the
// source default when it states nothing), and an unreadable ACL never leaves a document readable.

let env: IngestEnv | null = null;
afterEach(() => env?.close());

const NO_MODEL = { embedding: { provider: 'local', model: 'absent/model', allow_remote: false } };
const stored = (e: IngestEnv) =>
  Object.fromEntries(
    (e.db.prepare('SELECT external_id, acl_groups FROM documents WHERE deleted_at IS NULL ORDER BY external_id').all() as Array<{ external_id: string; acl_groups: string }>).map((r) => [
      r.external_id,
      JSON.parse(r.acl_groups) as string[],
    ]),
  );

async function envWith(mode: 'full' | 'append', defaults: string[]) {
  const e = await makeIngestEnv(NO_MODEL, { model: false });
  e.reopen({
    sources: [{ name: 'news', type: 'jsonl', path: 'news.jsonl', mode, kind: 'news', acl_groups: defaults, mapping: { title: 'title', body: 'body', published_at: 'date', acl_groups: 'visibility' } }],
  });
  return e;
}

describe('ACL groups in ingestion', () => {
  it('stores a record\'s own groups instead of merging them with the source default', async () => {
    env = await envWith('full', ['hr']);
    env.writeSource([{ ...article(1), visibility: ['exec'] } as never, article(2)]);
    const r = await runIngestion(env.ctx);
    expect(r.docs.new).toBe(2);
    expect(stored(env)).toEqual({ 'n-1': ['exec'], 'n-2': ['hr'] });
  });

  for (const mode of ['full', 'append'] as const) {
    it(`quarantines present-but-invalid ACLs and withdraws the stored version (${mode} mode)`, async () => {
      env = await envWith(mode, []);
      const docs = [1, 2, 3, 4, 5].map((n) => ({ ...article(n), visibility: ['exec'] }) as never);
      env.writeSource(docs);
      await runIngestion(env.ctx);
      expect(Object.keys(stored(env))).toHaveLength(5);

      // The next export breaks the ACL of three records in different ways; the source default is public.
      env.writeSource([{ ...article(1), visibility: [null] }, { ...article(2), visibility: [''] }, { ...article(3), visibility: null }, docs[3], docs[4]] as never[]);
      const r = await runIngestion(env.ctx);
      expect(r.docs.quarantined).toBe(3);
      expect(r.warnings.filter((w) => w.includes('withdrawn'))).toHaveLength(3);
      // Withdrawn even though 3 of 5 exceeds ingest.max_delete_ratio: a stale ACL must not serve.
      expect(stored(env)).toEqual({ 'n-4': ['exec'], 'n-5': ['exec'] });
      const q = listQuarantine(env.db, { runId: r.run_id, reason: 'invalid_acl' });
      expect(q.map((x) => x.detail).join('\n')).toMatch(/value: \[null\]/);
      expect(q.map((x) => x.detail).join('\n')).toMatch(/value: \[""\]/);
      expect(q.map((x) => x.detail).join('\n')).toMatch(/value: null/);
      // No chunk of a withdrawn document is left searchable.
      const live = env.db.prepare("SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.retired_at IS NULL AND d.external_id IN ('n-1','n-2','n-3')").pluck().get();
      expect(live).toBe(0);

      // Fixed in the following export: the record comes back with the groups it states.
      env.writeSource([{ ...article(1), visibility: ['exec'] }, docs[3], docs[4]] as never[]);
      await runIngestion(env.ctx);
      expect(stored(env)['n-1']).toEqual(['exec']);
    });
  }
});
