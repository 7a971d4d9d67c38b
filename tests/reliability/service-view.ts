// What the crash and race tests read back from the emulator about web/api: its task sets, the
// production listener's weights, the service lock, and the rollout workflow's Lambda actions as
// the synthesized definition names them. Reads go straight to the emulator (observer clients),
// past any fault proxy: the rig is not under test.
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { serviceLockResource } from '../../functions/shared/service-lock.ts';
import { readJournal } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { observerClient, observerDocumentClient } from '../../local/observer.ts';
import { type MinuteOfTraffic, putTargetGroupMetrics, rolloutEnvironment } from '../../local/rollouts.ts';
import type { Seed } from '../../local/seed.ts';
import { deployedWorkflow } from '../../local/workflows.ts';

export const CLUSTER = 'web';
export const SERVICE = 'api';

export interface TaskSetView {
  arn: string;
  status: string;
  externalId: string;
  targetGroup: string;
  image: string;
  scale: number | undefined;
}

export interface ServiceView {
  desiredCount: number;
  taskSets: TaskSetView[];
  /** Production listener weights by target group ARN, as the load balancer reports them. */
  weights: Record<string, number>;
}

export async function serviceView(seedWorld: Seed): Promise<ServiceView> {
  const ecs = observerClient(ECSClient);
  const out = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }));
  const service = out.services?.[0];
  const taskSets: TaskSetView[] = [];
  for (const s of service?.taskSets ?? []) {
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: s.taskDefinition }));
    taskSets.push({
      arn: s.taskSetArn as string,
      status: s.status as string,
      externalId: s.externalId ?? '',
      targetGroup: s.loadBalancers?.[0]?.targetGroupArn as string,
      image: td.taskDefinition?.containerDefinitions?.[0]?.image as string,
      scale: s.scale?.value,
    });
  }
  const listeners = await observerClient(ElasticLoadBalancingV2Client).send(
    new DescribeListenersCommand({ ListenerArns: [seedWorld.loadBalancer.listenerArn] }),
  );
  const groups = listeners.Listeners?.[0]?.DefaultActions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  return {
    desiredCount: service?.desiredCount ?? -1,
    taskSets,
    weights: Object.fromEntries(groups.map((g) => [g.TargetGroupArn as string, g.Weight ?? 0])),
  };
}

export const primaryOf = (view: ServiceView): TaskSetView | undefined =>
  view.taskSets.find((t) => t.status === 'PRIMARY');

/**
 * The invariant every crash and race must leave: the listener entirely on one target group
 * (100/0 or 0/100, never in between), exactly one PRIMARY task set, and it is the one behind the
 * group that takes all traffic. `strays` says whether a non-primary task set may remain (a
 * frozen rollout leaves green beside blue, at 0%, by design).
 */
export function expectConsistent(label: string, view: ServiceView, opts: { strays?: boolean } = {}): void {
  const weights = Object.values(view.weights).sort((a, b) => a - b);
  expect(weights, `${label}: listener weights ${JSON.stringify(view.weights)}`).toEqual([0, 100]);
  const primaries = view.taskSets.filter((t) => t.status === 'PRIMARY');
  expect(
    primaries.map((t) => t.arn),
    `${label}: primary task sets`,
  ).toHaveLength(1);
  const primary = primaries[0] as TaskSetView;
  expect(view.weights[primary.targetGroup], `${label}: weight of the primary's target group`).toBe(100);
  if (!opts.strays) {
    expect(
      view.taskSets.map((t) => `${t.status} ${t.externalId}`),
      `${label}: task sets besides the primary`,
    ).toHaveLength(1);
  }
}

