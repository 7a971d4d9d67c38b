// Input of the spot-surge workflow (started by the spot-interruption function, or by hand).
import * as z from 'zod';

const isoTime = z.iso.datetime({ offset: true });

export const SpotSurgeInputSchema = z.object({
  cluster: z.string().min(1),
  instances: z
    .array(
      z.object({
        instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id'),
        containerInstanceArn: z.string().startsWith('arn:'),
      }),
    )
    .min(1)
    .max(500),
  /** How many replacement instances were requested; 0 means none could be (drain waits for the warning). */
  replacements: z.number().int().min(0),
  /** When capacity was requested; replacements are instances registered after it. Default: now. */
  startedAt: isoTime.optional(),
  /** When to stop waiting. Default: startedAt + 30 minutes; at most 90 minutes after startedAt. */
  deadline: isoTime.optional(),
});
export type SpotSurgeInput = z.infer<typeof SpotSurgeInputSchema>;

export const MAX_SURGE_MINUTES = 90;
export const DEFAULT_SURGE_MINUTES = 30;

export const SurgeStatusSchema = z.enum(['waiting', 'drained', 'superseded', 'expired', 'no-replacements']);

export const SpotSurgeStateSchema = SpotSurgeInputSchema.extend({
  startedAt: isoTime,
  deadline: isoTime,
  status: SurgeStatusSchema,
  checks: z.number().int().min(0),
  registered: z.number().int().min(0).optional(),
  note: z.string().optional(),
});
export type SpotSurgeState = z.infer<typeof SpotSurgeStateSchema>;
