// Decisions of the surge workflow: have the replacements registered yet? Then drain the
// at-risk instances that a warning has not drained already.
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  DEFAULT_SURGE_MINUTES,
  MAX_SURGE_MINUTES,
  type SpotSurgeInput,
  SpotSurgeInputSchema,
  type SpotSurgeState,
  SpotSurgeStateSchema,
} from '../../events/spot-surge-input.ts';
import { consoleLinks, raiseAlert } from '../shared/alerts.ts';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import { describe, listArns } from '../shared/container-instances.ts';
import { drainContainerInstances } from '../shared/drain.ts';
import type { Db } from '../shared/dynamo.ts';
import { InvalidInputError } from '../shared/errors.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import {
  abandonEpisode,
  claimEpisode,
  completeEpisode,
  episodeId,
  getEpisode,
} from '../shared/spot/episodes.ts';
import { parseOrThrow } from '../shared/validation.ts';
import type { SpotSurgeEnv } from './config.ts';

export interface SurgeDeps {
  ecs: ECSClient;
  /** Alerts go onto the alert queue; the alert-router publishes them. */
  sqs: SQSClient;
  db: Db;
  clock: Clock;
  env: SpotSurgeEnv;
  owner: string;
}

/** Validates the input (the workflow's first state): shape, then that the instances are ours. */
export async function startSurge(
  deps: Pick<SurgeDeps, 'ecs' | 'clock' | 'env'>,
  input: unknown,
): Promise<SpotSurgeState> {
  const parsed: SpotSurgeInput = parseOrThrow(SpotSurgeInputSchema, input, 'input');
  if (!deps.env.MANAGED_CLUSTERS.some((c) => c.name === parsed.cluster)) {
    const known = deps.env.MANAGED_CLUSTERS.map((c) => c.name).join(', ');
    throw new InvalidInputError(
      'input.cluster',
      `is not a managed cluster (managed: ${known})`,
      parsed.cluster,
    );
  }
  const described = await describe(
    deps.ecs,
    parsed.cluster,
    parsed.instances.map((i) => i.containerInstanceArn),
  );
  for (const [n, instance] of parsed.instances.entries()) {
    const found = described.find((d) => d.containerInstanceArn === instance.containerInstanceArn);
    if (!found) {
      throw new InvalidInputError(
        `input.instances.${n}.containerInstanceArn`,
        `is not a container instance of cluster ${parsed.cluster}`,
        instance.containerInstanceArn,
      );
    }
    if (found.ec2InstanceId !== instance.instanceId) {
      throw new InvalidInputError(
        `input.instances.${n}.instanceId`,
        `does not match the container instance (its EC2 instance is ${found.ec2InstanceId})`,
        instance.instanceId,
      );
    }
  }
  const clock = deps.clock;
  const startedAt = parsed.startedAt ?? iso(clock.now());
  const deadline = parsed.deadline ?? iso(Date.parse(startedAt) + DEFAULT_SURGE_MINUTES * 60_000);
  const minutes = (Date.parse(deadline) - Date.parse(startedAt)) / 60_000;
  if (minutes <= 0) throw new InvalidInputError('input.deadline', 'must be after startedAt', deadline);
  // The state machine times out after two hours; the surge must end well before.
  if (minutes > MAX_SURGE_MINUTES) {
    throw new InvalidInputError(
      'input.deadline',
      `must be at most ${MAX_SURGE_MINUTES} minutes after startedAt`,
      deadline,
    );
  }
  const status = parsed.replacements === 0 ? 'no-replacements' : 'waiting';
  return { ...parsed, startedAt, deadline, status, checks: 0 };
}

/** Counts ACTIVE container instances registered after the surge started (the replacements). */
export async function countReplacements(ecs: ECSClient, cluster: string, since: string): Promise<number> {
  const sinceMs = Date.parse(since);
  const arns = await listArns(ecs, cluster, `registeredAt > ${since}`, 'ACTIVE');
  // Confirm the date ourselves: a filter that is not applied must not count old instances.
  const described = await describe(ecs, cluster, arns);
  return described.filter(
    (ci) => ci.status === 'ACTIVE' && ci.registeredAt && ci.registeredAt.getTime() > sinceMs,
  ).length;
}

