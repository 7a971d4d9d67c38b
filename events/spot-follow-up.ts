// Follow-ups the spot-interruption function sends itself on its own queue, delayed: give back a
// pre-scale once the interrupted instance is gone, put back an instance a rebalance drained
// when no warning followed, and move a Fargate service back to Fargate Spot after a quiet period. Parsed at the edge like any event; a bad one names its field.
import * as z from './zod.ts';

const nonEmpty = z.string().check(z.minLength(1));
const count = z.number().check(z.int(), z.gte(0));

export const RestorePrescaleSchema = z.strictObject({
  followUp: z.literal('restore-prescale'),
  /** Unique per pre-scale: a follow-up sent twice restores once. */
  prescaleId: z.string().check(z.regex(/^[0-9a-f]{16,64}$/)),
  cluster: nonEmpty,
  service: nonEmpty,
  /** Tasks added to the desired count, and the desired count before. */
  added: z.number().check(z.int(), z.gte(1)),
  before: count,
  prescaledAt: z.iso.datetime(),
});

export const RecheckRebalanceSchema = z.strictObject({
  followUp: z.literal('recheck-rebalance'),
  cluster: nonEmpty,
  instanceId: z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/)),
  containerInstanceArn: z.string().check(z.startsWith('arn:')),
  /** The episode the rebalance drain belongs to: a later one is not put back by this follow-up. */
  episodeOpenedAt: z.iso.datetime(),
});

export const FargateShiftBackSchema = z.strictObject({
  followUp: z.literal('fargate-shift-back'),
  cluster: nonEmpty,
  service: nonEmpty,
  /** The move to FARGATE this follow-up belongs to: a later move is not undone by it. */
  since: z.iso.datetime(),
});

export const SpotFollowUpSchema = z.discriminatedUnion('followUp', [
  RestorePrescaleSchema,
  RecheckRebalanceSchema,
  FargateShiftBackSchema,
]);
export type FargateShiftBack = z.infer<typeof FargateShiftBackSchema>;
export type RestorePrescale = z.infer<typeof RestorePrescaleSchema>;
export type RecheckRebalance = z.infer<typeof RecheckRebalanceSchema>;
export type SpotFollowUp = z.infer<typeof SpotFollowUpSchema>;
