// Decisions of the surge workflow: have the replacements registered yet? Then drain the
// at-risk instances that a warning has not drained already.
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  type SpotSurgeInput,
  SpotSurgeInputSchema,
  type SpotSurgeState,
  SpotSurgeStateSchema,
} from '../../events/spot-surge-input.ts';
import { publishAlert } from '../shared/alerts.ts';
import type { Clock } from '../shared/clock.ts';
import { iso } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import { type JournalEntry, writeJournal } from '../shared/journal.ts';
import { parseOrThrow } from '../shared/validation.ts';
import { drainContainerInstances } from '../spot-interruption/drain.ts';
import {
  abandonEpisode,
  claimEpisode,
  completeEpisode,
  episodeId,
  getEpisode,
} from '../spot-interruption/episodes.ts';
import { describe, listArns } from '../spot-interruption/locate.ts';
import type { SpotSurgeEnv } from './config.ts';

export interface SurgeDeps {
  ecs: ECSClient;
  sns: SNSClient;
  db: Db;
  clock: Clock;
  env: SpotSurgeEnv;
  owner: string;
}

export function startSurge(input: unknown): SpotSurgeState {
  const parsed: SpotSurgeInput = parseOrThrow(SpotSurgeInputSchema, input, 'input');
  if (Date.parse(parsed.deadline) <= Date.parse(parsed.startedAt)) {
    return parseOrThrow(SpotSurgeStateSchema, {
      ...parsed,
      status: 'expired',
      checks: 0,
      note: 'deadline before start',
    });
  }
  return { ...parsed, status: parsed.replacements === 0 ? 'no-replacements' : 'waiting', checks: 0 };
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
  const table = deps.env.IDEMPOTENCY_TABLE;

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
    await publishAlert(deps.sns, deps.env, {
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
  const table = deps.env.IDEMPOTENCY_TABLE;
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
    if (claim.result === 'claimed' && !claim.episode.drainedAt) mine.push(instance);
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
