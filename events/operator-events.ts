// The AWS events operators of an ECS estate expect to hear about, as EventBridge delivers them:
// their detail types, schemas and rule patterns, defined once for the event-alerts function, its
// rules and the tests. Each follows an AWS documentation page (events/samples/README.md lists
// the sample of each and its page). Schemas name only what the alerts read; AWS adds fields.
import { ALARM_STATE_CHANGE_DETAIL_TYPE, AlarmStateChangeSchema } from './alarm-state-change.ts';
import { EventBridgeEnvelope } from './eventbridge-envelope.ts';
import type { EventPattern } from './patterns.ts';
import * as z from './zod.ts';

export const ECS_DEPLOYMENT_STATE_CHANGE = 'ECS Deployment State Change';
export const ECS_SERVICE_ACTION = 'ECS Service Action';
export const AWS_HEALTH_EVENT = 'AWS Health Event';
export const ASG_LAUNCH_UNSUCCESSFUL = 'EC2 Instance Launch Unsuccessful';

const nonEmpty = z.string().check(z.minLength(1));

/** A failed ECS deployment (the deployment circuit breaker's, or a failed rollback). */
export const EcsDeploymentFailedSchema = z.extend(EventBridgeEnvelope, {
  source: z.literal('aws.ecs'),
  'detail-type': z.literal(ECS_DEPLOYMENT_STATE_CHANGE),
  resources: z.array(z.string()).check(z.minLength(1, 'expected the service ARN')),
  detail: z.looseObject({
    eventType: z.string(),
    eventName: z.literal('SERVICE_DEPLOYMENT_FAILED'),
    deploymentId: nonEmpty,
    updatedAt: z.optional(z.string()),
    reason: z._default(z.string(), ''),
  }),
});
export type EcsDeploymentFailed = z.infer<typeof EcsDeploymentFailedSchema>;

/** A service action ECS reports as a warning or an error (placement failures, throttling, ...). */
export const EcsServiceActionSchema = z.extend(EventBridgeEnvelope, {
  source: z.literal('aws.ecs'),
  'detail-type': z.literal(ECS_SERVICE_ACTION),
  resources: z.array(z.string()).check(z.minLength(1, 'expected the service ARN')),
  detail: z.looseObject({
    eventType: z.enum(['INFO', 'WARN', 'ERROR']),
    eventName: nonEmpty,
    clusterArn: nonEmpty,
    createdAt: z.optional(z.string()),
    reason: z.optional(z.string()),
    capacityProviderArns: z.optional(z.array(z.string())),
    containerInstanceArns: z.optional(z.array(z.string())),
    // Shapes not documented: kept loose, only strings are read.
    targets: z.optional(z.array(z.unknown())),
  }),
});
export type EcsServiceAction = z.infer<typeof EcsServiceActionSchema>;

/** An AWS Health event of a service the estate runs on (ECS, EC2). */
export const AwsHealthEventSchema = z.extend(EventBridgeEnvelope, {
  source: z.literal('aws.health'),
  'detail-type': z.literal(AWS_HEALTH_EVENT),
  detail: z.looseObject({
    eventArn: nonEmpty,
    service: nonEmpty,
    eventTypeCode: nonEmpty,
    eventTypeCategory: z.enum(['issue', 'accountNotification', 'scheduledChange', 'investigation']),
    statusCode: z.optional(z.enum(['open', 'closed', 'upcoming'])),
    startTime: z.optional(z.string()),
    endTime: z.optional(z.string()),
    eventRegion: z.optional(z.string()),
    eventDescription: z._default(
      z.array(z.looseObject({ language: z.optional(z.string()), latestDescription: z.string() })),
      [],
    ),
    affectedEntities: z._default(z.array(z.looseObject({ entityValue: z.string() })), []),
    /** A long entity list is split over pages, each with the same eventArn (strings, e.g. "1"). */
    page: z.optional(z.string()),
    totalPages: z.optional(z.string()),
  }),
});
export type AwsHealthEvent = z.infer<typeof AwsHealthEventSchema>;

