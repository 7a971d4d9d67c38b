// Environment schemas, defined once: infra builds each function's environment from
// these keys, the handler parses its environment with them at cold start, tests reuse them.
import * as z from 'zod';
import { parseOrThrow } from './validation.ts';

const nonEmpty = z.string().min(1);

/**
 * What every control-plane function needs: state tables and the alert queue. Producers raise
 * alerts onto the queue; only the alert-router knows the topics (functions/alert-router/config.ts).
 */
export const ControlPlaneEnvSchema = z.object({
  JOURNAL_TABLE: nonEmpty,
  LOCKS_TABLE: nonEmpty,
  IDEMPOTENCY_TABLE: nonEmpty,
  ALERT_QUEUE_URL: nonEmpty,
  /** Free-form name of the deployment (dev, prod), shown in alerts. */
  OPS_ENVIRONMENT: z.string().default('local'),
});
export type ControlPlaneEnv = z.infer<typeof ControlPlaneEnvSchema>;

/** A JSON-encoded environment variable, parsed with a schema. */
export function jsonEnv<S extends z.ZodType>(schema: S) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  return parseOrThrow(schema, env, 'env');
}
