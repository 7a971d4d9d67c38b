// Fargate Spot fallback, carried out: Fargate Spot reclaims are counted per service (a set of
// tasks per minute, so a redelivered event counts once); past the cluster's threshold the service
// moves to FARGATE as a new deployment, journaled and announced, and a follow-up on the
// function's own queue moves it back once no reclaim came for the quiet period. Each service's
// moves happen under a lock on its strategy, recorded before they are made.
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FargateShiftBack } from '../../events/spot-follow-up.ts';
import { consoleLinks, raiseAlert } from '../shared/alerts.ts';
import { iso } from '../shared/clock.ts';
import { ttlSeconds } from '../shared/dynamo.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import { withLockWaiting } from '../shared/lock.ts';
import type { ManagedCluster } from '../shared/managed-clusters.ts';
import { recentlyInterrupted, recordInterruptions } from '../shared/spot/capacity.ts';
import type { TaskSignal } from '../shared/spot/signals.ts';
import type { SpotDeps } from './batch-model.ts';
import {
  decideShift,
  type FallbackRecord,
  type FallbackSettings,
  fallbackStrategy,
  type StrategyItem,
  secondsUntilQuiet,
  shiftsWith,
} from './fargate-fallback-rules.ts';
import { serviceOfGroup } from './protection-rules.ts';

export interface FallbackOutcome {
  cluster: string;
  service: string;
  action: 'shift' | 'extend' | 'bounded' | 'none' | 'shift-back' | 'waiting' | 'superseded';
  why: string;
}

const recordId = (cluster: string, service: string) => `fargate-fallback#${cluster}/${service}`;
const reclaimKey = (cluster: string, service: string) => `fargate/${cluster}/${service}`;
const strategyLock = (cluster: string, service: string) => `strategy/${cluster}/${service}`;

/** Counts the batch's reclaims per service and moves those past their cluster's threshold. */
export async function fargateFallbacks(
  deps: SpotDeps,
  clusters: ReadonlyMap<string, ManagedCluster>,
  signals: readonly TaskSignal[],
): Promise<FallbackOutcome[]> {
  const byService = new Map<string, { cluster: ManagedCluster; service: string; tasks: Set<string> }>();
  for (const s of signals) {
    const cluster = clusters.get(s.clusterName);
    const service = serviceOfGroup(s.group);
    if (!cluster?.fargateFallback || !service || !cluster.fargateFallback.services.includes(service))
      continue;
    const key = reclaimKey(cluster.name, service);
    const entry = byService.get(key) ?? { cluster, service, tasks: new Set<string>() };
    entry.tasks.add(s.taskArn);
    byService.set(key, entry);
  }
  const outcomes: FallbackOutcome[] = [];
  for (const [key, { cluster, service, tasks }] of byService) {
    const settings = cluster.fargateFallback as FallbackSettings;
    const table = deps.env.OPERATIONS_TABLE;
    await recordInterruptions(deps.db, table, deps.clock, key, [...tasks]);
    const reclaimed = (await recentlyInterrupted(deps.db, table, deps.clock, key, settings.windowMinutes))
      .size;
    outcomes.push(
      await underStrategyLock(deps, cluster.name, service, () =>
        consider(deps, cluster.name, service, settings, reclaimed),
      ),
    );
  }
  return outcomes;
}

function underStrategyLock<T>(
  deps: SpotDeps,
  cluster: string,
  service: string,
  fn: () => Promise<T>,
): Promise<T> {
  return withLockWaiting(
    deps.db,
    deps.env.LOCKS_TABLE,
    deps.clock,
    {
      resource: strategyLock(cluster, service),
      owner: deps.owner,
      leaseMs: 30_000,
      reason: 'Fargate Spot fallback',
    },
    fn,
  );
}

async function readRecord(
  deps: SpotDeps,
  cluster: string,
  service: string,
): Promise<FallbackRecord | undefined> {
  const out = await deps.db.send(
    new GetCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Key: { id: recordId(cluster, service) },
      ConsistentRead: true,
    }),
  );
  return out.Item as FallbackRecord | undefined;
}

async function writeRecord(deps: SpotDeps, cluster: string, service: string, record: FallbackRecord) {
  await deps.db.send(
    new PutCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Item: {
        id: recordId(cluster, service),
        ...record,
        expiresAt: ttlSeconds(deps.clock.now() + 7 * 24 * 3600_000),
      },
    }),
  );
}

async function strategyOf(
  deps: SpotDeps,
  cluster: string,
  service: string,
): Promise<StrategyItem[] | undefined> {
  const out = await deps.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = out.services?.find((s) => s.serviceName === service && s.status === 'ACTIVE');
  return found ? ((found.capacityProviderStrategy ?? []) as StrategyItem[]) : undefined;
}

/** ECS changes a service's capacity provider strategy only with a new deployment. */
async function setStrategy(deps: SpotDeps, cluster: string, service: string, strategy: StrategyItem[]) {
  await deps.ecs.send(
    new UpdateServiceCommand({
      cluster,
      service,
      capacityProviderStrategy: strategy,
      forceNewDeployment: true,
    }),
  );
}

