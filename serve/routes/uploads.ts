import fs from 'node:fs';
import os from 'node:os';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { hasScope, parseGroups, KeyInputError } from '../../src/auth/keys.ts';
import { createUpload, deleteUpload, getUpload, listUploads, UploadError, uploadStatus, type IncomingFile } from '../../ingest/uploads/store.ts';
import { UPLOADS_SOURCE, type UploadMeta } from '../../ingest/sources/uploads.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError } from '../errors.ts';
import { sameSiteOnly } from './same-origin.ts';
import { routeLabel, state, type RequestState } from '../state.ts';
import { parseBody } from '../validation.ts';

// /v1/uploads: add files (multipart) or records (JSON) to the managed `uploads` source, list
// them with what ingestion made of them, delete them. Each upload starts an ingestion run of
// that source only, through the same runner as POST /v1/admin/ingest (a child `kb ingest`).

const kinds = z.enum(['news', 'comment', 'post']);
const recordSchema = z
  .object({
    title: z.string().max(500).optional(),
    body: z.string().min(1, 'must not be empty'),
    url: z.string().url().optional(),
    author: z.string().max(200).optional(),
    published_at: z.string().optional(),
    tags: z.array(z.string().min(1).max(200)).max(100).optional(),
  })
  .strict();

const toHttp = (err: unknown): unknown =>
  err instanceof UploadError ? new HttpError(err.status, err.message, err.status === 409 ? 'conflict_error' : 'invalid_request_error', err.code, err.param) : err;

/**
 * The groups an upload may be read by. Auth off or an admin key: any (default: everyone). Other
 * keys: a subset of their own groups (default: all of them) — never wider, and never "everyone"
 * for a key that is itself restricted to groups.
 */
export function resolveUploadGroups(s: RequestState, requested: string[] | undefined): string[] {
  const key = s.key;
  if (!key || hasScope(key, 'admin')) return requested ?? [];
  const own = key.groups;
  if (requested === undefined) return [...own];
  const outside = requested.filter((g) => !own.includes(g));
  if (outside.length) {
    throw new HttpError(403, `acl_groups: this key may only share uploads with its own groups (${own.join(', ') || 'none'}); not: ${outside.join(', ')}`, 'permission_error', 'acl_groups_not_allowed', 'acl_groups');
  }
  if (requested.length === 0 && own.length > 0) {
    throw new HttpError(403, 'acl_groups: a key restricted to groups cannot make an upload visible to every key; name one or more of its groups.', 'permission_error', 'acl_groups_not_allowed', 'acl_groups');
  }
  return requested;
}

function groupsParam(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
  try {
    return parseGroups(list);
  } catch (err) {
    if (err instanceof KeyInputError) throw new HttpError(400, `acl_groups: ${err.message}`, 'invalid_request_error', 'invalid_request', 'acl_groups');
    throw err;
  }
}

function kindParam(v: unknown, fallback: UploadMeta['kind']): UploadMeta['kind'] {
  if (v === undefined || v === '') return fallback;
  const k = kinds.safeParse(v);
  if (!k.success) throw new HttpError(400, `kind: must be one of ${kinds.options.join(', ')}`, 'invalid_request_error', 'invalid_request', 'kind');
  return k.data;
}

/** Starts a run of the uploads source; while another run holds the lock, retries until it can. */
class UploadIngestion {
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly deps: AppDeps) {}

  async start(): Promise<{ run_id: number | null; status: 'running' | 'queued' | 'unavailable' | 'failed'; message?: string }> {
    const start = this.deps.startIngestion;
    if (!start) return { run_id: null, status: 'unavailable', message: 'this server process cannot start ingestion; run `kb ingest --source uploads`' };
    try {
      const { run_id } = await start({ sources: [UPLOADS_SOURCE] });
      return { run_id, status: 'running' };
    } catch (err) {
      if ((err as { code?: string }).code !== 'ingest_running' && (err as Error).name !== 'LockBusyError') {
        // The upload is stored either way: the next run (scheduled, or started by hand) ingests it.
        this.deps.log.error({ err }, 'could not start the ingestion run for uploads');
        return { run_id: null, status: 'failed', message: `the ingestion run could not start (${(err as Error).message}); the files are stored and the next run ingests them` };
      }
      this.retryLater();
      return { run_id: null, status: 'queued', message: 'another ingestion run is in progress; this upload is ingested by a run started when it ends' };
    }
  }

  private retryLater(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.deps.lifecycle.closing) return;
      this.start().catch((err: unknown) => this.deps.log.error({ err }, 'could not start the ingestion run for uploads'));
    }, this.deps.config.uploads.ingest_retry_seconds * 1000);
    this.timer.unref();
  }
}

function canSee(s: RequestState, meta: UploadMeta): boolean {
  const key = s.key;
  return !key || hasScope(key, 'admin') || (meta.uploaded_by.key_id !== null && meta.uploaded_by.key_id === key.id);
}

