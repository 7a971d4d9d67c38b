// Input of the spot-surge workflow (started by the spot-interruption function, or by hand).
import * as z from './zod.ts';

const isoTime = z.iso.datetime({ offset: true });

export const SpotSurgeInputSchema = z.object({
  cluster: z.string().check(z.minLength(1)),
  instances: z
    .array(
      z.object({
        instanceId: z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id')),
        containerInstanceArn: z.string().check(z.startsWith('arn:')),
      }),
    )
    .check(z.minLength(1), z.maxLength(500)),
  /** How many replacement instances were requested; 0 means none could be (drain waits for the warning). */
  replacements: z.number().check(z.int(), z.gte(0)),
  /** When capacity was requested; replacements are instances registered after it. Default: now. */
  startedAt: z.optional(isoTime),
  /** When to stop waiting. Default: startedAt + 30 minutes; at most 90 minutes after startedAt. */
  deadline: z.optional(isoTime),
});
export type SpotSurgeInput = z.infer<typeof SpotSurgeInputSchema>;

export const MAX_SURGE_MINUTES = 90;
export const DEFAULT_SURGE_MINUTES = 30;

export const SurgeStatusSchema = z.enum(['waiting', 'drained', 'superseded', 'expired', 'no-replacements']);

export const SpotSurgeStateSchema = z.extend(SpotSurgeInputSchema, {
  startedAt: isoTime,
  deadline: isoTime,
  status: SurgeStatusSchema,
  checks: z.number().check(z.int(), z.gte(0)),
  registered: z.optional(z.number().check(z.int(), z.gte(0))),
  note: z.optional(z.string()),
});
export type SpotSurgeState = z.infer<typeof SpotSurgeStateSchema>;
