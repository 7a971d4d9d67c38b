// A mapped alarm entered ALARM: start the scale-service workflow at once with a step computed
// from how far the alarm's datapoint is past its threshold. The execution name is derived from
// the alarm ARN and the state's timestamp, so the same event delivered twice starts one
// execution (Step Functions refuses a second execution of the same name); the request id is the
// same name, so even a second execution would scale once (the workflow dedups on it).
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { AlarmMapping } from '../../events/alarm-scale-out.ts';
import { AlarmReasonDataSchema, type AlarmStateChange } from '../../events/alarm-state-change.ts';
import { type ScaleInput, ScaleInputSchema } from '../../events/scale-input.ts';
import { forEachAlarmEvent } from '../shared/alarm-batch.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import type { JournalEntry } from '../shared/journal.ts';
import type { Log } from '../shared/logger.ts';
import { executionNameFor as namedExecution, startNamedExecution } from '../shared/named-executions.ts';
import type { Item } from '../shared/sqs-batch.ts';
import type { ScaleAlarmEnv } from './config.ts';
export interface AlarmTriggerDeps {
  sfn: SFNClient;
  db: Db;
  clock: Clock;
  env: ScaleAlarmEnv;
  log: Log;
}

export interface AlarmReport {
  received: number;
  started: { alarmName: string; executionName: string; executionArn: string; input: ScaleInput }[];
  duplicates: { alarmName: string; executionName: string }[];
  ignored: { alarmName: string; why: string }[];
  invalid: { id: string; field: string; problem: string; received?: unknown }[];
  failedItemIds: string[];
}

export const executionNameFor = (alarmName: string, alarmArn: string, stateTimestamp: string): string =>
  namedExecution('alarm', alarmName, alarmArn, stateTimestamp);

/** The step an alarm asks for, and why, in plain words. */
export function stepFor(
  mapping: AlarmMapping,
  event: AlarmStateChange,
): { delta: number; why: string } | { percent: number; why: string } {
  const step = mapping.step;
  if (step.kind === 'count') return { delta: step.count, why: `the configured step of +${step.count}` };
  if (step.kind === 'percent')
    return { percent: step.percent, why: `the configured step of +${step.percent}%` };
  const data = parseReasonData(event.detail.state.reasonData);
  if (data && data.threshold > 0) {
    const peak = Math.max(...data.recentDatapoints);
    const past = Math.ceil((peak / data.threshold - 1) * 100);
    if (past > step.minPercent) {
      const percent = Math.min(past, 1000);
      return {
        percent,
        why: `the datapoint ${round(peak)} is ${past}% past the threshold ${round(data.threshold)}: +${percent}%`,
      };
    }
    return {
      percent: step.minPercent,
      why: `the datapoint ${round(peak)} against the threshold ${round(data.threshold)} asks for less than the minimum step: +${step.minPercent}%`,
    };
  }
  return {
    percent: step.minPercent,
    why: `no datapoints in the alarm's reason data: the minimum step, +${step.minPercent}%`,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

function parseReasonData(text: string | undefined) {
  if (!text) return undefined;
  try {
    const parsed = AlarmReasonDataSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function processAlarmBatch(
  deps: AlarmTriggerDeps,
  items: readonly Item[],
): Promise<AlarmReport> {
  const report: AlarmReport = {
    received: items.length,
    started: [],
    duplicates: [],
    ignored: [],
    invalid: [],
    failedItemIds: [],
  };
  await forEachAlarmEvent(deps, items, report, 'the scale-out', async (event) => {
    const { alarmName, state } = event.detail;
    const mapping = deps.env.SCALE_ALARMS.find((m) => m.alarmName === alarmName);
    // The rule only lets mapped alarms in ALARM through; anything else means the config moved on.
    if (!mapping || state.value !== 'ALARM') {
      const why = !mapping
        ? 'the alarm is not mapped to a service'
        : `the alarm is ${state.value}, not ALARM`;
      report.ignored.push({ alarmName, why });
      deps.log.warn('Alarm event ignored', { alarmName, why });
      return undefined;
    }
    return startScaleOut(deps, report, event, mapping);
  });
  return report;
}

async function startScaleOut(
  deps: AlarmTriggerDeps,
  report: AlarmReport,
  event: AlarmStateChange,
  mapping: AlarmMapping,
): Promise<JournalEntry> {
  const { alarmName, state } = event.detail;
  const alarmArn = event.resources[0] as string;
  const executionName = executionNameFor(alarmName, alarmArn, state.timestamp);
  const step = stepFor(mapping, event);
  const { why, ...amount } = step;
  const input = ScaleInputSchema.parse({
    cluster: mapping.cluster,
    service: mapping.service,
    ...amount,
    reason: `alarm ${alarmName} is in ALARM (${why}): ${state.reason}`.slice(0, 500),
    requestId: executionName,
    trigger: { kind: 'alarm', id: alarmArn, at: state.timestamp },
  });
  const base = {
    resource: `service/${mapping.cluster}/${mapping.service}`,
    trigger: { kind: 'alarm', id: alarmArn, source: event.id, at: state.timestamp },
    actor: 'scale-alarm',
  };

  const { first, executionArn } = await startNamedExecution(
    { sfn: deps.sfn, db: deps.db, clock: deps.clock, operationsTable: deps.env.OPERATIONS_TABLE },
    {
      stateMachineArn: deps.env.SCALE_STATE_MACHINE_ARN,
      name: executionName,
      input,
      recordPrefix: 'alarm-scale-out',
    },
  );
  if (!first) {
    report.duplicates.push({ alarmName, executionName });
    return {
      ...base,
      action: 'ignore-duplicate-alarm',
      outcome: 'unchanged',
      reason: `alarm ${alarmName} (state at ${state.timestamp}) already started ${executionName}: delivered again, scaled once`,
    };
  }
  report.started.push({ alarmName, executionName, executionArn: executionArn as string, input });
  return {
    ...base,
    action: 'start-alarm-scale-out',
    outcome: 'changed',
    reason: `alarm ${alarmName} entered ALARM: started a scale-out of ${mapping.cluster}/${mapping.service} by ${'percent' in amount ? `${amount.percent}%` : `+${amount.delta}`} (${why})`,
    details: { executionArn, executionName, input },
  };
}
