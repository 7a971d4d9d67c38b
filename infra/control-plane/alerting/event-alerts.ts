// The events operators expect, and the alarms on the control plane itself, as alerts: one rule
// per kind of event (events/operator-events.ts) -> an encrypted queue -> the event-alerts function
// -> one alert each on the alert queue, where the router silences, deduplicates and groups them
// like every other alert. ECS events are scoped to the managed clusters, launch failures to their
// Auto Scaling groups; AWS Health speaks for the account's ECS and EC2.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { operatorEventPatterns, routedAlarmPrefix } from '../../../events/operator-events.ts';
import type { EventAlertsEnvInput } from '../../../functions/event-alerts/config.ts';
import type { ManagedCluster } from '../../../functions/shared/managed-clusters.ts';
import { resourcePrefix } from '../../config.ts';
import { BundledFunction, lambdaEnvironment } from '../shared/bundled-function.ts';
import {
  consumeQueue,
  EVENT_SOURCE_MAX_CONCURRENCY,
  eventQueue,
  routeEventsToQueue,
} from '../shared/event-queue.ts';
import { ecsClusterArn } from '../shared/resource-arns.ts';
import type { AlertTopics } from './alert-topics.ts';
import type { Alerting } from './alerting.ts';

export interface EventAlertsProps {
  readonly managedClusters: readonly ManagedCluster[];
  readonly topics: AlertTopics;
  readonly alerting: Alerting;
  readonly environmentName: string;
  readonly assetRoot?: string;
}

export const EVENT_ALERTS_BATCH = {
  batchSize: 50,
  maxBatchingWindow: Duration.seconds(1),
  maxConcurrency: EVENT_SOURCE_MAX_CONCURRENCY,
} as const;
export const EVENT_ALERTS_MAX_RECEIVE_COUNT = 3;
const EVENT_ALERTS_TIMEOUT = Duration.seconds(30);

export class EventAlerts extends Construct {
  readonly function: BundledFunction;
  readonly queue: sqs.Queue;
  readonly queueDlq: sqs.Queue;
  readonly deliveryDlq: sqs.Queue;
  readonly rules: events.Rule[];

  constructor(scope: Construct, id: string, props: EventAlertsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const clusters = props.managedClusters.map((c) => c.name);
    const patterns = operatorEventPatterns({
      clusterArns: clusters.map((c) => ecsClusterArn(stack, c)),
      serviceArnPrefixes: clusters.map((c) =>
        stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${c}/` }),
      ),
      autoScalingGroups: [
        ...new Set(
          props.managedClusters.flatMap((c) => [c.spotAsg, c.onDemandAsg]).filter((g) => g !== undefined),
        ),
      ],
      alarmPrefix: routedAlarmPrefix(resourcePrefix({ name: props.environmentName })),
    });

    const target = eventQueue(this, {
      key: props.topics.key,
      visibilityTimeout: Duration.seconds(
        6 * EVENT_ALERTS_TIMEOUT.toSeconds() + EVENT_ALERTS_BATCH.maxBatchingWindow.toSeconds(),
      ),
      // News a day old is in the AWS console by then; the queue is not an archive.
      retentionPeriod: Duration.days(1),
      maxReceiveCount: EVENT_ALERTS_MAX_RECEIVE_COUNT,
      holds: 'events',
    });
    this.queue = target.queue;
    this.queueDlq = target.queueDlq;
    this.deliveryDlq = target.deliveryDlq;
    this.rules = routeEventsToQueue(
      this,
      target,
      Object.entries(patterns).map(([ruleId, pattern]) => ({
        id: ruleId,
        description: `ecs-ops ${props.environmentName}: ${ruleId} -> event-alerts queue`,
        pattern: pattern as events.EventPattern,
      })),
    );

    const env: EventAlertsEnvInput = {
      ...props.alerting.producerEnvironment(),
      OPS_ENVIRONMENT: props.environmentName,
      ON_DEMAND_GROUPS: props.managedClusters
        .map((c) => c.onDemandAsg)
        .filter((g) => g !== undefined)
        .join(','),
    };
    this.function = new BundledFunction(this, 'Function', {
      name: 'event-alerts',
      description:
        'ECS, AWS Health and Auto Scaling events, and alarms on the control plane -> one alert each',
      memorySize: 256,
      timeout: EVENT_ALERTS_TIMEOUT,
      environment: lambdaEnvironment(env),
      assetRoot: props.assetRoot,
    });
    consumeQueue(this.function.function, this.queue, EVENT_ALERTS_BATCH, EVENT_ALERTS_MAX_RECEIVE_COUNT);
    props.alerting.grantRaise(this.function.function);
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
  }
}
