// `ops report <execution>`: a rollout as one self-contained HTML page (weights, 5xx rate and
// latency of green and blue over time, every verdict, gate answers, the outcome). Locally it
// reads what the emulator holds (`ops seed`'s stack); with --aws --outputs <cdk outputs file>
// the deployed tables and CloudWatch. Data gathering is cli/report/collect.ts, the page
// cli/report/render.ts (with markup.ts, chart.ts and tables.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClient } from '../functions/shared/clients.ts';
import { documentClient } from '../functions/shared/dynamo.ts';
import { CONTROL_PLANE_OUTPUTS } from '../infra/shared/stack-outputs.ts';
import { rolloutEnvironment } from '../local/rollouts.ts';
import { loadLocalState } from './local-state.ts';
import { collectReport, type ReportTables } from './report/collect.ts';
import type { ReportData } from './report/model.ts';
import { renderReport } from './report/render.ts';
import { UsageError } from './usage.ts';

export interface ReportFlags {
  out?: string;
  json?: boolean;
  aws?: boolean;
  outputs?: string;
  profile?: string;
  /** The fleet report instead of one rollout's. */
  fleet?: boolean;
  since?: string;
  service?: string;
}

export const REPORT_USAGE =
  'ops report <execution> (name or ARN, or [CLUSTER/]SERVICE for its latest rollout) [--out FILE.html] [--aws --outputs <cdk outputs file>], or ops report --fleet [--since 30d]';

export async function reportCommand(
  ref: string | undefined,
  flags: ReportFlags,
  out: (human: string, data: unknown) => void,
): Promise<number> {
  if (flags.fleet) return (await import('./report/fleet.ts')).fleetReportCommand(flags, out);
  if (!ref) throw new UsageError(REPORT_USAGE);
  const notes: string[] = [];
  let tables: ReportTables;
  if (flags.aws) {
    tables = tablesFromOutputs(flags.outputs);
  } else {
    const { stack } = await loadLocalState();
    const env = rolloutEnvironment(stack);
    tables = { journal: env.JOURNAL_TABLE as string, operations: env.OPERATIONS_TABLE as string };
    notes.push(
      'Read from the local emulator: latency is the Maximum per period (moto computes no percentiles), and times are the rollout’s virtual clock (bakes and waits are compressed).',
    );
  }
  const data = await collectReport(
    { db: documentClient(), cloudwatch: awsClient(CloudWatchClient) },
    tables,
    ref,
    { notes },
  );
  const file = resolve(flags.out ?? defaultFileName(data.execution.name));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderReport(data));
  out([file, summaryLine(data)].join('\n'), {
    file,
    execution: data.execution,
    service: `${data.cluster}/${data.service}`,
    outcome: data.outcome,
    weights: data.weights.map((w) => ({ at: w.at, blue: w.blue, green: w.green, label: w.label })),
    verdicts: data.verdicts.map((v) => ({ at: v.at, step: v.step, weight: v.weight, verdict: v.verdict })),
    gates: data.gates.map((g) => ({
      at: g.at,
      gate: g.gate,
      event: g.event,
      decision: g.decision,
      by: g.by,
    })),
    metrics: data.metrics
      ? {
          periodSeconds: data.metrics.periodSeconds,
          green: data.metrics.green.length,
          blue: data.metrics.blue.length,
        }
      : { unavailable: data.metricsNote },
  });
  return 0;
}

/** `rollout-report-<execution name>.html`, with nothing a file system could object to. */
export const defaultFileName = (executionName: string): string =>
  `rollout-report-${executionName.replace(/[^A-Za-z0-9._-]/g, '_')}.html`;

function summaryLine(data: ReportData): string {
  const verdicts = data.verdicts.map((v) => v.verdict).join(', ');
  return [
    `${data.cluster}/${data.service} ${data.execution.name}: ${data.outcome.summary}`,
    `  green ${data.weights.map((w) => `${w.green}%`).join(' → ')}; ${data.verdicts.length} verdict(s)${verdicts ? `: ${verdicts}` : ''}`,
    data.metrics ? '' : `  no metrics: ${data.metricsNote ?? 'none'}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** Table names from `cdk deploy --outputs-file`: the stack whose outputs name the journal. */
function tablesFromOutputs(path: string | undefined): ReportTables {
  if (!path) throw new UsageError('--aws needs --outputs <file> (written by cdk deploy --outputs-file)');
  let parsed: Record<string, Record<string, string>>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  } catch (error) {
    throw new UsageError(`--outputs ${path}: ${(error as Error).message}`);
  }
  const stack = Object.values(parsed).find((o) => o?.[CONTROL_PLANE_OUTPUTS.journalTable]);
  const journal = stack?.[CONTROL_PLANE_OUTPUTS.journalTable];
  const operations = stack?.[CONTROL_PLANE_OUTPUTS.operationsTable];
  if (!journal || !operations)
    throw new UsageError(
      `${path} holds no control-plane stack (no ${CONTROL_PLANE_OUTPUTS.journalTable} and ${CONTROL_PLANE_OUTPUTS.operationsTable} outputs)`,
    );
  return { journal, operations };
}