async function consider(
  deps: SpotDeps,
  cluster: string,
  service: string,
  settings: FallbackSettings,
  reclaimed: number,
): Promise<FallbackOutcome> {
  const now = deps.clock.now();
  const record = await readRecord(deps, cluster, service);
  const strategy = record?.state === 'fallback' ? [] : await strategyOf(deps, cluster, service);
  if (strategy === undefined) return { cluster, service, action: 'none', why: 'the service is not active' };
  const decision = decideShift(record, reclaimed, strategy, settings, now);
  const outcome = { cluster, service, action: decision.action, why: decision.why };
  if (decision.action === 'none') return outcome;
  if (decision.action === 'extend') {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.env.OPERATIONS_TABLE,
        Key: { id: recordId(cluster, service) },
        UpdateExpression: 'SET lastReclaimMs = :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return outcome;
  }
  if (decision.action === 'bounded') {
    if (decision.announce) {
      await writeRecord(deps, cluster, service, { ...(record as FallbackRecord), boundNoticeMs: now });
      await journal(deps, cluster, service, 'fargate-spot-fallback', 'unchanged', decision.why, {
        reclaimed,
      });
      await announce(
        deps,
        cluster,
        service,
        'firing',
        'warning',
        `Fargate Spot keeps reclaiming ${service} in ${cluster}`,
        decision.why,
        `fargate-fallback-bound/${cluster}/${service}`,
        [
          'Move it to FARGATE for longer (ops scale, or its capacity provider strategy), or lower its Fargate Spot share in the config.',
        ],
      );
    }
    return outcome;
  }
  // The move: recorded first, so that a crash after the call still moves it back; undone if the call fails.
  const since = iso(now);
  const moved: FallbackRecord = {
    state: 'fallback',
    since,
    before: strategy,
    shifts: shiftsWith(record, now),
    lastReclaimMs: now,
  };
  await writeRecord(deps, cluster, service, moved);
  const target = fallbackStrategy(strategy);
  try {
    await setStrategy(deps, cluster, service, target);
  } catch (error) {
    await writeRecord(deps, cluster, service, record ?? { state: 'spot', shifts: [] }).catch(() => undefined);
    throw error;
  }
  await journal(deps, cluster, service, 'fargate-spot-fallback', 'changed', decision.why, {
    reclaimed,
    before: strategy,
    after: target,
  });
  await announce(
    deps,
    cluster,
    service,
    'firing',
    'warning',
    `${service} in ${cluster} moved off Fargate Spot`,
    `${decision.why}. A new deployment moves its tasks; it moves back by itself.`,
    `fargate-fallback/${cluster}/${service}/${since}`,
    [
      `Nothing to do. ops journal shows the move; it moves back after ${settings.quietMinutes} min without a reclaim.`,
    ],
  );
  await scheduleShiftBack(
    deps,
    { followUp: 'fargate-shift-back', cluster, service, since },
    settings.quietMinutes * 60,
  );
  return outcome;
}

async function scheduleShiftBack(deps: SpotDeps, f: FargateShiftBack, seconds: number) {
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.env.SPOT_QUEUE_URL,
      MessageBody: JSON.stringify(f),
      DelaySeconds: Math.max(1, Math.min(seconds, deps.env.FARGATE_SHIFT_BACK_CHECK_SECONDS)),
    }),
  );
}

/** The follow-up: back to the strategy before the move once it has been quiet; else look again later. */
export async function shiftBack(deps: SpotDeps, f: FargateShiftBack): Promise<FallbackOutcome> {
  const { cluster, service } = f;
  const settings = deps.env.MANAGED_CLUSTERS.find((c) => c.name === cluster)?.fargateFallback;
  return underStrategyLock(deps, cluster, service, async () => {
    const record = await readRecord(deps, cluster, service);
    if (record?.state !== 'fallback' || record.since !== f.since)
      return {
        cluster,
        service,
        action: 'superseded' as const,
        why: 'a later move supersedes this follow-up',
      };
    const wait = settings ? secondsUntilQuiet(record, settings, deps.clock.now()) : 0;
    if (wait > 0) {
      await scheduleShiftBack(deps, f, wait);
      return {
        cluster,
        service,
        action: 'waiting' as const,
        why: `${wait} s until it has been quiet long enough`,
      };
    }
    const before = record.before ?? [];
    await setStrategy(deps, cluster, service, before);
    const { lastReclaimMs: _ended, ...moves } = record;
    await writeRecord(deps, cluster, service, { ...moves, state: 'spot' });
    const why = `no Fargate Spot reclaim for ${settings?.quietMinutes ?? 0} min: back to its own strategy`;
    await journal(deps, cluster, service, 'fargate-spot-shift-back', 'changed', why, { after: before });
    await announce(
      deps,
      cluster,
      service,
      'resolved',
      'warning',
      `${service} in ${cluster} back on Fargate Spot`,
      why,
      `fargate-fallback/${cluster}/${service}/${f.since}`,
      [],
    );
    return { cluster, service, action: 'shift-back' as const, why };
  });
}

function journal(
  deps: SpotDeps,
  cluster: string,
  service: string,
  action: string,
  outcome: JournalEntry['outcome'],
  reason: string,
  details: Record<string, unknown>,
) {
  return writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, [
    {
      resource: `service/${cluster}/${service}`,
      action,
      outcome,
      reason,
      trigger: { kind: 'fargate-spot' },
      actor: deps.owner,
      details,
    },
  ]);
}

function announce(
  deps: SpotDeps,
  cluster: string,
  service: string,
  state: 'firing' | 'resolved',
  severity: 'warning' | 'info',
  title: string,
  summary: string,
  dedupKey: string,
  nextSteps: string[],
) {
  return raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
    severity,
    state,
    kind: 'fargate-spot-fallback',
    cluster,
    service,
    title,
    summary,
    resources: [`service/${cluster}/${service}`],
    whatHappened:
      state === 'firing'
        ? 'Fargate Spot reclaimed its tasks more often than allowed.'
        : 'No reclaim came for the quiet period.',
    whatWeDid:
      state === 'firing'
        ? 'Moved it to FARGATE with a new deployment.'
        : 'Moved it back to its own capacity provider strategy with a new deployment.',
    nextSteps,
    dedupKey,
    links: consoleLinks(process.env.AWS_REGION, { cluster }),
    at: iso(deps.clock.now()),
  });
}
