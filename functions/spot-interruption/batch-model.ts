// What one batch of spot events is made of and reports: the handler's dependencies, the items,
// each instance's outcome, and the work a batch gathers per cluster.

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Clock } from '../shared/clock.ts';
import type { LocatedInstance } from '../shared/container-instances.ts';
import type { Db } from '../shared/dynamo.ts';
import type { JournalEntry } from '../shared/journal.ts';
import type { Log } from '../shared/logger.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import type { CapacityRequest } from '../shared/spot/capacity.ts';
import type { RememberedFailure } from '../shared/spot/capacity-failures.ts';
import type { SpotInterruptionEnv } from '../shared/spot/config.ts';
import type { Completion, Episode } from '../shared/spot/episodes.ts';
import { INTENT_RANK, type InstanceSignal, type Intent, intentOf } from '../shared/spot/signals.ts';
import type { FallbackOutcome } from './fargate-fallback.ts';
import type { FollowUpOutcome } from './follow-ups.ts';
import type { ExperimentOutcome } from './game-days.ts';
import type { AppliedProtection } from './protection.ts';

export interface SpotDeps {
  ecs: ECSClient;
  autoscaling: AutoScalingClient;
  sfn: SFNClient;
  /** Alerts go onto the alert queue; the alert-router publishes them. */
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: SpotInterruptionEnv;
  log: Log;
  /** Identifies this invocation as the holder of leases. */
  owner: string;
}

export interface BatchItem {
  /** SQS message id, or the event id for a direct invocation. */
  id: string;
  body: unknown;
}

export interface InstanceOutcome {
  instanceId: string;
  cluster?: string;
  containerInstanceArn?: string;
  intent?: Intent;
  result:
    | 'drained'
    | 'surging'
    | 'observed'
    | 'duplicate'
    | 'already-draining'
    | 'unmanaged'
    | 'busy'
    | 'failed';
  reason: string;
  /** Drained: from the interruption notice to the drain call's answer. */
  noticeToDrainMs?: number;
}

export interface BatchReport {
  received: number;
  invalid: { id: string; field: string; problem: string; received?: unknown; message: string }[];
  instances: InstanceOutcome[];
  tasks: {
    taskArn: string;
    cluster: string;
    result: 'noted' | 'duplicate' | 'unmanaged' | 'covered' | 'busy';
  }[];
  capacity: CapacityRequest[];
  /** Services scaled out before a drain so that it keeps their minimum healthy (protection.ts). */
  protections: (AppliedProtection & { cluster: string })[];
  /** Launch failures of managed groups, remembered to steer replacements (capacity-failures.ts). */
  capacityFailures: RememberedFailure[];
  /** Fargate services considered for the Fargate Spot fallback, and what was done (fargate-fallback.ts). */
  fargateFallbacks: FallbackOutcome[];
  /** FIS experiments starting or ending, noted once each (game-days.ts). */
  experiments: ExperimentOutcome[];
  /** Follow-ups received: give-backs, rebalance rechecks, moves back to Fargate Spot (follow-ups.ts). */
  followUps: FollowUpOutcome[];
  surgeExecutions: string[];
  alerts: number;
  drainCalls: number;
  /** Items to hand back to SQS for a retry (and, after the last retry, the dead-letter queue). */
  failedItemIds: string[];
}

export const LEASE_MS = 60_000;
export const TWO_MINUTES = 120_000;

interface Candidate {
  where: LocatedInstance;
  intent: Intent;
  signal: InstanceSignal;
  signals: InstanceSignal[];
  itemIds: string[];
}

export interface Claimed extends Candidate {
  episode: Episode;
  previous: Episode | undefined;
}

export interface ClusterWork {
  cluster: ManagedCluster;
  candidates: Candidate[];
  claimed: Claimed[];
}

export const newClusterWork = (cluster: ManagedCluster): ClusterWork => ({
  cluster,
  candidates: [],
  claimed: [],
});

export function strongestSignal(signals: InstanceSignal[], cluster: ManagedCluster) {
  let best = {
    signal: signals[0] as InstanceSignal,
    intent: intentOf(signals[0] as InstanceSignal, cluster.rebalance),
  };
  for (const signal of signals.slice(1)) {
    const intent = intentOf(signal, cluster.rebalance);
    if (INTENT_RANK[intent] > INTENT_RANK[best.intent]) best = { signal, intent };
  }
  return best;
}

export interface Progress {
  completions: Map<string, Completion>;
  journal: JournalEntry[];
}

/** An AWS call that failed past the SDK's retries (a service's answer, or none): worth retrying. */
export function isAwsFailure(error: unknown): boolean {
  const e = error as { $metadata?: unknown; $fault?: unknown; name?: string };
  return e?.$metadata !== undefined || e?.$fault !== undefined || /Timeout/.test(e?.name ?? '');
}