export function uploadRoutes(deps: AppDeps, guard: RequestHandler[]): Router {
  const r = Router();
  const cfg = deps.config.uploads;
  const ingestion = new UploadIngestion(deps);
  const incoming = multer({
    dest: os.tmpdir(),
    // Browsers send UTF-8 file names without declaring a charset (multer's default would read them as latin1).
    defParamCharset: 'utf8',
    limits: { fileSize: cfg.max_file_bytes, files: cfg.max_files_per_request, fields: 20, fieldSize: 64 * 1024 },
  }).array('file', cfg.max_files_per_request);

  const receive = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      if (!req.is('multipart/form-data')) return resolve();
      incoming(req, res, (err: unknown) => {
        if (!err) return resolve();
        const code = (err as { code?: string }).code;
        if (code === 'LIMIT_FILE_SIZE') return reject(new HttpError(413, `A file is larger than uploads.max_file_bytes (${cfg.max_file_bytes} bytes).`, 'invalid_request_error', 'file_too_large', 'file'));
        if (code === 'LIMIT_FILE_COUNT') return reject(new HttpError(413, `Too many files: at most ${cfg.max_files_per_request} per request (uploads.max_files_per_request).`, 'invalid_request_error', 'too_many_files', 'file'));
        if (code === 'LIMIT_UNEXPECTED_FILE') return reject(new HttpError(400, 'Send files in the multipart field "file".', 'invalid_request_error', 'unexpected_field', (err as { field?: string }).field ?? null));
        if (code?.startsWith('LIMIT_')) return reject(new HttpError(400, `Multipart request refused: ${(err as Error).message}`, 'invalid_request_error', 'invalid_multipart'));
        if (err instanceof Error && /Multipart|Unexpected end|boundary/i.test(err.message)) return reject(new HttpError(400, `Malformed multipart body: ${err.message}`, 'invalid_request_error', 'invalid_multipart'));
        reject(err);
      });
    });

  r.post('/uploads', routeLabel('/v1/uploads'), sameSiteOnly, ...guard, async (req, res) => {
    if (!cfg.enabled) throw new HttpError(404, 'Uploads are disabled on this server (uploads.enabled).', 'not_found_error', 'uploads_disabled');
    await receive(req, res);
    const files = ((req.files as Express.Multer.File[] | undefined) ?? []).map(
      (f): IncomingFile => ({ originalName: f.originalname, tempPath: f.path, bytes: f.size, contentType: f.mimetype || null }),
    );
    try {
      const s = state(res);
      let records: z.infer<typeof recordSchema>[] | undefined;
      let groupsRaw: unknown;
      let kindRaw: unknown;
      if (req.is('multipart/form-data')) {
        const body = (req.body ?? {}) as Record<string, unknown>;
        groupsRaw = body.acl_groups;
        kindRaw = body.kind;
      } else {
        const body = parseBody(
          z
            .object({
              records: z.array(recordSchema).min(1).max(cfg.max_records_per_request),
              acl_groups: z.array(z.string()).optional(),
              kind: kinds.optional(),
            })
            .strict(),
          req.body,
        );
        records = body.records;
        groupsRaw = body.acl_groups;
        kindRaw = body.kind;
      }
      const aclGroups = resolveUploadGroups(s, groupsParam(groupsRaw));
      const kind = kindParam(kindRaw, cfg.default_kind);
      let meta: UploadMeta;
      try {
        meta = createUpload(deps.config, { files, records, aclGroups, kind, uploader: { keyId: s.key?.id ?? null, name: s.key?.name ?? null } });
      } catch (err) {
        throw toHttp(err);
      }
      s.log.info({ upload: meta.id, files: meta.files.length, acl_groups: aclGroups }, 'upload stored');
      const run = await ingestion.start();
      res.status(202).json({ object: 'upload', ...uploadStatus(deps.db, meta), ingestion: run });
    } finally {
      for (const f of files) fs.rm(f.tempPath, { force: true }, () => {});
    }
  });

  r.get('/uploads', routeLabel('/v1/uploads'), ...guard, async (_req, res) => {
    const s = state(res);
    const all = (await listUploads(deps.config)).filter((m) => canSee(s, m));
    res.json({ object: 'list', data: all.map((m) => uploadStatus(deps.db, m)) });
  });

  const find = async (req: Request, res: Response): Promise<UploadMeta> => {
    const meta = await getUpload(deps.config, String(req.params.id)).catch(() => null);
    // Someone else's upload answers like a missing one: ids are not a way to probe.
    if (!meta || !canSee(state(res), meta)) throw new HttpError(404, `No upload '${req.params.id}'.`, 'not_found_error', 'upload_not_found', 'id');
    return meta;
  };

  r.get('/uploads/:id', routeLabel('/v1/uploads/:id'), ...guard, async (req, res) => {
    res.json({ object: 'upload', ...uploadStatus(deps.db, await find(req, res)) });
  });

  r.delete('/uploads/:id', routeLabel('/v1/uploads/:id'), sameSiteOnly, ...guard, async (req, res) => {
    const meta = await find(req, res);
    let removed;
    try {
      removed = deleteUpload(deps.config, deps.db, meta);
    } catch (err) {
      throw toHttp(err);
    }
    state(res).log.info({ upload: meta.id, ...removed }, 'upload deleted');
    res.json({ object: 'upload.deleted', id: meta.id, deleted: true, documents: removed.documents, chunks: removed.chunks });
  });
  return r;
}