/** The service lock's raw item (an expired lease still shows: a leak must not hide behind time). */
export async function serviceLockItem(stack: DeployedStack): Promise<Record<string, unknown> | undefined> {
  const env = rolloutEnvironment(stack);
  const out = await observerDocumentClient().send(
    new GetCommand({
      TableName: env.LOCKS_TABLE,
      Key: { resource: serviceLockResource(CLUSTER, SERVICE) },
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

export async function journal(stack: DeployedStack): Promise<JournalRecord[]> {
  return readJournal(rolloutEnvironment(stack).JOURNAL_TABLE as string);
}

/**
 * Journal records one rollout execution wrote, oldest first. With `sinceMs` (no earlier than the
 * run's clock started) only the service's records from then on are read, not the whole table.
 */
export async function rolloutJournal(
  stack: DeployedStack,
  executionArn: string,
  sinceMs?: number,
): Promise<JournalRecord[]> {
  const records = sinceMs === undefined ? await journal(stack) : await serviceJournalSince(stack, sinceMs);
  return records.filter((r) => r.details?.execution === executionArn);
}

async function serviceJournalSince(stack: DeployedStack, sinceMs: number): Promise<JournalRecord[]> {
  const db = observerDocumentClient();
  const records: JournalRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new QueryCommand({
        TableName: rolloutEnvironment(stack).JOURNAL_TABLE,
        KeyConditionExpression: '#r = :r AND #a >= :since',
        ExpressionAttributeNames: { '#r': 'resource', '#a': 'at' },
        ExpressionAttributeValues: {
          ':r': serviceLockResource(CLUSTER, SERVICE),
          ':since': new Date(sinceMs).toISOString(),
        },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    records.push(...((out.Items ?? []) as JournalRecord[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => a.at.localeCompare(b.at));
}

interface AslState {
  Type?: string;
  Resource?: unknown;
  Parameters?: Record<string, unknown>;
  States?: Record<string, AslState>;
  Branches?: { States: Record<string, AslState> }[];
  ItemProcessor?: { States: Record<string, AslState> };
  Iterator?: { States: Record<string, AslState> };
}

/**
 * Every Lambda action of the deployed blue-green-rollout definition, as `<function>:<action>`
 * (the `action` field of the task's payload), with the states that ask for it. Read from the
 * synthesized definition, so a new task shows up here without anyone listing it.
 */
export function rolloutLambdaActions(stack: DeployedStack): Map<string, string[]> {
  const definition = deployedWorkflow(stack, 'blue-green-rollout').definition as {
    States: Record<string, AslState>;
  };
  const functions = Object.values(stack.functions);
  const functionOf = (ref: unknown) =>
    typeof ref === 'string'
      ? functions.find((f) => f.arn === ref || ref.endsWith(`:function:${f.name}`))?.name
      : undefined;
  const found = new Map<string, string[]>();
  const visit = (states: Record<string, AslState>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') {
        const direct = functionOf(state.Resource);
        const fn = direct ?? functionOf(state.Parameters?.FunctionName);
        if (fn) {
          const payload = (direct ? state.Parameters : state.Parameters?.Payload) as
            | Record<string, unknown>
            | undefined;
          const action = payload?.action;
          if (typeof action !== 'string') throw new Error(`task "${name}" of ${fn} names no action`);
          const key = `${fn}:${action}`;
          found.set(key, [...(found.get(key) ?? []), name]);
        }
      }
      for (const branch of state.Branches ?? []) visit(branch.States);
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) visit(inner.States);
    }
  };
  visit(definition.States);
  return found;
}

/** `<function>:<action>` of a Lambda task's event, as rolloutLambdaActions names it. */
export function actionKey(functionName: string, event: unknown): string {
  const action = (event as { action?: unknown } | null)?.action;
  return `${functionName}:${typeof action === 'string' ? action : '?'}`;
}

const healthy = (minute: number): MinuteOfTraffic => ({
  requests: 1000 + (minute % 7) * 13,
  errors: minute % 3 === 0 ? 1 : 0,
  latencyMs: 48 + (minute % 5),
});
const failing = (): MinuteOfTraffic => ({ requests: 1000, errors: 120, latencyMs: 50 });

/**
 * Load balancer metrics for the next half hour from `fromMs`, one datapoint a minute per target
 * group as the ALB publishes them: the live (primary) group healthy, the idle one (where green
 * goes) healthy or answering 12% 5xx.
 */
export async function writeTraffic(
  seedWorld: Seed,
  view: ServiceView,
  fromMs: number,
  green: 'healthy' | 'failing',
): Promise<void> {
  const live = primaryOf(view);
  if (!live) throw new Error('the service has no primary task set');
  const lb = seedWorld.loadBalancer;
  const idle = live.targetGroup === lb.blueTargetGroupArn ? lb.greenTargetGroupArn : lb.blueTargetGroupArn;
  const window = { loadBalancerArn: lb.arn, from: fromMs - 2 * 60_000, to: fromMs + 30 * 60_000 };
  await putTargetGroupMetrics({ ...window, targetGroupArn: live.targetGroup, traffic: healthy });
  await putTargetGroupMetrics({
    ...window,
    targetGroupArn: idle,
    traffic: green === 'failing' ? failing : healthy,
  });
}