/** An Auto Scaling group that could not launch an instance. */
export const AsgLaunchUnsuccessfulSchema = z.extend(EventBridgeEnvelope, {
  source: z.literal('aws.autoscaling'),
  'detail-type': z.literal(ASG_LAUNCH_UNSUCCESSFUL),
  detail: z.looseObject({
    AutoScalingGroupName: nonEmpty,
    StatusCode: z.optional(z.string()),
    StatusMessage: z._default(z.string(), ''),
    Cause: z._default(z.string(), ''),
    Description: z._default(z.string(), ''),
    ActivityId: z.optional(z.string()),
    // Availability Zone and Subnet ID are strings; a scaling alarm's launch adds InvokingAlarms (objects).
    Details: z._default(z.record(z.string(), z.unknown()), {}),
  }),
});
export type AsgLaunchUnsuccessful = z.infer<typeof AsgLaunchUnsuccessfulSchema>;

/** Every event event-alerts takes, told apart by its detail type. */
export const OperatorEventSchema = z.discriminatedUnion('detail-type', [
  EcsDeploymentFailedSchema,
  EcsServiceActionSchema,
  AwsHealthEventSchema,
  AsgLaunchUnsuccessfulSchema,
  AlarmStateChangeSchema,
]);
export type OperatorEvent = z.infer<typeof OperatorEventSchema>;

/** The health of the services the estate runs on: AWS Health speaks of them by these codes. */
export const HEALTH_SERVICES = ['ECS', 'EC2'] as const;

/** ECS service actions that need a person; INFO ones (steady state) do not. */
export const SERVICE_ACTION_TYPES = ['WARN', 'ERROR'] as const;

/**
 * Names of the alarms on the control plane itself that reach people through the alert router.
 * The alarms on the alert path (the router, event-alerts and their queues) are named under
 * lastResortAlarmPrefix instead and notify SNS directly: when the path is what fails, an alarm
 * routed through it would never arrive.
 */
export const routedAlarmPrefix = (environmentPrefix: string): string => `${environmentPrefix}-control-plane-`;
export const lastResortAlarmPrefix = (environmentPrefix: string): string =>
  `${environmentPrefix}-alert-path-`;

/** `prefix` takes one string in AWS's patterns: several prefixes are several matchers. */
const anyPrefix = (prefixes: readonly string[]) => prefixes.map((prefix) => ({ prefix }));

/** The patterns of the event-alerts rules, by rule id. */
export function operatorEventPatterns(scope: {
  /** ARNs of the managed clusters. */
  clusterArns: readonly string[];
  /** `arn:aws:ecs:<region>:<account>:service/<cluster>/` of each managed cluster. */
  serviceArnPrefixes: readonly string[];
  /** The managed clusters' Auto Scaling groups. */
  autoScalingGroups: readonly string[];
  /** routedAlarmPrefix of the environment. */
  alarmPrefix: string;
}): Record<string, EventPattern> {
  const patterns: Record<string, EventPattern> = {
    EcsDeploymentFailed: {
      source: ['aws.ecs'],
      'detail-type': [ECS_DEPLOYMENT_STATE_CHANGE],
      resources: anyPrefix(scope.serviceArnPrefixes),
      detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
    },
    EcsServiceAction: {
      source: ['aws.ecs'],
      'detail-type': [ECS_SERVICE_ACTION],
      detail: {
        eventType: [...SERVICE_ACTION_TYPES],
        // ECS reports a failed deployment twice, as a service action and as a deployment state
        // change: the EcsDeploymentFailed rule alerts on it once.
        eventName: [{ 'anything-but': ['SERVICE_DEPLOYMENT_FAILED'] }],
        clusterArn: [...scope.clusterArns],
      },
    },
    AwsHealth: {
      source: ['aws.health'],
      'detail-type': [AWS_HEALTH_EVENT],
      detail: { service: [...HEALTH_SERVICES] },
    },
    ControlPlaneAlarm: {
      source: ['aws.cloudwatch'],
      'detail-type': [ALARM_STATE_CHANGE_DETAIL_TYPE],
      detail: { alarmName: [{ prefix: scope.alarmPrefix }], state: { value: ['ALARM', 'OK'] } },
    },
  };
  if (scope.autoScalingGroups.length > 0)
    patterns.AsgLaunchUnsuccessful = asgLaunchUnsuccessfulPattern(scope.autoScalingGroups);
  return patterns;
}

/** Launch failures of the named Auto Scaling groups (event alerts announce them, spot handling remembers them). */
export function asgLaunchUnsuccessfulPattern(groups: readonly string[]): EventPattern {
  return {
    source: ['aws.autoscaling'],
    'detail-type': [ASG_LAUNCH_UNSUCCESSFUL],
    detail: { AutoScalingGroupName: [...groups] },
  };
}
