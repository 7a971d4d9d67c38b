import * as z from '../../events/zod.ts';

/** The header CloudFront adds to every request it sends to the HTTP API (infra/application/cdn.ts). */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/** How long the authorizer keeps the secret's value before reading it again. */
export const DEFAULT_SECRET_CACHE_SECONDS = 300;

export const OriginVerifyEnvSchema = z.object({
  /** The Secrets Manager secret holding the value CloudFront sends in the header. */
  ORIGIN_VERIFY_SECRET_ARN: z.string().check(z.minLength(1)),
  /** A changed value is picked up at most this long after it was put into the secret. */
  ORIGIN_VERIFY_CACHE_SECONDS: z._default(
    z.coerce.number().check(z.int(), z.gte(0), z.lte(3600)),
    DEFAULT_SECRET_CACHE_SECONDS,
  ),
});
export type OriginVerifyEnv = z.infer<typeof OriginVerifyEnvSchema>;
export type OriginVerifyEnvInput = z.input<typeof OriginVerifyEnvSchema>;
