// Turns accepted events into interruption signals. One EC2 instance can be announced through
// several channels (rebalance, warning, the tasks' own events); they share one episode.

import { type SpotEvent, SpotEventSchema } from '../../../events/spot-events.ts';
import { clusterNameOfArn } from '../ecs-arns.ts';
import type { RebalanceMode } from '../managed-clusters.ts';
import { parseOrThrow } from '../validation.ts';

export type Intent = 'observe' | 'surge' | 'drain';

/** Stronger intents win: a warning upgrades a surge to a drain, never the reverse. */
export const INTENT_RANK: Record<Intent, number> = { observe: 1, surge: 2, drain: 3 };

export interface InstanceSignal {
  kind: 'ec2';
  channel: 'warning' | 'rebalance';
  instanceId: string;
  noticeAt: string;
  eventId: string;
  instanceAction?: string;
}

export interface TaskSignal {
  kind: 'fargate-task';
  channel: 'task';
  taskArn: string;
  clusterArn: string;
  clusterName: string;
  group?: string;
  availabilityZone?: string;
  containerInstanceArn?: string;
  noticeAt: string;
  eventId: string;
}

export type Signal = InstanceSignal | TaskSignal;

export function parseSpotEvent(raw: unknown): SpotEvent {
  return parseOrThrow(SpotEventSchema, raw);
}

export function toSignal(event: SpotEvent): Signal {
  switch (event['detail-type']) {
    case 'EC2 Spot Instance Interruption Warning':
      return {
        kind: 'ec2',
        channel: 'warning',
        instanceId: event.detail['instance-id'],
        instanceAction: event.detail['instance-action'],
        noticeAt: event.time,
        eventId: event.id,
      };
    case 'EC2 Instance Rebalance Recommendation':
      return {
        kind: 'ec2',
        channel: 'rebalance',
        instanceId: event.detail['instance-id'],
        noticeAt: event.time,
        eventId: event.id,
      };
    case 'ECS Task State Change':
      return {
        kind: 'fargate-task',
        channel: 'task',
        taskArn: event.detail.taskArn,
        clusterArn: event.detail.clusterArn,
        clusterName: clusterNameOfArn(event.detail.clusterArn),
        ...(event.detail.group ? { group: event.detail.group } : {}),
        ...(event.detail.availabilityZone ? { availabilityZone: event.detail.availabilityZone } : {}),
        ...(event.detail.containerInstanceArn
          ? { containerInstanceArn: event.detail.containerInstanceArn }
          : {}),
        noticeAt: event.time,
        eventId: event.id,
      };
  }
}

export function intentOf(signal: InstanceSignal, rebalanceMode: RebalanceMode): Intent {
  if (signal.channel === 'warning') return 'drain';
  return rebalanceMode === 'drain' ? 'drain' : rebalanceMode === 'surge' ? 'surge' : 'observe';
}
