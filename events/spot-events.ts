// Schemas of the events the spot-interruption function accepts. Parsed at the edge;
// a failure names the field (see describeZodError) and changes nothing.
import * as z from 'zod';
import { EventBridgeEnvelope as Envelope } from './eventbridge-envelope.ts';
import {
  ECS_TASK_STATE_CHANGE_DETAIL_TYPE,
  FARGATE_SPOT_STOP_CODES,
  REBALANCE_DETAIL_TYPE,
  SPOT_WARNING_DETAIL_TYPE,
} from './patterns.ts';

const instanceId = z
  .string()
  .regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id like i-0123456789abcdef0');

export const SpotInterruptionWarningSchema = Envelope.extend({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal(SPOT_WARNING_DETAIL_TYPE),
  detail: z.object({
    'instance-id': instanceId,
    'instance-action': z.enum(['hibernate', 'stop', 'terminate']),
  }),
});

export const RebalanceRecommendationSchema = Envelope.extend({
  source: z.literal('aws.ec2'),
  'detail-type': z.literal(REBALANCE_DETAIL_TYPE),
  detail: z.object({ 'instance-id': instanceId }),
});

export const FargateSpotTaskInterruptionSchema = Envelope.extend({
  source: z.literal('aws.ecs'),
  'detail-type': z.literal(ECS_TASK_STATE_CHANGE_DETAIL_TYPE),
  detail: z.object({
    taskArn: z.string().startsWith('arn:'),
    clusterArn: z.string().startsWith('arn:'),
    stopCode: z.enum(FARGATE_SPOT_STOP_CODES),
    group: z.string().optional(),
    availabilityZone: z.string().optional(),
    capacityProviderName: z.string().optional(),
    launchType: z.string().optional(),
    containerInstanceArn: z.string().optional(),
    stoppingAt: z.string().optional(),
    version: z.number().int().optional(),
  }),
});

export const SpotEventSchema = z.discriminatedUnion('detail-type', [
  SpotInterruptionWarningSchema,
  RebalanceRecommendationSchema,
  FargateSpotTaskInterruptionSchema,
]);

export type SpotInterruptionWarning = z.infer<typeof SpotInterruptionWarningSchema>;
export type RebalanceRecommendation = z.infer<typeof RebalanceRecommendationSchema>;
export type FargateSpotTaskInterruption = z.infer<typeof FargateSpotTaskInterruptionSchema>;
export type SpotEvent = z.infer<typeof SpotEventSchema>;
