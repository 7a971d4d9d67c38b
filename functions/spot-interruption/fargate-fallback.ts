// Fargate Spot fallback, carried out: Fargate Spot reclaims are counted per service (a set of
// tasks per minute, so a redelivered event counts once); past the cluster's threshold the service
// moves to FARGATE as a new deployment, journaled and announced, and a follow-up on the
// function's own queue moves it back once no reclaim came for the quiet period. Each service's
// moves happen under a lock on its strategy, recorded before they are made.
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
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
  strategyToRestore,
} from './fargate-fallback-rules.ts';
import { sendFollowUps } from './follow-up-schedule.ts';
import { serviceOfGroup } from './protection-rules.ts';

export interface FallbackOutcome {
  cluster: string;
  service: string;
  action: 'shift' | 'extend' | 'none' | 'shift-back' | 'waiting' | 'superseded';
  why: string;
}

const recordId = (cluster: string, service: string) => `fargate-fallback#${cluster}/${service}`;
const reclaimKey = (cluster: string, service: string) => `fargate/${cluster}/${service}`;
const strategyLock = (cluster: string, service: string) => `strategy/${cluster}/${service}`;

/**
 * Counts the batch's reclaims per service and moves those past their cluster's threshold. A
 * service that fails leaves the others done: only its items are retried (`failedItemIds`).
 */
export async function fargateFallbacks(
  deps: SpotDeps,
  clusters: ReadonlyMap<string, ManagedCluster>,
  signals: readonly { signal: TaskSignal; itemId: string }[],
): Promise<{ outcomes: FallbackOutcome[]; failedItemIds: string[] }> {
  const byService = new Map<
    string,
    { cluster: ManagedCluster; service: string; tasks: Set<string>; itemIds: string[] }
  >();
  for (const { signal: s, itemId } of signals) {
    const cluster = clusters.get(s.clusterName);
    const service = serviceOfGroup(s.group);
    if (!cluster?.fargateFallback || !service || !cluster.fargateFallback.services.includes(service))
      continue;
    // The notice only: ECS repeats the stop code on the task's later changes (stopping, stopped).
    if (s.lastStatus !== undefined && s.lastStatus !== 'RUNNING') continue;
    const key = reclaimKey(cluster.name, service);
    const entry = byService.get(key) ?? { cluster, service, tasks: new Set<string>(), itemIds: [] };
    entry.tasks.add(s.taskArn);
    entry.itemIds.push(itemId);
    byService.set(key, entry);
  }
  const outcomes: FallbackOutcome[] = [];
  const failedItemIds: string[] = [];
  for (const [key, { cluster, service, tasks, itemIds }] of byService) {
    const settings = cluster.fargateFallback as FallbackSettings;
    const table = deps.env.OPERATIONS_TABLE;
    try {
      await recordInterruptions(deps.db, table, deps.clock, key, [...tasks]);
      const reclaimed = (await recentlyInterrupted(deps.db, table, deps.clock, key, settings.windowMinutes))
        .size;
      outcomes.push(
        await underStrategyLock(deps, cluster.name, service, () =>
          consider(deps, cluster.name, service, settings, reclaimed),
        ),
      );
    } catch (error) {
      deps.log.error('Fargate Spot fallback failed; its items are retried', {
        cluster: cluster.name,
        service,
        error: (error as Error).message,
      });
      failedItemIds.push(...itemIds);
    }
  }
  return { outcomes, failedItemIds };
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
  const strategy = await strategyOf(deps, cluster, service);
  if (strategy === undefined) return { cluster, service, action: 'none', why: 'the service is not active' };
  const decision = decideShift(record, reclaimed, strategy, settings, now);
  const outcome = { cluster, service, action: decision.action, why: decision.why };
  if (decision.action === 'none') return outcome;
  if (decision.action === 'extend') {
    const moved = record as FallbackRecord;
    await writeRecord(deps, cluster, service, { ...moved, lastReclaimMs: now });
    // A move whose announcement failed is announced by the next reclaim's batch.
    if (!moved.announcedAt && moved.since)
      await announceMove(deps, cluster, service, settings, moved, reclaimed, decision.why);
    return outcome;
  }
  // The move, recorded first with its follow-up on the way (a crash or a lost answer after this
  // point still ends in the move back, which is safe to repeat); undone only when ECS refused it.
  const since = iso(now);
  const moved: FallbackRecord = {
    state: 'fallback',
    since,
    before: strategy,
    shifts: shiftsWith(record, now),
    lastReclaimMs: now,
    ...(decision.pin ? { pinned: true } : {}),
  };
  await writeRecord(deps, cluster, service, moved);
  if (!decision.pin)
    await scheduleShiftBack(
      deps,
      { followUp: 'fargate-shift-back', cluster, service, since },
      settings.quietMinutes * 60,
    );
  try {
    await setStrategy(deps, cluster, service, fallbackStrategy(strategy));
  } catch (error) {
    if ((error as { $fault?: string }).$fault === 'client')
      await writeRecord(deps, cluster, service, record ?? { state: 'spot', shifts: [] }).catch(
        () => undefined,
      );
    throw error;
  }
  await announceMove(deps, cluster, service, settings, moved, reclaimed, decision.why);
  return outcome;
}

