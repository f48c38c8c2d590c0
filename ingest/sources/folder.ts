import fs from 'node:fs/promises';
import path from 'node:path';
import { rejectDuplicateIds } from './duplicates.ts';
import { fileFormats, parseFileDocument } from './file-document.ts';
import { mapRecord, type MappingConfig } from './mapping.ts';
import type { SourceItem, SourceReader } from './types.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Relative paths of every non-hidden entry under `root`, depth first, in sorted (stable) order. */
async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; abs: string; kind: 'file' | 'dir-link' | 'other' }> {
  const dir = path.join(root, rel);
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    // Hidden files and folders (.git, .DS_Store, editor swap files) are not content.
    if (e.name.startsWith('.')) continue;
    const childRel = rel ? `${rel}/${e.name}` : e.name;
    const abs = path.join(root, childRel);
    if (e.isDirectory()) {
      yield* walk(root, childRel);
    } else if (e.isFile()) {
      yield { rel: childRel, abs, kind: 'file' };
    } else if (e.isSymbolicLink()) {
      // Linked files are read; linked folders are not followed (they can loop).
      const st = await fs.stat(abs).catch(() => null);
      yield { rel: childRel, abs, kind: st?.isFile() ? 'file' : st?.isDirectory() ? 'dir-link' : 'other' };
    } else {
      yield { rel: childRel, abs, kind: 'other' };
    }
  }
}

/**
 * A folder tree of .txt/.md/.markdown/.html/.htm files, one document per file. The external id is
 * the path relative to the folder ('/'-separated). Title: HTML <title> or first <h1>; Markdown
 * front-matter `title` or first `# heading`; otherwise the first non-empty line. Published date:
 * front matter / <meta> date, else the file's modification time. Files of other types are
 * quarantined as 'unsupported_file'; undecodable ones as 'invalid_encoding'.
 */
export class FolderReader implements SourceReader {
  constructor(
    private readonly dir: string,
    private readonly source: MappingConfig,
  ) {}

  read(): AsyncIterable<SourceItem> {
    return rejectDuplicateIds(this.files());
  }

  private async *files(): AsyncGenerator<SourceItem> {
    // Files carry our field names already; the source's mapping applies to record fields only.
    const identity: MappingConfig = { ...this.source, mapping: {} };
    for await (const entry of walk(this.dir)) {
      const locator = entry.rel;
      if (entry.kind !== 'file') {
        const what = entry.kind === 'dir-link' ? 'a symbolic link to a folder (not followed)' : 'not a regular file';
        yield { ok: false, locator, raw: entry.rel, reason: 'unsupported_file', detail: what };
        continue;
      }
      const format = fileFormats[path.extname(entry.rel).toLowerCase()];
      if (!format) {
        const ext = path.extname(entry.rel) || '(no extension)';
        yield { ok: false, locator, raw: entry.rel, reason: 'unsupported_file', detail: `${ext} files are not ingested; supported: ${Object.keys(fileFormats).join(' ')}` };
        continue;
      }
      let buf: Buffer;
      let mtime: Date;
      try {
        [buf, mtime] = await Promise.all([fs.readFile(entry.abs), fs.stat(entry.abs).then((s) => s.mtime)]);
      } catch (err) {
        yield { ok: false, locator, raw: entry.rel, reason: 'unreadable_file', detail: (err as Error).message };
        continue;
      }
      let text: string;
      try {
        text = utf8.decode(buf);
        if (text.includes('\u0000')) throw new Error('contains NUL bytes (binary data)');
      } catch (err) {
        const detail = err instanceof TypeError ? 'not valid UTF-8 text' : (err as Error).message;
        yield { ok: false, locator, raw: entry.rel, reason: 'invalid_encoding', detail };
        continue;
      }
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const parsed = parseFileDocument(text, format);
      if (!parsed.ok) {
        yield { ok: false, locator, raw: text, reason: parsed.reason, detail: parsed.detail };
        continue;
      }
      const fields: Record<string, unknown> = { ...parsed.fields, id: entry.rel };
      if (fields.published_at === undefined) fields.published_at = mtime;
      yield mapRecord(fields, identity, locator, text);
    }
  }
}
