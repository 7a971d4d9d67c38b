// Schemas of the events the spot-interruption function accepts. Parsed at the edge;
// a failure names the field (see describeZodError) and changes nothing.

import { EventBridgeEnvelope as Envelope } from './eventbridge-envelope.ts';
import { AsgLaunchUnsuccessfulSchema } from './operator-events.ts';
import {
  ECS_TASK_STATE_CHANGE_DETAIL_TYPE,
  FARGATE_SPOT_STOP_CODES,
  FIS_STATE_CHANGE_DETAIL_TYPE,
  REBALANCE_DETAIL_TYPE,
  SPOT_WARNING_DETAIL_TYPE,
} from './patterns.ts';
import * as z from './zod.ts';

const instanceId = z
  .string()
  .check(z.regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id like i-0123456789abcdef0'));

export const SpotInterruptionWarningSchema = z.extend(Envelope, {
  source: z.literal('aws.ec2'),
  'detail-type': z.literal(SPOT_WARNING_DETAIL_TYPE),
  detail: z.object({
    'instance-id': instanceId,
    'instance-action': z.enum(['hibernate', 'stop', 'terminate']),
  }),
});

export const RebalanceRecommendationSchema = z.extend(Envelope, {
  source: z.literal('aws.ec2'),
  'detail-type': z.literal(REBALANCE_DETAIL_TYPE),
  detail: z.object({ 'instance-id': instanceId }),
});

export const FargateSpotTaskInterruptionSchema = z.extend(Envelope, {
  source: z.literal('aws.ecs'),
  'detail-type': z.literal(ECS_TASK_STATE_CHANGE_DETAIL_TYPE),
  detail: z.object({
    taskArn: z.string().check(z.startsWith('arn:')),
    clusterArn: z.string().check(z.startsWith('arn:')),
    stopCode: z.enum(FARGATE_SPOT_STOP_CODES),
    lastStatus: z.optional(z.string()),
    group: z.optional(z.string()),
    availabilityZone: z.optional(z.string()),
    capacityProviderName: z.optional(z.string()),
    launchType: z.optional(z.string()),
    containerInstanceArn: z.optional(z.string()),
    stoppingAt: z.optional(z.string()),
    version: z.optional(z.number().check(z.int())),
  }),
});

/** Every state FIS documents for an experiment; the rule lets through those that bracket a game day. */
const FIS_EXPERIMENT_STATUSES = [
  'pending',
  'initiating',
  'running',
  'completed',
  'stopping',
  'stopped',
  'failed',
  'cancelled',
] as const;

const ExperimentState = z.object({
  status: z.enum(FIS_EXPERIMENT_STATUSES),
  reason: z.optional(z.string()),
});

export const FisExperimentStateChangeSchema = z.extend(Envelope, {
  source: z.literal('aws.fis'),
  'detail-type': z.literal(FIS_STATE_CHANGE_DETAIL_TYPE),
  detail: z.object({
    // FIS promises ids of at most 64 characters without spaces, no more (EXP… in its samples).
    'experiment-id': z
      .string()
      .check(z.regex(/^\S{1,64}$/, 'expected an FIS experiment id such as EXPaBCD1efg2HIJkL3')),
    'experiment-template-id': z.optional(z.string().check(z.regex(/^\S{1,64}$/))),
    'new-state': ExperimentState,
    'old-state': z.optional(ExperimentState),
  }),
});

export const SpotEventSchema = z.discriminatedUnion('detail-type', [
  SpotInterruptionWarningSchema,
  RebalanceRecommendationSchema,
  FargateSpotTaskInterruptionSchema,
  // A managed group that could not launch: remembered, so replacements go elsewhere for a while.
  AsgLaunchUnsuccessfulSchema,
  // An FIS experiment starting or ending: the interruptions in between are a game day's.
  FisExperimentStateChangeSchema,
]);

export type SpotInterruptionWarning = z.infer<typeof SpotInterruptionWarningSchema>;
export type RebalanceRecommendation = z.infer<typeof RebalanceRecommendationSchema>;
export type FargateSpotTaskInterruption = z.infer<typeof FargateSpotTaskInterruptionSchema>;
export type FisExperimentStateChange = z.infer<typeof FisExperimentStateChangeSchema>;
export type SpotEvent = z.infer<typeof SpotEventSchema>;