async function announceMove(
  deps: SpotDeps,
  cluster: string,
  service: string,
  settings: FallbackSettings,
  moved: FallbackRecord,
  reclaimed: number,
  why: string,
) {
  const before = moved.before ?? [];
  await journal(deps, cluster, service, 'fargate-spot-fallback', 'changed', why, {
    reclaimed,
    before,
    after: fallbackStrategy(before),
    ...(moved.pinned ? { pinned: true } : {}),
  });
  await announce(
    deps,
    cluster,
    service,
    'firing',
    'warning',
    moved.pinned
      ? `${service} in ${cluster} moved off Fargate Spot to stay`
      : `${service} in ${cluster} moved off Fargate Spot`,
    `${why}. A new deployment moves its tasks.`,
    `fargate-fallback/${cluster}/${service}/${moved.since}`,
    moved.pinned
      ? [
          `It stays on FARGATE: when Fargate Spot has capacity again, set its strategy back with a new deployment (aws ecs update-service --cluster ${cluster} --service ${service} --capacity-provider-strategy ... --force-new-deployment), or deploy the stack.`,
          'If this repeats, lower its fargateSpotPercent in the config.',
        ]
      : [
          `Nothing to do: it moves back after ${settings.quietMinutes} min without a reclaim. A stack deploy meanwhile may set its strategy back early.`,
        ],
  );
  await deps.db.send(
    new UpdateCommand({
      TableName: deps.env.OPERATIONS_TABLE,
      Key: { id: recordId(cluster, service) },
      UpdateExpression: 'SET announcedAt = :at',
      ConditionExpression: 'since = :since',
      ExpressionAttributeValues: { ':at': iso(deps.clock.now()), ':since': moved.since },
    }),
  );
}

async function scheduleShiftBack(deps: SpotDeps, f: FargateShiftBack, seconds: number) {
  const [problem] = await sendFollowUps(deps, [
    { message: f, delaySeconds: Math.max(1, Math.min(seconds, deps.env.FARGATE_SHIFT_BACK_CHECK_SECONDS)) },
  ]);
  // Without its follow-up nothing would move it back: fail, so the batch is retried.
  if (problem !== undefined)
    throw new Error(`the move back of ${f.service} could not be scheduled: ${problem}`);
}

/**
 * The follow-up: back to the strategy before the move once it has been quiet; else look again
 * later. A service gone, or whose strategy someone changed meanwhile (a deploy, a rollback), ends
 * the episode as it is.
 */
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
    const { lastReclaimMs: _ended, ...moves } = record;
    const current = await strategyOf(deps, cluster, service);
    const restore = current ? strategyToRestore(record, current) : undefined;
    if (restore) await setStrategy(deps, cluster, service, restore);
    await writeRecord(deps, cluster, service, { ...moves, state: 'spot' });
    const why = restore
      ? `no Fargate Spot reclaim for ${settings?.quietMinutes ?? 0} min: back to its own strategy`
      : current
        ? 'its strategy changed while it was on FARGATE (a deploy or a rollback): left as it is'
        : 'the service is no longer active: nothing to move back';
    await journal(
      deps,
      cluster,
      service,
      'fargate-spot-shift-back',
      restore ? 'changed' : 'unchanged',
      why,
      restore ? { after: restore } : { current },
    );
    // Either way the move's episode ends: resolved under the move's own key.
    await announce(
      deps,
      cluster,
      service,
      'resolved',
      'warning',
      restore ? `${service} in ${cluster} back on Fargate Spot` : `${service} in ${cluster}: fallback ended`,
      why,
      `fargate-fallback/${cluster}/${service}/${f.since}`,
      [],
    );
    return { cluster, service, action: restore ? ('shift-back' as const) : ('superseded' as const), why };
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