export async function checkSurge(deps: SurgeDeps, raw: unknown): Promise<SpotSurgeState> {
  const state = parseOrThrow(SpotSurgeStateSchema, raw, 'surge');
  const now = deps.clock.now();
  const checks = state.checks + 1;
  const table = deps.env.OPERATIONS_TABLE;

  const pending: SpotSurgeInput['instances'] = [];
  for (const instance of state.instances) {
    const episode = await getEpisode(deps.db, table, episodeId(instance.instanceId));
    if (!episode?.drainedAt) pending.push(instance);
  }
  if (pending.length === 0) {
    await journalAll(
      deps,
      state,
      'surge-complete',
      'unchanged',
      'every instance was drained by its interruption warning first',
    );
    return { ...state, checks, status: 'superseded' };
  }

  const registered = await countReplacements(deps.ecs, state.cluster, state.startedAt);
  if (registered >= state.replacements) {
    const drained = await drainPending(deps, state, pending, registered);
    return {
      ...state,
      checks,
      registered,
      status: 'drained',
      note: `${drained} drained after ${registered} replacement(s) registered`,
    };
  }

  if (now >= Date.parse(state.deadline)) {
    const reason = `only ${registered} of ${state.replacements} replacement(s) registered by ${state.deadline}; instances left ACTIVE, a warning will still drain them`;
    await journalAll(deps, state, 'surge-expired', 'unchanged', reason);
    await raiseAlert(deps.sqs, deps.env.ALERT_QUEUE_URL, {
      severity: 'warning',
      state: 'firing',
      kind: 'spot-surge-expired',
      cluster: state.cluster,
      title: `Spot surge in ${state.cluster}: replacements did not register in time`,
      summary: reason,
      resources: pending.map((p) => p.containerInstanceArn),
      whatHappened:
        'Replacement capacity was requested for instances with a rebalance recommendation, but it did not join the cluster.',
      whatWeDid: 'Left the at-risk instances ACTIVE (draining without replacements would cut capacity).',
      nextSteps: ['Check the Auto Scaling group activity for launch failures (spot capacity, quotas, AMI).'],
      dedupKey: `spot-surge-expired/${state.cluster}/${state.startedAt}`,
      links: consoleLinks(process.env.AWS_REGION, { cluster: state.cluster }),
      at: iso(now),
    });
    return { ...state, checks, registered, status: 'expired', note: reason };
  }
  return { ...state, checks, registered, status: 'waiting' };
}

async function drainPending(
  deps: SurgeDeps,
  state: SpotSurgeState,
  pending: SpotSurgeInput['instances'],
  registered: number,
): Promise<number> {
  const table = deps.env.OPERATIONS_TABLE;
  const mine: SpotSurgeInput['instances'] = [];
  for (const instance of pending) {
    const claim = await claimEpisode(deps.db, table, deps.clock, {
      subject: instance.instanceId,
      intent: 'drain',
      channel: 'surge-ready',
      noticeAt: state.startedAt,
      cluster: state.cluster,
      owner: deps.owner,
      leaseMs: 60_000,
      episodeTtlMs: deps.env.EPISODE_TTL_MINUTES * 60_000,
    });
    if (claim.result !== 'claimed') continue;
    if (!claim.episode.drainedAt) mine.push(instance);
    // Drained already (its alert may still be owed): give the lease straight back to the handler.
    else await abandonEpisode(deps.db, table, instance.instanceId, deps.owner);
  }
  if (mine.length === 0) return 0;
  const result = await drainContainerInstances(
    deps.ecs,
    state.cluster,
    mine.map((m) => m.containerInstanceArn),
  );
  const at = iso(deps.clock.now());
  const entries: JournalEntry[] = [];
  for (const instance of mine) {
    const failure = result.failed.find((f) => f.arn === instance.containerInstanceArn);
    if (failure) {
      await abandonEpisode(deps.db, table, instance.instanceId, deps.owner);
      entries.push(
        journalEntry(
          deps,
          state,
          instance,
          'drain-instance',
          'failed',
          `drain not confirmed: ${failure.reason}`,
        ),
      );
      continue;
    }
    await completeEpisode(deps.db, table, instance.instanceId, deps.owner, { drainedAt: at });
    entries.push(
      journalEntry(
        deps,
        state,
        instance,
        'drain-instance',
        'changed',
        `${registered} replacement(s) registered: drained after surge`,
        {
          before: { status: 'ACTIVE' },
          after: { status: 'DRAINING' },
        },
      ),
    );
  }
  await writeJournal(deps.db, deps.env.JOURNAL_TABLE, deps.clock, entries);
  if (result.failed.length > 0) {
    throw Object.assign(new Error(`${result.failed.length} drain(s) not confirmed`), {
      name: 'DrainNotConfirmed',
    });
  }
  return result.drained.length;
}

function journalEntry(
  deps: SurgeDeps,
  state: SpotSurgeState,
  instance: SpotSurgeInput['instances'][number],
  action: string,
  outcome: JournalEntry['outcome'],
  reason: string,
  extra: Partial<JournalEntry> = {},
): JournalEntry {
  return {
    resource: `container-instance/${state.cluster}/${instance.instanceId}`,
    action,
    outcome,
    reason,
    trigger: { kind: 'spot-surge', id: deps.owner, at: state.startedAt },
    actor: deps.owner,
    details: { containerInstanceArn: instance.containerInstanceArn, replacements: state.replacements },
    ...extra,
  };
}

async function journalAll(
  deps: SurgeDeps,
  state: SpotSurgeState,
  action: string,
  outcome: JournalEntry['outcome'],
  reason: string,
) {
  await writeJournal(
    deps.db,
    deps.env.JOURNAL_TABLE,
    deps.clock,
    state.instances.map((i) => journalEntry(deps, state, i, action, outcome, reason)),
  );
}
