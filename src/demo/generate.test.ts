import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceSchema } from '../config/schema.ts';
import { openSource } from '../../ingest/sources/index.ts';
import type { SourceItem } from '../../ingest/sources/types.ts';
import { demoCorpusPlan, demoSourceConfigs, demoSourceDefinitions, generateDemoCorpus, type DemoCorpusSummary } from './generate.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-gen-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every file under dir, relative path → bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.set(r, fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return out;
}

async function readAll(outDir: string) {
  const bySource = new Map<string, SourceItem[]>();
  for (const s of demoSourceConfigs(outDir)) {
    const items: SourceItem[] = [];
    for await (const item of openSource(s, '/unused').read()) items.push(item);
    bySource.set(s.name, items);
  }
  return bySource;
}

describe('generateDemoCorpus', () => {
  const DOCS = 300;
  let a: DemoCorpusSummary;
  beforeAll(async () => {
    a = await generateDemoCorpus({ docs: DOCS, seed: 7, outDir: path.join(root, 'a') });
    await generateDemoCorpus({ docs: DOCS, seed: 7, outDir: path.join(root, 'b') });
    await generateDemoCorpus({ docs: DOCS, seed: 8, outDir: path.join(root, 'c') });
  });

  it('is byte-identical for the same seed and docs, and differs for another seed', () => {
    const sa = snapshot(path.join(root, 'a'));
    const sb = snapshot(path.join(root, 'b'));
    expect([...sa.keys()].sort()).toEqual([...sb.keys()].sort());
    for (const [k, v] of sa) expect(v.equals(sb.get(k)!), k).toBe(true);
    const sc = snapshot(path.join(root, 'c'));
    expect(sa.get('news.jsonl')!.equals(sc.get('news.jsonl')!)).toBe(false);
    expect(sa.get('comments.csv')!.equals(sc.get('comments.csv')!)).toBe(false);
  });

  it('regenerating into the same folder replaces the corpus (no stale posts)', async () => {
    const dir = path.join(root, 'regen');
    await generateDemoCorpus({ docs: 200, seed: 7, outDir: dir });
    await generateDemoCorpus({ docs: 40, seed: 7, outDir: dir });
    await generateDemoCorpus({ docs: 40, seed: 7, outDir: path.join(root, 'fresh') });
    const x = snapshot(dir);
    const y = snapshot(path.join(root, 'fresh'));
    expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  });

  it('splits docs ≈55/30/15 with ≈3% exact and ≈3% near duplicates', () => {
    expect(a.plan).toEqual({ news: 165, comments: 90, posts: 45, exactDuplicates: 9, nearDuplicates: 9 });
    expect(demoCorpusPlan(100_000)).toEqual({ news: 55_000, comments: 30_000, posts: 15_000, exactDuplicates: 3000, nearDuplicates: 3000 });
    expect(demoCorpusPlan(5)).toMatchObject({ exactDuplicates: 0, nearDuplicates: 0 });
    expect(() => demoCorpusPlan(-1)).toThrow(/non-negative/);
  });

  it('writes sources.json in the sourceSchema shape; demoSourceConfigs resolves under outDir', () => {
    const written = JSON.parse(fs.readFileSync(path.join(root, 'a', 'sources.json'), 'utf8'));
    expect(written).toEqual(demoSourceDefinitions());
    for (const s of written) expect(sourceSchema.parse(s)).toEqual(s);
    expect(written.map((s: { name: string; type: string }) => [s.name, s.type])).toEqual([
      ['demo-news', 'jsonl'],
      ['demo-comments', 'csv'],
      ['demo-posts', 'folder'],
    ]);
    for (const s of demoSourceConfigs(path.join(root, 'a'))) expect(path.isAbsolute(s.path) && fs.existsSync(s.path)).toBe(true);
  });

  it('reads back through the source readers: every doc maps, only the deliberate malformed items are quarantined', async () => {
    const items = await readAll(path.join(root, 'a'));
    const okCount = (name: string) => items.get(name)!.filter((i) => i.ok).length;
    expect(okCount('demo-news')).toBe(a.plan.news);
    expect(okCount('demo-comments')).toBe(a.plan.comments);
    expect(okCount('demo-posts')).toBe(a.plan.posts);
    const quarantined = [...items].flatMap(([source, list]) => list.filter((i) => !i.ok).map((i) => ({ source, locator: i.locator, reason: (i as { reason: string }).reason })));
    expect(quarantined).toEqual(a.malformed);
    expect(a.malformed.map((m) => m.reason)).toEqual(['invalid_json', 'missing_body', 'invalid_date', 'duplicate_id', 'invalid_csv_row', 'unsupported_file']);
  });

  it('without malformed records nothing is quarantined', async () => {
    const dir = path.join(root, 'clean');
    const s = await generateDemoCorpus({ docs: 120, seed: 3, outDir: dir, malformed: false });
    expect(s.malformed).toEqual([]);
    const items = await readAll(dir);
    for (const [name, list] of items) expect(list.filter((i) => !i.ok), name).toEqual([]);
  });

  it('produces realistic variety: languages, HTML and text, ACLs, duplicates, CSV edge cases, all post formats', async () => {
    const items = await readAll(path.join(root, 'a'));
    const news = items.get('demo-news')!.flatMap((i) => (i.ok ? [i.record] : []));
    const zh = news.filter((r) => /[\u4e00-\u9fff]/.test(r.title)).length;
    expect(zh / news.length).toBeGreaterThan(0.45);
    expect(zh / news.length).toBeLessThan(0.75);
    expect(news.some((r) => r.body.startsWith('<p'))).toBe(true);
    expect(news.some((r) => !r.body.startsWith('<p'))).toBe(true);
    expect(news.some((r) => /分享到：|Share:/.test(r.body))).toBe(true);
    expect(news.every((r) => r.publishedAt && r.url?.startsWith('https://') && r.author && r.tags.length > 0)).toBe(true);
    const restricted = news.filter((r) => r.aclGroups.length > 0);
    expect(restricted.length).toBe(a.restricted);
    expect(restricted.length).toBeGreaterThan(0);
    for (const r of restricted) expect(r.aclGroups[0]).toBe('sales');
    // Exact reposts: same body under another id.
    const bodies = new Map<string, number>();
    for (const r of news) bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
    const repeated = [...bodies.values()].reduce((s, n) => s + n - 1, 0);
    expect(repeated).toBeGreaterThanOrEqual(a.plan.exactDuplicates);

    const comments = items.get('demo-comments')!.flatMap((i) => (i.ok ? [i.record] : []));
    expect(comments.every((r) => r.kind === 'comment' && r.publishedAt && r.author && r.title)).toBe(true);
    expect(comments.some((r) => r.body.includes('\n'))).toBe(true);
    expect(comments.some((r) => r.body.includes('"') || r.body.includes(','))).toBe(true);

    const posts = items.get('demo-posts')!.flatMap((i) => (i.ok ? [i.record] : []));
    const exts = new Set(posts.map((r) => path.extname(r.externalId)));
    expect([...exts].sort()).toEqual(['.html', '.md', '.txt']);
    expect(posts.every((r) => r.kind === 'post' && r.title.length > 0 && r.publishedAt)).toBe(true);
  });
});
