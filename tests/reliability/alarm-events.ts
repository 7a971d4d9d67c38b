// Alarms for the race and duplicate tests: created in the emulator's CloudWatch, their state set
// by the test (moto evaluates no alarm), and their state changes shaped like the AWS sample event,
// delivered through the event bus, the stack's rules and queues into the trigger functions. The
// executions a trigger starts are recorded by moto and run here from their synthesized definition.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchClient,
  type Dimension,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { DeployedStack } from '../../local/deploy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { observerClient } from '../../local/observer.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { drainEventSource, type PollResult } from '../../local/sqs-event-source.ts';
import type { VirtualClock } from '../../local/virtual-clock.ts';
import { deployedWorkflow, type WorkflowName } from '../../local/workflows.ts';

const SAMPLE = join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json');

export interface AlarmSpec {
  namespace?: string;
  metricName?: string;
  dimensions?: Record<string, string>;
  tags?: Record<string, string>;
}

export const alarmArn = (stack: DeployedStack, name: string) =>
  `arn:aws:cloudwatch:${stack.region}:${stack.accountId}:alarm:${name}`;

export async function putAlarm(name: string, spec: AlarmSpec = {}): Promise<void> {
  const dimensions: Dimension[] = Object.entries(spec.dimensions ?? {}).map(([Name, Value]) => ({
    Name,
    Value,
  }));
  await observerClient(CloudWatchClient).send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: spec.namespace ?? 'AWS/ApplicationELB',
      MetricName: spec.metricName ?? 'HTTPCode_Target_5XX_Count',
      Statistic: 'Sum',
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 10,
      ComparisonOperator: 'GreaterThanThreshold',
      ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
      ...(spec.tags ? { Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
    }),
  );
}

/** CloudWatch evaluating the alarm (AWS, not the code under test: past any fault proxy). */
export async function setAlarm(name: string, state: StateValue, reason?: string): Promise<void> {
  await observerClient(CloudWatchClient).send(
    new SetAlarmStateCommand({
      AlarmName: name,
      StateValue: state,
      StateReason: reason ?? `test set ${state}`,
    }),
  );
}

/** A CloudWatch Alarm State Change event for an alarm of the emulator, shaped like the AWS sample. */
export function alarmEvent(
  stack: DeployedStack,
  name: string,
  state: StateValue,
  opts: { timestamp: string; previous?: StateValue; previousTimestamp?: string },
): Record<string, unknown> {
  const event = JSON.parse(readFileSync(SAMPLE, 'utf8').split('ServerCpuTooHigh').join(name)) as {
    id: string;
    time: string;
    resources: string[];
    detail: { state: Record<string, unknown>; previousState: Record<string, unknown> };
  };
  event.resources = [alarmArn(stack, name)];
  event.time = opts.timestamp;
  event.detail.state.value = state;
  event.detail.state.timestamp = opts.timestamp;
  event.detail.previousState.value = opts.previous ?? (state === 'OK' ? 'ALARM' : 'OK');
  if (opts.previousTimestamp) event.detail.previousState.timestamp = opts.previousTimestamp;
  return event as unknown as Record<string, unknown>;
}

/** Puts alarm events on the bus and drains `fn`'s queue into it (the stack's rule decides what arrives). */
export async function deliverAlarmEvents(
  stack: DeployedStack,
  fn: 'remediation-trigger' | 'scale-alarm',
  clock: VirtualClock,
  events: Record<string, unknown>[],
): Promise<PollResult> {
  const mapping = stack.eventSourceMappings.find((m) => m.functionName === fn);
  if (!mapping) throw new Error(`no event source mapping for ${fn}`);
  const trigger = await localFunction(stack, fn, { clock });
  await putEvents(events);
  return drainEventSource(mapping, (e) => trigger.invoke(e));
}

export interface StartedExecution {
  name: string;
  arn: string;
  input: Record<string, unknown>;
}

/** Executions of a workflow that moto recorded (functions started them) and `seen` does not hold yet. */
export async function startedExecutions(
  stack: DeployedStack,
  workflow: WorkflowName,
  seen: Set<string>,
): Promise<StartedExecution[]> {
  const sfn = observerClient(SFNClient);
  const stateMachineArn = deployedWorkflow(stack, workflow).arn;
  const listed: { executionArn?: string; name?: string }[] = [];
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken }));
    listed.push(...(out.executions ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  const found: StartedExecution[] = [];
  for (const e of listed.reverse()) {
    if (!e.executionArn || !e.name || seen.has(e.executionArn)) continue;
    seen.add(e.executionArn);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    found.push({ name: e.name, arn: e.executionArn, input: JSON.parse(described.input ?? '{}') });
  }
  return found;
}
