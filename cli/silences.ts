// `ops silence`, `ops silences`, `ops unsilence`: time-boxed silences in the alerting table, locally
// or on AWS; and `ops ack`, which acknowledges one firing alert. The alert router reads them.
import { userInfo } from 'node:os';
import { type EpisodeRecord, episodeId, getItem } from '../functions/alert-router/episode-state.ts';
import { describeMatcher, episodeLive, isActive } from '../functions/alert-router/rules.ts';
import { addAck, addSilence, expireSilence, listSilences } from '../functions/alert-router/silences.ts';
import { boundedDedupKey } from '../functions/shared/alerts.ts';
import { iso, systemClock } from '../functions/shared/clock.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { controlPlaneOutputs, outputOf, type TargetFlags } from './target.ts';
import { durationMs, type Out, UsageError } from './usage.ts';

export interface SilenceFlags extends TargetFlags {
  service?: string;
  kind?: string;
  'dedup-key'?: string;
  for?: string;
  reason?: string;
}

/** 90s, 15m, 2h, 1d -> milliseconds. */
function parseDuration(text: string | undefined): number {
  const ms = durationMs(text, ['s', 'm', 'h', 'd']);
  if (ms === undefined)
    throw new UsageError(`--for takes a duration such as 30m, 2h or 1d (got ${text ?? 'nothing'})`);
  return ms;
}

async function alertsTable(flags: SilenceFlags): Promise<string> {
  const outputs = await controlPlaneOutputs(flags);
  return outputOf(outputs, CONTROL_PLANE_OUTPUTS.stateTable, 'alerting');
}

export async function silence(flags: SilenceFlags, out: Out): Promise<number> {
  const matcher = {
    ...(flags.service ? { service: flags.service } : {}),
    ...(flags.kind ? { kind: flags.kind } : {}),
    ...(flags['dedup-key'] ? { dedupKey: flags['dedup-key'] } : {}),
  };
  if (Object.keys(matcher).length === 0) {
    throw new UsageError('ops silence needs --service S, --kind K or --dedup-key D');
  }
  const durationMs = parseDuration(flags.for);
  if (!flags.reason?.trim()) throw new UsageError('ops silence needs --reason "why", for the next person');
  const table = await alertsTable(flags);
  const created = await addSilence(documentClient(), table, systemClock, {
    matcher,
    durationMs,
    reason: flags.reason,
    createdBy: `ops-cli/${userInfo().username}`,
  }).catch((error: Error) => {
    throw error.name === 'InvalidInput' ? new UsageError(error.message) : error;
  });
  out(
    `${created.id}: silenced ${describeMatcher(created.matcher)} until ${created.endsAt} (${created.reason})`,
    created,
  );
  return 0;
}

export async function silences(flags: SilenceFlags, out: Out): Promise<number> {
  const table = await alertsTable(flags);
  const now = Date.now();
  const all = (await listSilences(documentClient(), table)).map((s) => ({ ...s, active: isActive(s, now) }));
  const human =
    all.length === 0
      ? 'no silences'
      : all
          .map(
            (s) =>
              `${s.id}  ${s.active ? 'active ' : 'ended  '} ${describeMatcher(s.matcher)} until ${s.endsAt}\n    ${s.reason} (${s.createdBy})`,
          )
          .join('\n');
  out(human, all);
  return 0;
}

export async function unsilence(id: string | undefined, flags: SilenceFlags, out: Out): Promise<number> {
  if (!id) throw new UsageError('ops unsilence <id> (see ops silences)');
  const table = await alertsTable(flags);
  const ended = await expireSilence(
    documentClient(),
    table,
    systemClock,
    id,
    `ops-cli/${userInfo().username}`,
  );
  if (!ended) throw new UsageError(`no silence ${id} (see ops silences)`);
  out(`${id}: ended`, { id, ended: true });
  return 0;
}

/**
 * `ops ack <dedup key> [--reason]`: the alert stops reminding until it resolves; its resolved
 * notification says who acknowledged it, and `ops status` lists it. The dedup key is in every
 * notification (the text's "Dedup key:", the JSON's `dedupKey`).
 */
export async function ack(key: string | undefined, flags: SilenceFlags, out: Out): Promise<number> {
  if (!key)
    throw new UsageError('ops ack <dedup key> [--reason "..."] (every notification carries its dedup key)');
  const table = await alertsTable(flags);
  const db = documentClient();
  const now = systemClock.now();
  const episode = await getItem<EpisodeRecord>(db, table, episodeId(boundedDedupKey(key)));
  if (!episodeLive(episode, now))
    throw new UsageError(`no alert with dedup key ${key} is firing (ops status lists what fires)`);
  const reason = flags.reason?.trim();
  const by = `ops-cli/${userInfo().username}`;
  const acknowledgement = {
    dedupKey: episode.dedupKey,
    by,
    at: iso(now),
    episodeOpenedAt: episode.openedAt,
    ...(reason ? { reason } : {}),
  };
  await addAck(db, table, systemClock, acknowledgement);
  out(`${episode.dedupKey}: acknowledged by ${by}; no reminders until it resolves`, acknowledgement);
  return 0;
}
