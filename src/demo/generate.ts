// Writes the demo world's secondary-data corpus: news.jsonl (≈55% of docs), comments.csv (≈30%)
// and posts/ (≈15%, .md/.txt/.html), plus sources.json describing them as configured sources.
// Deterministic: the same docs + seed give byte-identical files. Streaming and O(docs): every
// document is derived from its own seeded stream, so a duplicate re-derives its original instead
// of keeping earlier articles in memory.

import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { sourceSchema, type SourceConfig } from '../config/schema.ts';
import { dayNumber } from './common.ts';
import { commentColumns, commentRow, composeComment, csvField } from './comments.ts';
import { articleUrl, composeArticle, renderContent, syndicatedCopy, type NewsArticle } from './news.ts';
import { composePost, type DemoPost } from './posts.ts';
import { chance, createRng, deriveSeed, randInt, shuffle } from './world.ts';

export interface DemoCorpusOptions {
  /** Number of valid secondary documents (news + comments + posts). */
  docs: number;
  seed: number;
  outDir: string;
  /**
   * Also write the deliberate malformed records listed in the summary (default true), so the
   * quarantine path has real work in the demo. They are extra to `docs`.
   */
  malformed?: boolean;
}

export interface DemoCorpusPlan {
  news: number;
  comments: number;
  posts: number;
  /** News items that are exact reposts of an earlier article (same content, new id). */
  exactDuplicates: number;
  /** News items that are syndicated copies (new headline, one sentence changed). */
  nearDuplicates: number;
}

export interface MalformedItem {
  source: string;
  /** The locator the source reader reports for it. */
  locator: string;
  reason: 'invalid_json' | 'missing_body' | 'invalid_date' | 'duplicate_id' | 'invalid_csv_row' | 'unsupported_file';
}

export interface DemoCorpusSummary {
  outDir: string;
  docs: number;
  seed: number;
  plan: DemoCorpusPlan;
  /** News items carrying an ACL (`visibility`), i.e. internal documents. */
  restricted: number;
  malformed: MalformedItem[];
  files: { news: string; comments: string; posts: string; sources: string };
}

/** File names inside outDir. */
export const DEMO_FILES = { news: 'news.jsonl', comments: 'comments.csv', posts: 'posts', sources: 'sources.json' } as const;

/** The three demo sources with paths relative to the corpus folder (what sources.json holds). */
export function demoSourceDefinitions(): SourceConfig[] {
  return [
    {
      name: 'demo-news',
      type: 'jsonl',
      path: DEMO_FILES.news,
      mode: 'full',
      kind: 'news',
      mapping: { id: 'id', title: 'headline', body: 'content', url: 'link', author: 'writer', published_at: 'date', tags: 'tags', acl_groups: 'visibility' },
      acl_groups: [],
    },
    {
      name: 'demo-comments',
      type: 'csv',
      path: DEMO_FILES.comments,
      mode: 'full',
      kind: 'comment',
      mapping: { id: 'comment_id', title: 'product', body: 'text', author: 'user', published_at: 'posted_at', tags: 'tags' },
      acl_groups: [],
    },
    { name: 'demo-posts', type: 'folder', path: DEMO_FILES.posts, mode: 'full', kind: 'post', mapping: {}, acl_groups: [] },
  ].map((s) => sourceSchema.parse(s));
}

/** The demo sources with absolute paths under `outDir`, ready for openSource(). */
export function demoSourceConfigs(outDir: string): SourceConfig[] {
  return demoSourceDefinitions().map((s) => ({ ...s, path: path.resolve(outDir, s.path) }));
}

/** How `docs` splits into formats and duplicates. */
export function demoCorpusPlan(docs: number): DemoCorpusPlan {
  if (!Number.isInteger(docs) || docs < 0) throw new Error(`demo docs must be a non-negative integer, got ${docs}`);
  const news = Math.round(docs * 0.55);
  const posts = Math.round(docs * 0.15);
  const comments = docs - news - posts;
  // At least one of each duplicate kind once there is enough news for it to be meaningful.
  const dup = (share: number) => (news >= 10 ? Math.max(1, Math.round(docs * share)) : 0);
  let exactDuplicates = dup(0.03);
  let nearDuplicates = dup(0.03);
  // Keep at least half of the news original.
  const cap = Math.floor(news / 4);
  exactDuplicates = Math.min(exactDuplicates, cap);
  nearDuplicates = Math.min(nearDuplicates, cap);
  return { news, comments, posts, exactDuplicates, nearDuplicates };
}

