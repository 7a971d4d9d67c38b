// What the rollout scenarios share: reading the world (service, listener, record, journal,
// alerts), writing its traffic, and the inputs they start from.
import { ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { RolloutInputDraft } from '../../events/rollout-input.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import { documentClient } from '../../functions/shared/dynamo.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { getRolloutRecord, type RolloutRecord } from '../../functions/shared/rollouts/record.ts';
import { serviceLockHolder } from '../../functions/shared/service-lock.ts';
import { readJournal } from '../../local/control-plane.ts';
import { observerClient } from '../../local/observer.ts';
import {
  type MinuteOfTraffic,
  putTargetGroupMetrics,
  rolloutEnvironment,
  takeRaisedAlerts,
} from '../../local/rollouts.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { WorkflowResult } from '../../local/workflow-runner.ts';
import { primaryOf, serviceView, type TaskSetView } from '../reliability/service-view.ts';
import type { RolloutWorld } from './world.ts';

const HOUR = 3_600_000;
export const CLUSTER = 'web';
export const SERVICE = 'api';

// ------------------------------------------------------------------------------------------
// Reading the world.

let slot = 0;
/** Each scenario lives hours after the previous one: its metrics never fall in another's bake window. */
export function scenarioClock(): VirtualClock {
  const clock = new VirtualClock();
  clock.advance(++slot * 6 * HOUR);
  return clock;
}

export const env = (world: RolloutWorld) => rolloutEnvironment(world.stack) as Record<string, string>;

interface ServiceState {
  taskSets: TaskSetView[];
  primary: TaskSetView;
  /** The target group not behind the primary task set: where the next green goes. */
  idleTargetGroup: string;
}

/** The service's task sets (read past any fault proxy), its primary, and the idle target group. */
export async function serviceState(world: RolloutWorld): Promise<ServiceState> {
  const view = await serviceView(world.seed);
  const primary = primaryOf(view);
  if (!primary) throw new Error('the service has no primary task set');
  const lb = world.seed.loadBalancer;
  const idleTargetGroup =
    primary.targetGroup === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn;
  return { taskSets: view.taskSets, primary, idleTargetGroup };
}

/** Listener weights by target group ARN, as the load balancer reports them. */
export async function listenerWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await awsClient(ElasticLoadBalancingV2Client).send(
    new DescribeListenersCommand({ ListenerArns: [world.seed.loadBalancer.listenerArn] }),
  );
  const groups = out.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

/** The test listener rule's weights by target group ARN, read straight from the emulator. */
export async function testRouteWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeRulesCommand({ RuleArns: [world.testListener.ruleArn] }),
  );
  const groups = out.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

/** Production listener weights, read past the fault proxy (for reads inside a hook). */
export async function observedListenerWeights(world: RolloutWorld): Promise<Record<string, number>> {
  const out = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeListenersCommand({ ListenerArns: [world.seed.loadBalancer.listenerArn] }),
  );
  const groups = out.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0]));
}

export async function journalOf(world: RolloutWorld, result: WorkflowResult): Promise<JournalRecord[]> {
  const all = await readJournal(env(world).JOURNAL_TABLE as string);
  return all.filter((r) => r.details?.execution === result.executionArn);
}

/** Green's weight after every shift, as read back from the listener and journaled. */
export const shiftedWeights = (journal: JournalRecord[]) =>
  journal.filter((r) => r.action === 'shift-traffic').map((r) => (r.after as { green: number }).green);

export async function record(world: RolloutWorld): Promise<RolloutRecord | undefined> {
  return getRolloutRecord(documentClient(), env(world).OPERATIONS_TABLE as string, CLUSTER, SERVICE);
}

export async function lockHolder(world: RolloutWorld, clock: VirtualClock) {
  return serviceLockHolder(documentClient(), env(world).LOCKS_TABLE as string, clock, CLUSTER, SERVICE);
}

export const takeAlerts = (world: RolloutWorld): Promise<Alert[]> =>
  takeRaisedAlerts(env(world).ALERT_QUEUE_URL as string, { collapseCopies: world.answersMayBeLost });

