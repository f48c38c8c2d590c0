import { z } from 'zod';

// `uploads:` section — files and records added through POST /v1/uploads (see config/default.yaml).
// Kinds are spelled out here (not imported from ../schema.ts) to avoid an import cycle.
export const uploadsSchema = z
  .object({
    enabled: z.boolean(),
    max_file_bytes: z.number().int().min(1024),
    max_files_per_request: z.number().int().min(1).max(100),
    max_records_per_request: z.number().int().min(1).max(10_000),
    default_kind: z.enum(['news', 'comment', 'post']),
    ingest_retry_seconds: z.number().int().min(1),
  })
  .strict();
export type UploadsConfig = z.infer<typeof uploadsSchema>;
