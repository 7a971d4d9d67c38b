// Environment schemas, defined once: infra builds each function's environment from
// these keys, the handler parses its environment with them at cold start, tests reuse them.
import * as z from '../../events/zod.ts';
import { parseOrThrow } from './validation.ts';

const nonEmpty = z.string().check(z.minLength(1));

/**
 * What every control-plane function needs: state tables and the alert queue. Producers raise
 * alerts onto the queue; only the alert-router knows the topics (functions/alert-router/config.ts).
 */
export const ControlPlaneEnvSchema = z.object({
  JOURNAL_TABLE: nonEmpty,
  LOCKS_TABLE: nonEmpty,
  OPERATIONS_TABLE: nonEmpty,
  ALERT_QUEUE_URL: nonEmpty,
  /** Free-form name of the deployment (dev, prod), shown in alerts. */
  OPS_ENVIRONMENT: z._default(z.string(), 'local'),
});
export type ControlPlaneEnv = z.infer<typeof ControlPlaneEnvSchema>;

/** A JSON-encoded environment variable, parsed with a schema. */
export function jsonEnv<S extends z.ZodMiniType>(schema: S) {
  return z.pipe(
    z.pipe(
      z.string(),
      z.transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.issues.push({ code: 'custom', message: 'expected JSON', input: text });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );
}

export function parseEnv<S extends z.ZodMiniType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  return parseOrThrow(schema, env, 'env');
}