/** The first alert of `kind` raised from now on (others raised meanwhile are dropped). */
export async function waitForAlert(world: RolloutWorld, kind: string, timeoutMs = 20_000): Promise<Alert> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = (await takeAlerts(world)).find((a) => a.kind === kind);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no ${kind} alert within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything a rejected input must leave untouched. */
export async function snapshot(world: RolloutWorld) {
  const db = documentClient();
  const scan = async (table: string) =>
    ((await db.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) => JSON.stringify(i)).sort();
  const definitions = await awsClient(ECSClient).send(new ListTaskDefinitionsCommand({}));
  return {
    weights: await listenerWeights(world),
    service: await serviceState(world),
    taskDefinitions: definitions.taskDefinitionArns?.length,
    locks: await scan(env(world).LOCKS_TABLE as string),
    records: await scan(env(world).OPERATIONS_TABLE as string),
    journal: (await readJournal(env(world).JOURNAL_TABLE as string)).length,
  };
}

// ------------------------------------------------------------------------------------------
// Traffic the scenarios write: one datapoint per minute per target group, as the ALB publishes.

export const healthy = (minute: number): MinuteOfTraffic => ({
  requests: 1000 + (minute % 7) * 13,
  errors: minute % 3 === 0 ? 1 : 0,
  latencyMs: 48 + (minute % 5),
});

export async function writeTraffic(
  world: RolloutWorld,
  clock: VirtualClock,
  profiles: {
    live?: (minute: number, at: number) => MinuteOfTraffic;
    next?: (minute: number, at: number) => MinuteOfTraffic;
    /** How much virtual time the traffic covers (every bake must fall inside: no data is not a pass). */
    hours?: number;
  },
): Promise<ServiceState> {
  const state = await serviceState(world);
  const from = clock.now() - 2 * 60_000;
  const to = clock.now() + (profiles.hours ?? 2) * HOUR;
  const loadBalancerArn = world.seed.loadBalancer.arn;
  await putTargetGroupMetrics({
    loadBalancerArn,
    targetGroupArn: state.primary.targetGroup,
    from,
    to,
    traffic: profiles.live ?? healthy,
  });
  await putTargetGroupMetrics({
    loadBalancerArn,
    targetGroupArn: state.idleTargetGroup,
    from,
    to,
    traffic: profiles.next ?? healthy,
  });
  return state;
}

export const ANALYSIS = {
  maxErrorRate: 0.02,
  maxP95LatencyMs: 400,
  baseline: { enabled: true, confidence: 0.95, minSamples: 5 },
};

export function input(image: string, extra: Partial<RolloutInputDraft> = {}): RolloutInputDraft {
  return {
    cluster: CLUSTER,
    service: SERVICE,
    image,
    strategy: { type: 'canary', percent: 10, bakeSeconds: 300 },
    analysis: ANALYSIS,
    rollbackWindowSeconds: 600,
    terminationWaitSeconds: 300,
    requestedBy: 'scenario',
    ...extra,
  };
}

/** A rollout whose gates and window nobody answers: they time out quickly. */
export const quick = (clock: VirtualClock) => ({ clock, taskTokenTimeoutMs: 100 });

export async function waitForRecord(
  world: RolloutWorld,
  executionName: string,
  ready: (r: RolloutRecord) => boolean,
  timeoutMs = 20_000,
): Promise<RolloutRecord> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await record(world);
    if (r?.executionName === executionName && ready(r)) return r;
    if (Date.now() > until) throw new Error(`record of ${executionName} never got there (last: ${r?.phase})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Ends a scenario with the service back to one primary task set at 100%. */
export async function expectSettled(world: RolloutWorld, clock: VirtualClock, primaryImage: string) {
  const state = await serviceState(world);
  expect(state.taskSets.map((t) => t.status)).toEqual(['PRIMARY']);
  expect(state.primary.image).toBe(primaryImage);
  const weights = await listenerWeights(world);
  expect(weights[state.primary.targetGroup]).toBe(100);
  expect(weights[state.idleTargetGroup]).toBe(0);
  expect(await lockHolder(world, clock)).toBeUndefined();
}