const pad6 = (n: number) => String(n).padStart(6, '0');

/** Streams lines to a file, honouring backpressure. */
class LineWriter {
  private readonly out: fs.WriteStream;
  lines = 0;
  constructor(file: string) {
    this.out = fs.createWriteStream(file, { encoding: 'utf8' });
  }
  async write(text: string): Promise<void> {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lines++;
    this.lines++;
    if (!this.out.write(`${text}\n`)) await once(this.out, 'drain');
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

interface NewsRecord {
  id: string;
  headline: string;
  content: string;
  link: string;
  writer: string;
  date: string;
  tags: string[];
  lang: string;
  category: string;
  visibility?: string;
}

function newsRecord(id: string, a: NewsArticle, visibility: string | null, content = renderContent(a)): NewsRecord {
  const rec: NewsRecord = { id, headline: a.headline, content, link: articleUrl(a, id), writer: a.writer, date: a.date, tags: a.tags, lang: a.lang, category: a.type };
  if (visibility) rec.visibility = visibility;
  return rec;
}

async function writeNews(file: string, plan: DemoCorpusPlan, docs: number, seed: number, malformed: boolean) {
  const n = plan.news;
  // Which positions are duplicates (never position 0: a duplicate needs an earlier original).
  const positions = shuffle(createRng(deriveSeed(seed, 'news:dups')), Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1));
  const dupKind = new Map<number, 'exact' | 'near'>();
  positions.slice(0, plan.exactDuplicates).forEach((p) => dupKind.set(p, 'exact'));
  positions.slice(plan.exactDuplicates, plan.exactDuplicates + plan.nearDuplicates).forEach((p) => dupKind.set(p, 'near'));
  const originals = n - dupKind.size;
  // ≈5% of all docs are internal (sales) items; they all sit in the news source.
  const restrictedShare = originals > 0 ? Math.min(1, (docs * 0.05) / originals) : 0;

  const article = (k: number) => composeArticle(createRng(deriveSeed(seed, `news:${k}`)));
  const visibility = (k: number) => {
    const rng = createRng(deriveSeed(seed, `acl:${k}`));
    return chance(rng, restrictedShare) ? (chance(rng, 0.8) ? 'sales' : 'sales;management') : null;
  };

  const w = new LineWriter(file);
  const bad: MalformedItem[] = [];
  const source = 'demo-news';
  const label = DEMO_FILES.news;
  let restricted = 0;
  const badAt = malformed && n > 0 ? { json: Math.floor(n / 3), body: Math.floor(n / 2), date: Math.floor((2 * n) / 3) } : null;
  for (let j = 0; j < n; j++) {
    const id = `news-${pad6(j + 1)}`;
    const kind = dupKind.get(j);
    let rec: NewsRecord;
    if (kind) {
      const rng = createRng(deriveSeed(seed, `dup:${j}`));
      let k = randInt(rng, 0, j - 1);
      while (dupKind.has(k)) k--; // walks down to an original; position 0 always is one
      const orig = article(k);
      const vis = visibility(k);
      if (kind === 'exact') {
        // A repost on another site: identical content, its own id, link and date.
        const repost = syndicatedCopy(orig, rng);
        rec = newsRecord(id, { ...orig, outlet: repost.outlet, day: repost.day, date: repost.date }, vis, renderContent(orig));
      } else {
        rec = newsRecord(id, syndicatedCopy(orig, rng), vis);
      }
    } else {
      rec = newsRecord(id, article(j), visibility(j));
    }
    if (rec.visibility) restricted++;
    await w.write(JSON.stringify(rec));
    if (badAt && j === badAt.json) {
      // An export cut off mid-record.
      await w.write(JSON.stringify(newsRecord('news-truncated', article(j), null)).slice(0, 120));
      bad.push({ source, locator: `${label}:${w.lines}`, reason: 'invalid_json' });
    }
    if (badAt && j === badAt.body) {
      await w.write(JSON.stringify({ ...newsRecord('news-empty-body', article(j), null), content: '' }));
      bad.push({ source, locator: `${label}:${w.lines}`, reason: 'missing_body' });
    }
    if (badAt && j === badAt.date) {
      await w.write(JSON.stringify({ ...newsRecord('news-bad-date', article(j), null), date: 'next Tuesday' }));
      bad.push({ source, locator: `${label}:${w.lines}`, reason: 'invalid_date' });
    }
  }
  if (badAt) {
    // A second export of the first article under the same id (an "updated" copy).
    const first = article(0);
    await w.write(JSON.stringify(newsRecord('news-000001', { ...first, headline: `${first.headline}（更新）` }, null)));
    bad.push({ source, locator: `${label}:${w.lines}`, reason: 'duplicate_id' });
  }
  await w.close();
  return { restricted, bad };
}

async function writeComments(file: string, count: number, seed: number, malformed: boolean) {
  const w = new LineWriter(file);
  const bad: MalformedItem[] = [];
  await w.write(commentColumns.join(','));
  const badAt = malformed && count > 0 ? Math.floor(count / 2) : -1;
  for (let j = 0; j < count; j++) {
    const c = composeComment(createRng(deriveSeed(seed, `comment:${j}`)));
    await w.write(commentRow(`c-${pad6(j + 1)}`, c));
    if (j === badAt) {
      // An exporter that dropped the user column for one row.
      const row = ['c-dropped-user', c.product.id, c.product.name_zh, String(c.rating), c.postedAt, c.text, c.tags.join(';')];
      const line = w.lines + 1;
      await w.write(row.map(csvField).join(','));
      bad.push({ source: 'demo-comments', locator: `${DEMO_FILES.comments}:${line}`, reason: 'invalid_csv_row' });
    }
  }
  await w.close();
  return bad;
}

async function writePosts(dir: string, count: number, seed: number, malformed: boolean) {
  const made = new Set<string>();
  const writeOne = async (p: DemoPost) => {
    const file = path.join(dir, ...p.relPath.split('/'));
    await fsp.writeFile(file, p.content);
    // The file time is the post date: folder sources fall back to it for undated formats.
    const t = new Date(dayNumber(p.day) * 86_400_000 + 4 * 3_600_000);
    await fsp.utimes(file, t, t);
  };
  await fsp.mkdir(dir, { recursive: true });
  const BATCH = 64;
  for (let start = 0; start < count; start += BATCH) {
    const batch: DemoPost[] = [];
    for (let j = start; j < Math.min(count, start + BATCH); j++) batch.push(composePost(createRng(deriveSeed(seed, `post:${j}`)), j + 1));
    // Directories are created before the parallel writes so two writers never race on mkdir.
    for (const p of batch) {
      const parent = path.dirname(path.join(dir, ...p.relPath.split('/')));
      if (!made.has(parent)) {
        made.add(parent);
        await fsp.mkdir(parent, { recursive: true });
      }
    }
    await Promise.all(batch.map(writeOne));
  }
  const bad: MalformedItem[] = [];
  if (malformed && count > 0) {
    // A CAD drawing someone dropped into the forum export: not a format the folder source reads.
    const rel = 'attachments/booth-floor-plan.dwg';
    await fsp.mkdir(path.join(dir, 'attachments'), { recursive: true });
    await fsp.writeFile(path.join(dir, ...rel.split('/')), 'AC1032\n; attachment from the forum export (not ingested: unsupported file type)\n');
    bad.push({ source: 'demo-posts', locator: rel, reason: 'unsupported_file' });
  }
  return bad;
}

/**
 * Generates the corpus into `outDir` (created if needed). Only the corpus's own files are
 * replaced; sources.json is written last, so its presence marks a complete corpus.
 */
export async function generateDemoCorpus(options: DemoCorpusOptions): Promise<DemoCorpusSummary> {
  const { docs, seed, outDir } = options;
  const malformed = options.malformed ?? true;
  if (!Number.isInteger(seed)) throw new Error(`demo seed must be an integer, got ${seed}`);
  const plan = demoCorpusPlan(docs);
  const files = {
    news: path.join(outDir, DEMO_FILES.news),
    comments: path.join(outDir, DEMO_FILES.comments),
    posts: path.join(outDir, DEMO_FILES.posts),
    sources: path.join(outDir, DEMO_FILES.sources),
  };
  await fsp.mkdir(outDir, { recursive: true });
  await fsp.rm(files.sources, { force: true });
  await fsp.rm(files.posts, { recursive: true, force: true });

  const news = await writeNews(files.news, plan, docs, seed, malformed);
  const commentsBad = await writeComments(files.comments, plan.comments, seed, malformed);
  const postsBad = await writePosts(files.posts, plan.posts, seed, malformed);
  await fsp.writeFile(files.sources, `${JSON.stringify(demoSourceDefinitions(), null, 2)}\n`);
  return { outDir, docs, seed, plan, restricted: news.restricted, malformed: [...news.bad, ...commentsBad, ...postsBad], files };
}
