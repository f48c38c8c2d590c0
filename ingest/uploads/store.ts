import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { Config } from '../../src/config/index.ts';
import { acquireLock } from '../../src/lock/index.ts';
import { nowIso, type DB } from '../../src/store/index.ts';
import { uploadsDir } from '../resolve-sources.ts';
import { supportedExtensions as folderExtensions } from '../sources/folder.ts';
import { readUploadMeta, UPLOAD_META_FILE, UPLOADS_SOURCE, type UploadMeta } from '../sources/uploads.ts';
import { StoreWriter } from '../store-writer.ts';

// Uploads on disk: <data_dir>/uploads/<id>/<file…> + .upload.json. An upload is written into a
// hidden staging folder and renamed into place in one step, so an ingestion run walking the
// folder at the same moment sees all of it or none of it.

export class UploadError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

export interface IncomingFile {
  originalName: string;
  /** Path of the received bytes (moved into the upload). */
  tempPath: string;
  bytes: number;
  contentType: string | null;
}

export interface IncomingRecord {
  title?: string;
  body: string;
  url?: string;
  author?: string;
  published_at?: string;
  tags?: string[];
}

export interface Uploader {
  keyId: number | null;
  name: string | null;
}

const ID_RE = /^[a-z0-9]{8,40}$/;

/** The extensions the folder source reads (from its own table, so new formats apply here too). */
export const supportedExtensions = (): string[] => [...folderExtensions];

