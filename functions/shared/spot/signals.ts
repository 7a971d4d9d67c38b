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
  /** RUNNING on the two-minute notice; ECS repeats the stop code on the task's later changes. */
  lastStatus?: string;
  noticeAt: string;
  eventId: string;
}

/** A managed Auto Scaling group could not launch an instance (capacity-failures.ts remembers it). */
export interface CapacityFailureSignal {
  kind: 'capacity-failure';
  group: string;
  availabilityZone?: string;
  /** Named by EC2's message when it was short of one type ("sufficient m5.large capacity"). */
  instanceType?: string;
  cause: string;
  at: string;
  eventId: string;
}

/** An FIS experiment started (running) or ended: a game day's bracket (game-days.ts). */
export interface ExperimentSignal {
  kind: 'experiment';
  experimentId: string;
  templateId?: string;
  /** running opens the bracket; completed, stopped or failed close it. */
  status: string;
  reason?: string;
  at: string;
  eventId: string;
}

export type Signal = InstanceSignal | TaskSignal | CapacityFailureSignal | ExperimentSignal;

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
        ...(event.detail.lastStatus ? { lastStatus: event.detail.lastStatus } : {}),
        noticeAt: event.time,
        eventId: event.id,
      };
    case 'EC2 Instance Launch Unsuccessful': {
      const zone = event.detail.Details['Availability Zone'];
      const message = [event.detail.StatusMessage, event.detail.Cause].filter(Boolean).join(' ');
      const type = /sufficient ([a-z][a-z0-9-]*\.[a-z0-9]+) capacity/.exec(message)?.[1];
      return {
        kind: 'capacity-failure',
        group: event.detail.AutoScalingGroupName,
        ...(typeof zone === 'string' && zone ? { availabilityZone: zone } : {}),
        ...(type ? { instanceType: type } : {}),
        cause: (event.detail.StatusMessage || event.detail.Cause || 'launch failed').slice(0, 500),
        at: event.time,
        eventId: event.id,
      };
    }
    case 'FIS Experiment State Change': {
      const templateId = event.detail['experiment-template-id'];
      const reason = event.detail['new-state'].reason;
      return {
        kind: 'experiment',
        experimentId: event.detail['experiment-id'],
        ...(templateId ? { templateId } : {}),
        status: event.detail['new-state'].status,
        ...(reason ? { reason } : {}),
        at: event.time,
        eventId: event.id,
      };
    }
  }
}

export function intentOf(signal: InstanceSignal, rebalanceMode: RebalanceMode): Intent {
  if (signal.channel === 'warning') return 'drain';
  return rebalanceMode === 'drain' ? 'drain' : rebalanceMode === 'surge' ? 'surge' : 'observe';
}
