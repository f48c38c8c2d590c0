import { z } from 'zod';

// `store:` section — the SQLite store's start-up integrity check (see config/default.yaml).
export const storeSchema = z
  .object({
    check_on_start: z.enum(['quick', 'off']),
  })
  .strict();
export type StoreConfig = z.infer<typeof storeSchema>;
