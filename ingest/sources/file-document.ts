// Turns the text of one file from a folder source into record fields (title, body, metadata)
// by format: HTML <title>/<h1>/<meta>, Markdown front matter and `# heading`, plain text first line.

import YAML from 'yaml';

/** File extensions a folder source ingests, by format. */
export const fileFormats: Record<string, 'html' | 'markdown' | 'text'> = {
  '.html': 'html',
  '.htm': 'html',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
};
export type FileFormat = (typeof fileFormats)[string];

/** Fields in our names (the mapper validates them like any other record). */
export type FileFields = Record<string, unknown>;
export type FileParse = { ok: true; fields: FileFields } | { ok: false; reason: string; detail: string };

const MAX_TITLE_CHARS = 200;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (m, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return safeCodePoint(parseInt(lower.slice(2), 16)) ?? m;
    if (lower.startsWith('#')) return ENTITIES[lower] ?? safeCodePoint(parseInt(lower.slice(1), 10)) ?? m;
    return ENTITIES[lower] ?? m;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

function clipTitle(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > MAX_TITLE_CHARS ? `${t.slice(0, MAX_TITLE_CHARS - 1)}…` : t;
}

function firstLine(text: string): string {
  for (const line of text.split(/\r?\n/)) if (line.trim()) return clipTitle(line);
  return '';
}

function htmlText(fragment: string): string {
  return decodeEntities(fragment.replace(/<[^>]*>/g, ' '));
}

function metaContent(html: string, names: string[]): string | undefined {
  for (const tag of html.match(/<meta\b[^>]*>/gi) ?? []) {
    const name = /\b(?:name|property)\s*=\s*["']([^"']+)["']/i.exec(tag)?.[1]?.toLowerCase();
    if (!name || !names.includes(name)) continue;
    const content = /\bcontent\s*=\s*["']([^"']*)["']/i.exec(tag)?.[1];
    if (content !== undefined && content.trim()) return decodeEntities(content.trim());
  }
  return undefined;
}

function parseHtml(text: string): FileParse {
  const title = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1];
  const h1 = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
  let chosen = title !== undefined ? clipTitle(htmlText(title)) : '';
  if (!chosen && h1 !== undefined) chosen = clipTitle(htmlText(h1));
  if (!chosen) chosen = firstLine(htmlText(text));
  const fields: FileFields = { title: chosen, body: text };
  const author = metaContent(text, ['author', 'article:author']);
  if (author) fields.author = author;
  const date = metaContent(text, ['article:published_time', 'date', 'pubdate', 'publish_date']);
  if (date) fields.published_at = date;
  const keywords = metaContent(text, ['keywords']);
  if (keywords) fields.tags = keywords;
  return { ok: true, fields };
}

const FRONT_MATTER_RE = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

/** Front-matter keys copied into our fields (the rest is ignored). */
const FRONT_MATTER_KEYS: Record<string, string> = {
  title: 'title',
  date: 'published_at',
  published_at: 'published_at',
  tags: 'tags',
  author: 'author',
  url: 'url',
  kind: 'kind',
  acl_groups: 'acl_groups',
};

function parseMarkdown(text: string): FileParse {
  const fields: FileFields = {};
  let body = text;
  const fm = FRONT_MATTER_RE.exec(text);
  if (fm) {
    let meta: unknown;
    try {
      meta = YAML.parse(fm[1]);
    } catch (err) {
      return { ok: false, reason: 'invalid_front_matter', detail: `YAML front matter: ${(err as Error).message.split('\n')[0]}` };
    }
    if (meta !== null && meta !== undefined && (typeof meta !== 'object' || Array.isArray(meta))) {
      return { ok: false, reason: 'invalid_front_matter', detail: 'YAML front matter must be a mapping of keys to values' };
    }
    for (const [key, value] of Object.entries((meta ?? {}) as Record<string, unknown>)) {
      const ours = FRONT_MATTER_KEYS[key.toLowerCase()];
      // A present-but-null ACL must reach the mapper (which quarantines it) rather than vanish
      // and leave the document public; other null keys simply say nothing.
      if (ours === 'acl_groups') fields[ours] = value;
      else if (ours && value !== null && value !== undefined) fields[ours] = value;
    }
    body = text.slice(fm[0].length);
  }
  if (typeof fields.title !== 'string' || !fields.title.trim()) {
    const heading = /^#[ \t]+(.+?)[ \t#]*$/m.exec(body)?.[1];
    fields.title = heading ? clipTitle(heading) : firstLine(body);
  }
  fields.body = body;
  return { ok: true, fields };
}

/** Parses one file's text; `format` comes from its extension (see fileFormats). */
export function parseFileDocument(text: string, format: FileFormat): FileParse {
  if (format === 'html') return parseHtml(text);
  if (format === 'markdown') return parseMarkdown(text);
  return { ok: true, fields: { title: firstLine(text), body: text } };
}
