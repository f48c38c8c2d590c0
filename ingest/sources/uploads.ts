import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { SourceConfig } from '../../src/config/index.ts';
import type { FilesConfig } from '../../src/config/sections/files.ts';
import { FolderReader } from './folder.ts';
import type { SourceItem, SourceReader } from './types.ts';

// The managed `uploads` source: a folder source over <data_dir>/uploads where every upload is a
// folder <id>/ holding the uploaded file(s) and a hidden `.upload.json` written by the upload API.
// The folder reader parses the files (so every format it learns, uploads learn too); this reader
// then applies the upload's metadata. ACL groups come ONLY from that metadata: front matter in an
// uploaded Markdown file cannot widen or change who may read it, and a file whose metadata is
// missing or unreadable is quarantined rather than ingested with a guessed ACL.

export const UPLOADS_SOURCE = 'uploads';
export const UPLOAD_META_FILE = '.upload.json';

export const uploadMetaSchema = z
  .object({
    id: z.string(),
    acl_groups: z.array(z.string()),
    kind: z.enum(['news', 'comment', 'post']),
    uploaded_by: z.object({ key_id: z.number().int().nullable(), name: z.string().nullable() }),
    created_at: z.string(),
    files: z.array(z.object({ name: z.string(), original_name: z.string(), bytes: z.number().int(), content_type: z.string().nullable() })),
    records: z.number().int().nonnegative().default(0),
  })
  .strict();
export type UploadMeta = z.infer<typeof uploadMetaSchema>;

/** Reads and validates an upload's metadata; throws with a reason the operator can act on. */
export async function readUploadMeta(uploadDir: string): Promise<UploadMeta> {
  const file = path.join(uploadDir, UPLOAD_META_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${UPLOAD_META_FILE} is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${UPLOAD_META_FILE} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = uploadMetaSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${UPLOAD_META_FILE} is invalid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export class UploadsReader implements SourceReader {
  private readonly folder: FolderReader;
  constructor(
    private readonly dir: string,
    source: SourceConfig,
    files?: FilesConfig,
  ) {
    // The upload's metadata decides its ACL: what a file says about its own groups is not read at all.
    this.folder = new FolderReader(dir, source, files, false);
  }

  async *read(): AsyncGenerator<SourceItem> {
    const metas = new Map<string, UploadMeta | Error>();
    for await (const item of this.folder.read()) {
      const uploadId = item.locator.split('/')[0];
      if (!item.locator.includes('/')) {
        // A file dropped straight into uploads/ by hand has no upload metadata (no ACL decision).
        yield item.ok ? { ok: false, locator: item.locator, raw: item.raw, reason: 'invalid_upload', detail: 'files in the uploads folder must sit in an upload folder written by the upload API' } : item;
        continue;
      }
      if (!item.ok) {
        yield item;
        continue;
      }
      let meta = metas.get(uploadId);
      if (!meta) {
        meta = await readUploadMeta(path.join(this.dir, uploadId)).catch((err: Error) => err);
        metas.set(uploadId, meta);
      }
      if (meta instanceof Error) {
        yield { ok: false, locator: item.locator, raw: item.raw, reason: 'invalid_upload', detail: meta.message };
        continue;
      }
      yield { ...item, record: { ...item.record, aclGroups: [...meta.acl_groups], kind: meta.kind } };
    }
  }
}
