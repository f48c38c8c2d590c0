import { z } from 'zod';

// `snapshot:` section — index snapshots for API replicas on separate data folders (issue 14).
// The ingestion side publishes to `target`; each replica (`kb serve --snapshot-from`) polls
// `source`, downloads a newer snapshot into its own data folder, verifies it and hot-swaps.
export const snapshotSchema = z
  .object({
    target: z.string(),
    source: z.string(),
    publish_after_ingest: z.boolean(),
    keep: z.number().int().min(1),
    poll_interval_ms: z.number().int().min(100),
    tmp_max_age_minutes: z.number().int().min(1),
  })
  .strict();
export type SnapshotConfig = z.infer<typeof snapshotSchema>;
