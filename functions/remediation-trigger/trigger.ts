// Alarm state changes -> the remediate-alarm workflow, one execution per transition: the name
// comes from the alarm ARN and the state's timestamp, so an event delivered twice starts once.
// Everything else (which runbook, guards, OK closing the episode) is the workflow's decision.
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { AlarmStateChange } from '../../events/alarm-state-change.ts';
import type { RemediationInputDraft } from '../../events/remediation-input.ts';
import { forEachAlarmEvent } from '../shared/alarm-batch.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/dynamo.ts';
import type { Log } from '../shared/logger.ts';
import { executionNameFor, startNamedExecution } from '../shared/named-executions.ts';
import type { Item } from '../shared/sqs-batch.ts';
import type { RemediationTriggerEnv } from './config.ts';

export interface RemediationTriggerDeps {
  sfn: SFNClient;
  db: Db;
  clock: Clock;
  env: RemediationTriggerEnv;
  log: Log;
}

export interface RemediationTriggerReport {
  received: number;
  started: { alarmName: string; state: string; executionName: string; executionArn: string }[];
  duplicates: { alarmName: string; executionName: string }[];
  invalid: { id: string; field: string; problem: string; received?: unknown }[];
  failedItemIds: string[];
}

export const remediationExecutionName = (alarmName: string, alarmArn: string, stateTimestamp: string) =>
  executionNameFor('remediate', alarmName, alarmArn, stateTimestamp);

/** The workflow's input for an alarm state change. */
export function remediationInputFor(event: AlarmStateChange): RemediationInputDraft {
  const { alarmName, state, previousState } = event.detail;
  return {
    alarmName,
    alarmArn: event.resources[0] as string,
    state: { value: state.value, reason: state.reason.slice(0, 2000), timestamp: state.timestamp },
    ...(previousState?.value
      ? {
          previousState: {
            value: previousState.value,
            ...(previousState.timestamp ? { timestamp: previousState.timestamp } : {}),
          },
        }
      : {}),
    trigger: { kind: 'alarm', id: event.resources[0] as string, source: event.id, at: state.timestamp },
  };
}

export async function processRemediationBatch(
  deps: RemediationTriggerDeps,
  items: readonly Item[],
): Promise<RemediationTriggerReport> {
  const report: RemediationTriggerReport = {
    received: items.length,
    started: [],
    duplicates: [],
    invalid: [],
    failedItemIds: [],
  };
  await forEachAlarmEvent(deps, items, report, 'the remediation', async (event) => {
    const { alarmName, state } = event.detail;
    const alarmArn = event.resources[0] as string;
    const executionName = remediationExecutionName(alarmName, alarmArn, state.timestamp);
    const start = await startNamedExecution(
      { sfn: deps.sfn, db: deps.db, clock: deps.clock, operationsTable: deps.env.OPERATIONS_TABLE },
      {
        stateMachineArn: deps.env.REMEDIATION_STATE_MACHINE_ARN,
        name: executionName,
        input: remediationInputFor(event),
        recordPrefix: 'remediation-start',
      },
    );
    if (!start.first) {
      report.duplicates.push({ alarmName, executionName });
      return {
        resource: `alarm/${alarmName}`,
        action: 'ignore-duplicate-alarm',
        outcome: 'unchanged',
        reason: `alarm ${alarmName} (${state.value} at ${state.timestamp}) already started ${executionName}: delivered again, handled once`,
        trigger: { kind: 'alarm', id: alarmArn, source: event.id, at: state.timestamp },
        actor: 'remediation-trigger',
      };
    }
    report.started.push({
      alarmName,
      state: state.value,
      executionName,
      executionArn: start.executionArn as string,
    });
    return undefined;
  });
  return report;
}
