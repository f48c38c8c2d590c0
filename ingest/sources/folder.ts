import fs from 'node:fs/promises';
import path from 'node:path';
import { rejectDuplicateIds } from './duplicates.ts';
import { fileFormats, parseFileDocument } from './file-document.ts';
import { mapRecord, type MappingConfig } from './mapping.ts';
import { binaryFormats, type BinaryFormat } from './office/extract.ts';
import { FileParser } from './office/runner.ts';
import type { SourceItem, SourceReader } from './types.ts';
import type { FilesConfig } from '../../src/config/sections/files.ts';

/** Defaults when a caller gives no `files` limits (tests, tools): the same as config/default.yaml. */
export const defaultFileLimits: FilesConfig = { max_bytes: 50 * 1024 * 1024, parse_timeout_ms: 30_000, parser_max_heap_mb: 1024 };

/** Every extension a folder source ingests. */
export const supportedExtensions = [...Object.keys(fileFormats), ...Object.keys(binaryFormats)];

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
 * A folder tree of document files, one document per file (one per sheet for .xlsx). The external
 * id is the path relative to the folder ('/'-separated), plus `#<sheet>` for spreadsheets.
 * Text files (.txt/.md/.markdown/.html/.htm) — title: HTML <title> or first <h1>; Markdown
 * front-matter `title` or first `# heading`; otherwise the first non-empty line. Binary documents
 * (.pdf/.docx/.pptx/.xlsx) are parsed in a worker thread with a time limit (see office/). Published
 * date: front matter / <meta> / document properties, else the file's modification time. Files of
 * other types are quarantined as 'unsupported_file'; undecodable ones as 'invalid_encoding';
 * oversized ones as 'file_too_large'; encrypted, corrupt, text-less or hanging ones as
 * 'encrypted_file', 'corrupt_file', 'no_text_layer', 'parse_timeout'.
 */
export class FolderReader implements SourceReader {
  constructor(
    private readonly dir: string,
    private readonly source: MappingConfig,
    private readonly limits: FilesConfig = defaultFileLimits,
    /** false: ACL groups a file states (front matter) are ignored — the managed uploads source decides them itself. */
    private readonly fileAcl = true,
  ) {}

  read(): AsyncIterable<SourceItem> {
    return rejectDuplicateIds(this.files());
  }

  private async *files(): AsyncGenerator<SourceItem> {
    // Files carry our field names already; the source's mapping applies to record fields only.
    const identity: MappingConfig = { ...this.source, mapping: {} };
    let parser: FileParser | null = null;
    try {
      for await (const entry of walk(this.dir)) {
        const binary = binaryFormats[path.extname(entry.rel).toLowerCase()];
        if (entry.kind === 'file' && binary) {
          parser ??= new FileParser({ timeoutMs: this.limits.parse_timeout_ms, maxHeapMb: this.limits.parser_max_heap_mb });
          yield* this.binaryFile(entry, binary, identity, parser);
          continue;
        }
        yield* this.textFile(entry, identity);
      }
    } finally {
      await parser?.close();
    }
  }

  private async *binaryFile(entry: { rel: string; abs: string }, format: BinaryFormat, identity: MappingConfig, parser: FileParser): AsyncGenerator<SourceItem> {
    const locator = entry.rel;
    const file = await this.readBounded(entry);
    if ('reason' in file) {
      yield file;
      return;
    }
    const { buf, mtime } = file;
    const result = await parser.parse(buf, format);
    if (!result.ok) {
      yield { ok: false, locator, raw: `${entry.rel} (${buf.length} bytes, ${format})`, reason: result.reason, detail: result.detail };
      return;
    }
    for (const doc of result.documents) {
      const fields: Record<string, unknown> = { id: entry.rel + doc.idSuffix, title: doc.title, body: doc.body, published_at: doc.publishedAt ?? mtime };
      if (doc.author) fields.author = doc.author;
      const item = mapRecord(fields, identity, locator + doc.idSuffix, doc.body);
      if (item.ok && doc.pages) item.record.pages = doc.pages;
      yield item;
    }
  }

  /** The file's bytes and mtime, or the quarantine item when it is too large or unreadable. */
  private async readBounded(entry: { rel: string; abs: string }): Promise<{ buf: Buffer; mtime: Date } | (SourceItem & { ok: false })> {
    const rejected = (reason: string, detail: string) => ({ ok: false as const, locator: entry.rel, raw: entry.rel, reason, detail });
    try {
      const st = await fs.stat(entry.abs);
      if (st.size > this.limits.max_bytes) return rejected('file_too_large', `${st.size} bytes; files.max_bytes is ${this.limits.max_bytes}`);
      return { buf: await fs.readFile(entry.abs), mtime: st.mtime };
    } catch (err) {
      return rejected('unreadable_file', (err as Error).message);
    }
  }

  private async *textFile(entry: { rel: string; abs: string; kind: 'file' | 'dir-link' | 'other' }, identity: MappingConfig): AsyncGenerator<SourceItem> {
    const locator = entry.rel;
    if (entry.kind !== 'file') {
      const what = entry.kind === 'dir-link' ? 'a symbolic link to a folder (not followed)' : 'not a regular file';
      yield { ok: false, locator, raw: entry.rel, reason: 'unsupported_file', detail: what };
      return;
    }
    const format = fileFormats[path.extname(entry.rel).toLowerCase()];
    if (!format) {
      const ext = path.extname(entry.rel) || '(no extension)';
      yield { ok: false, locator, raw: entry.rel, reason: 'unsupported_file', detail: `${ext} files are not ingested; supported: ${supportedExtensions.join(' ')}` };
      return;
    }
    const file = await this.readBounded(entry);
    if ('reason' in file) {
      yield file;
      return;
    }
    const { buf, mtime } = file;
    let text: string;
    try {
      text = utf8.decode(buf);
      if (text.includes('\u0000')) throw new Error('contains NUL bytes (binary data)');
    } catch (err) {
      const detail = err instanceof TypeError ? 'not valid UTF-8 text' : (err as Error).message;
      yield { ok: false, locator, raw: entry.rel, reason: 'invalid_encoding', detail };
      return;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const parsed = parseFileDocument(text, format);
    if (!parsed.ok) {
      yield { ok: false, locator, raw: text, reason: parsed.reason, detail: parsed.detail };
      return;
    }
    const fields: Record<string, unknown> = { ...parsed.fields, id: entry.rel };
    if (!this.fileAcl) delete fields.acl_groups;
    if (fields.published_at === undefined) fields.published_at = mtime;
    yield mapRecord(fields, identity, locator, text);
  }
}
