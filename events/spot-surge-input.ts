// Input of the spot-surge workflow (started by the spot-interruption function, or by hand).
import { z } from 'zod';

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
  startedAt: isoTime,
  deadline: isoTime,
});
export type SpotSurgeInput = z.infer<typeof SpotSurgeInputSchema>;

export const SurgeStatusSchema = z.enum(['waiting', 'drained', 'superseded', 'expired', 'no-replacements']);

export const SpotSurgeStateSchema = SpotSurgeInputSchema.extend({
  status: SurgeStatusSchema,
  checks: z.number().int().min(0),
  registered: z.number().int().min(0).optional(),
  note: z.string().optional(),
});
export type SpotSurgeState = z.infer<typeof SpotSurgeStateSchema>;
