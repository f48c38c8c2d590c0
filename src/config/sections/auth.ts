import { z } from 'zod';

// `auth:` section — API-key protection of /v1 routes (see config/default.yaml).
export const authSchema = z
  .object({
    rate_limit: z
      .object({
        requests_per_minute: z.number().int().positive(),
        burst: z.number().int().positive(),
      })
      .strict(),
    max_body_bytes: z.number().int().min(1024),
  })
  .strict();
export type AuthConfig = z.infer<typeof authSchema>;