/** A safe file name: no folders, no leading dots, no control or path characters, extension kept. */
export function safeFileName(name: string): string {
  const base = name.replace(/\\/g, '/').split('/').pop() ?? '';
  // ".md" is a name made only of an extension (path.extname sees a dotfile without one).
  const ext = (/^\.[^.]+$/.test(base) ? base : path.extname(base)).toLowerCase();
  let stem = base.slice(0, base.length - ext.length).normalize('NFC');
  stem = stem.replace(/[\u0000-\u001f\u007f<>:"|?*\/\\]/g, '_').replace(/^[.\s]+/, '').trim();
  if (!stem) stem = 'file';
  return `${stem.slice(0, 120)}${ext}`;
}

export function newUploadId(): string {
  return `${Date.now().toString(36)}${crypto.randomBytes(5).toString('hex')}`;
}

function frontMatterDoc(r: IncomingRecord): string {
  const meta: Record<string, unknown> = {};
  if (r.title) meta.title = r.title;
  if (r.published_at) meta.date = r.published_at;
  if (r.tags?.length) meta.tags = r.tags;
  if (r.author) meta.author = r.author;
  if (r.url) meta.url = r.url;
  const head = Object.keys(meta).length ? `---\n${YAML.stringify(meta)}---\n` : '';
  return `${head}${r.body}\n`;
}

export interface CreateUploadInput {
  files?: IncomingFile[];
  records?: IncomingRecord[];
  aclGroups: string[];
  kind: UploadMeta['kind'];
  uploader: Uploader;
}

/** Stores an upload; returns its metadata. Refuses file types the folder source cannot read. */
export function createUpload(config: Config, input: CreateUploadInput): UploadMeta {
  const files = input.files ?? [];
  const records = input.records ?? [];
  if (files.length === 0 && records.length === 0) throw new UploadError(400, 'Nothing to upload: send files (multipart field "file") or {"records": [...]}.', 'empty_upload');
  const exts = supportedExtensions();
  for (const f of files) {
    const ext = path.extname(f.originalName).toLowerCase();
    if (!exts.includes(ext)) {
      throw new UploadError(415, `${f.originalName}: ${ext || 'files without an extension'} cannot be ingested; supported: ${exts.join(' ')}`, 'unsupported_file_type', 'file');
    }
  }
  const root = uploadsDir(config);
  fs.mkdirSync(root, { recursive: true });
  const id = newUploadId();
  const staging = path.join(root, `.staging-${id}`);
  fs.mkdirSync(staging);
  try {
    const used = new Set<string>();
    const unique = (name: string) => {
      let n = name;
      for (let i = 2; used.has(n.toLowerCase()); i++) n = `${path.basename(name, path.extname(name))}-${i}${path.extname(name)}`;
      used.add(n.toLowerCase());
      return n;
    };
    const stored: UploadMeta['files'] = [];
    for (const f of files) {
      const name = unique(safeFileName(f.originalName));
      fs.copyFileSync(f.tempPath, path.join(staging, name));
      stored.push({ name, original_name: f.originalName, bytes: f.bytes, content_type: f.contentType });
    }
    records.forEach((r, i) => {
      const name = unique(`record-${String(i + 1).padStart(4, '0')}.md`);
      const text = frontMatterDoc(r);
      fs.writeFileSync(path.join(staging, name), text);
      stored.push({ name, original_name: name, bytes: Buffer.byteLength(text), content_type: 'text/markdown' });
    });
    const meta: UploadMeta = {
      id,
      acl_groups: input.aclGroups,
      kind: input.kind,
      uploaded_by: { key_id: input.uploader.keyId, name: input.uploader.name },
      created_at: nowIso(),
      files: stored,
      records: records.length,
    };
    fs.writeFileSync(path.join(staging, UPLOAD_META_FILE), JSON.stringify(meta, null, 2));
    fs.renameSync(staging, path.join(root, id));
    return meta;
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

export interface UploadDocument {
  file: string;
  external_id: string;
  document_id: number | null;
  status: 'pending' | 'indexed' | 'quarantined';
  chunks: number;
  pending_vectors: number;
  quarantine: { reason: string; detail: string | null; run_id: number | null } | null;
}

export interface UploadView extends UploadMeta {
  documents: UploadDocument[];
}

/** What became of each file of an upload: its document (and embedding state) or its quarantine reason. */
export function uploadStatus(db: DB, meta: UploadMeta): UploadView {
  const doc = db.prepare(
    `SELECT d.id, (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.retired_at IS NULL) AS chunks,
            (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.retired_at IS NULL AND c.vector_label IS NULL) AS pending
       FROM documents d WHERE d.source = ? AND d.external_id = ? AND d.deleted_at IS NULL`,
  );
  const quarantined = db.prepare('SELECT reason, detail, run_id FROM quarantine WHERE source = ? AND locator = ? ORDER BY id DESC LIMIT 1');
  const documents = meta.files.map((f): UploadDocument => {
    const externalId = `${meta.id}/${f.name}`;
    const d = doc.get(UPLOADS_SOURCE, externalId) as { id: number; chunks: number; pending: number } | undefined;
    if (d) return { file: f.name, external_id: externalId, document_id: d.id, status: 'indexed', chunks: d.chunks, pending_vectors: d.pending, quarantine: null };
    const q = quarantined.get(UPLOADS_SOURCE, externalId) as { reason: string; detail: string | null; run_id: number | null } | undefined;
    return { file: f.name, external_id: externalId, document_id: null, status: q ? 'quarantined' : 'pending', chunks: 0, pending_vectors: 0, quarantine: q ?? null };
  });
  return { ...meta, documents };
}

export async function getUpload(config: Config, id: string): Promise<UploadMeta | null> {
  if (!ID_RE.test(id)) return null;
  const dir = path.join(uploadsDir(config), id);
  if (!fs.existsSync(dir)) return null;
  return readUploadMeta(dir);
}

/** Every upload, newest first (unreadable metadata is skipped: ingestion quarantines those files). */
export async function listUploads(config: Config): Promise<UploadMeta[]> {
  const root = uploadsDir(config);
  if (!fs.existsSync(root)) return [];
  const ids = fs.readdirSync(root).filter((n) => ID_RE.test(n)).sort().reverse();
  const out: UploadMeta[] = [];
  for (const id of ids) {
    const meta = await readUploadMeta(path.join(root, id)).catch(() => null);
    if (meta) out.push(meta);
  }
  return out;
}

/**
 * Deletes an upload: its documents leave the store (BM25 at once, the dense index in its next
 * version) and its files leave the disk, under the ingest lock so a run in progress cannot
 * re-add what it read a moment before. Throws UploadError 409 while a run holds the lock.
 */
export function deleteUpload(config: Config, db: DB, meta: UploadMeta): { documents: number; chunks: number } {
  let lock;
  try {
    lock = acquireLock(db, 'ingest', { ttlMs: 60_000 });
  } catch {
    throw new UploadError(409, 'An ingestion run is in progress; delete the upload again when it has finished.', 'ingest_running');
  }
  try {
    const writer = new StoreWriter(db);
    const now = nowIso();
    const docs = db
      .prepare("SELECT id FROM documents WHERE source = ? AND deleted_at IS NULL AND substr(external_id, 1, ?) = ?")
      .pluck()
      .all(UPLOADS_SOURCE, meta.id.length + 1, `${meta.id}/`) as number[];
    let chunks = 0;
    db.transaction(() => {
      for (const id of docs) chunks += writer.delete(id, now);
    })();
    fs.rmSync(path.join(uploadsDir(config), meta.id), { recursive: true, force: true });
    return { documents: docs.length, chunks };
  } finally {
    lock.release();
  }
}
