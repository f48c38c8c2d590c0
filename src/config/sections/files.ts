import { z } from 'zod';

// `files:` section — limits on document files read by folder sources and uploads (PDF, DOCX,
// PPTX, XLSX are parsed in a worker thread; see ingest/sources/office).
export const filesSchema = z
  .object({
    max_bytes: z.number().int().positive(),
    parse_timeout_ms: z.number().int().positive(),
    parser_max_heap_mb: z.number().int().min(64),
  })
  .strict();
export type FilesConfig = z.infer<typeof filesSchema>;
