import { z } from 'zod';

/**
 * How /v1 is protected. Explicit, never inferred from how many keys exist: inferring it meant that
 * revoking the last key silently turned authentication off.
 *   off      — no key is checked; the server refuses to bind anything but a loopback address.
 *   required — every /v1 request needs an active key; with none, every request is refused (401).
 */
export const authModes = ['off', 'required'] as const;
export type AuthMode = (typeof authModes)[number];

// `auth:` section — API-key protection of /v1 routes (see config/default.yaml).
export const authSchema = z
  .object({
    mode: z.enum(authModes),
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
