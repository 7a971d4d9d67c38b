// `ops silence`, `ops silences`, `ops unsilence`: time-boxed silences in the alerting table, locally
// or on AWS; the alert router reads them.
import { userInfo } from 'node:os';
import { isActive } from '../functions/alert-router/rules.ts';
import { addSilence, expireSilence, listSilences, type Silence } from '../functions/alert-router/silences.ts';
import { systemClock } from '../functions/shared/clock.ts';
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
    `${created.id}: silenced ${describeMatcher(created)} until ${created.endsAt} (${created.reason})`,
    created,
  );
  return 0;
}

function describeMatcher(s: Silence): string {
  const m = s.matcher;
  return [
    m.service ? `service ${m.service}` : '',
    m.kind ? `kind ${m.kind}` : '',
    m.dedupKey ? `dedup key ${m.dedupKey}` : '',
  ]
    .filter(Boolean)
    .join(' and ');
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
              `${s.id}  ${s.active ? 'active ' : 'ended  '} ${describeMatcher(s)} until ${s.endsAt}\n    ${s.reason} (${s.createdBy})`,
          )
          .join('\n');
  out(human, all);
  return 0;
}

export async function unsilence(id: string | undefined, flags: SilenceFlags, out: Out): Promise<number> {
  if (!id) throw new UsageError('ops unsilence <id> (see ops silences)');
  const table = await alertsTable(flags);
  const ended = await expireSilence(documentClient(), table, systemClock, id);
  if (!ended) throw new UsageError(`no silence ${id} (see ops silences)`);
  out(`${id}: ended`, { id, ended: true });
  return 0;
}
