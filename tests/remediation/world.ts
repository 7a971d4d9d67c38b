// One remediation world per test file: a private emulator behind a fault proxy, the control plane
// deployed from the synthesized template (config/remediation/local.json), the seeded web/api
// service, alarms created in the emulator's CloudWatch, and one virtual clock for every run.
// Alarm events are put on the event bus, so the rule's pattern really decides what reaches the
// trigger; the executions the trigger starts in the emulator are then run from their definition.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchClient,
  type Dimension,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { beforeAll } from 'vitest';
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { Alert } from '../../functions/shared/alerts.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import type { JournalRecord } from '../../functions/shared/journal.ts';
import { deployControlPlane, readJournal } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import type { FaultSettings } from '../../local/fault-proxy.ts';
import { localFunction } from '../../local/lambda-host.ts';
import { REPO_ROOT } from '../../local/python-env.ts';
import { takeRaisedAlerts } from '../../local/rollouts.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { putEvents } from '../../local/spot-harness.ts';
import { drainEventSource, type PollResult } from '../../local/sqs-event-source.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import type { WorkflowResult } from '../../local/workflow-runner.ts';
import { type LocalRunOptions, runDeployedWorkflow, runStartedExecutions } from '../../local/workflows.ts';
import { answersMayBeLost, type FaultProxyHandle, useEmulator, useFaultProxy } from '../support/emulator.ts';

export interface RemediationRun extends WorkflowResult {
  executionName: string;
  plan?: RemediationPlan;
}

export interface AlarmSpec {
  dimensions?: Record<string, string>;
  tags?: Record<string, string>;
  metricName?: string;
  namespace?: string;
}

export interface RemediationWorld {
  stack: DeployedStack;
  seed: Seed;
  clock: VirtualClock;
  env(name: string): string;
  /** Creates (or reconfigures) an alarm in the emulator; returns its ARN. */
  putAlarm(name: string, spec?: AlarmSpec): Promise<string>;
  setAlarm(name: string, state: StateValue, reason?: string): Promise<void>;
  /** An alarm state change event shaped like the AWS sample, for an alarm of the emulator. */
  alarmEvent(
    name: string,
    state: StateValue,
    opts?: { previous?: StateValue; timestamp?: string },
  ): Record<string, unknown>;
  /** Puts the events on the bus and drains the remediation queue into the trigger function. */
  deliver(events: Record<string, unknown>[]): Promise<PollResult>;
  /** Runs every remediation execution the trigger started since the last call. */
  runStarted(opts?: Pick<LocalRunOptions, 'beforeLambda' | 'taskTokenTimeoutMs'>): Promise<RemediationRun[]>;
  /** Runs the workflow with a console input. */
  run(
    input: unknown,
    opts?: Pick<LocalRunOptions, 'beforeLambda' | 'taskTokenTimeoutMs' | 'executionName'>,
  ): Promise<RemediationRun>;
  raisedAlerts(): Promise<Alert[]>;
  /** Journal records of one execution (by execution name), oldest first. */
  journalOf(executionName: string): Promise<JournalRecord[]>;
}

const SAMPLE = join(REPO_ROOT, 'events/samples/aws/cloudwatch-alarm-state-change.json');

export function useRemediationWorld(opts: { throttleRate?: number; faults?: Partial<FaultSettings> } = {}): {
  world: RemediationWorld;
  proxy: FaultProxyHandle;
} {
  useEmulator();
  const proxy = useFaultProxy({ throttleRate: 0, seed: 77 });
  const world = {} as RemediationWorld;
  const arns = new Map<string, string>();
  const seen = new Set<string>();
  beforeAll(async () => {
    world.stack = await deployControlPlane();
    world.seed = await seed(world.stack, { instances: 9, spotFraction: 0.5 });
    world.clock = new VirtualClock();
    world.env = (name) => {
      const value = world.stack.functions['remediate-step']?.environment[name];
      if (!value) throw new Error(`remediate-step has no ${name}`);
      return value;
    };
    const cloudwatch = awsClient(CloudWatchClient);
    world.putAlarm = async (name, spec = {}) => {
      const dimensions: Dimension[] = Object.entries(spec.dimensions ?? {}).map(([Name, Value]) => ({
        Name,
        Value,
      }));
      await cloudwatch.send(
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
      const arn = `arn:aws:cloudwatch:${world.stack.region}:${world.stack.accountId}:alarm:${name}`;
      arns.set(name, arn);
      return arn;
    };
    world.setAlarm = async (name, state, reason) => {
      await cloudwatch.send(
        new SetAlarmStateCommand({
          AlarmName: name,
          StateValue: state,
          StateReason: reason ?? `test set ${state}`,
        }),
      );
    };
    world.alarmEvent = (name, state, eventOpts = {}) => {
      const event = JSON.parse(readFileSync(SAMPLE, 'utf8').split('ServerCpuTooHigh').join(name)) as {
        resources: string[];
        detail: { state: Record<string, unknown>; previousState: Record<string, unknown> };
      };
      event.resources = [arns.get(name) ?? event.resources[0] ?? ''];
      event.detail.state.value = state;
      event.detail.state.timestamp = eventOpts.timestamp ?? new Date(world.clock.now()).toISOString();
      event.detail.previousState.value = eventOpts.previous ?? (state === 'OK' ? 'ALARM' : 'OK');
      return event as unknown as Record<string, unknown>;
    };
    const mapping = world.stack.eventSourceMappings.find((m) => m.functionName === 'remediation-trigger');
    if (!mapping) throw new Error('no event source mapping for remediation-trigger');
    const trigger = await localFunction(world.stack, 'remediation-trigger', { clock: world.clock });
    world.deliver = async (events) => {
      await putEvents(events);
      return drainEventSource(mapping, (e) => trigger.invoke(e));
    };
    world.runStarted = async (runOpts = {}) =>
      (
        await runStartedExecutions(world.stack, 'remediate-alarm', seen, { clock: world.clock, ...runOpts })
      ).map((r) => ({ ...r, ...(r.status === 'SUCCEEDED' ? { plan: r.output as RemediationPlan } : {}) }));
    world.run = async (input, runOpts = {}) => {
      const executionName = runOpts.executionName ?? `console-${Math.random().toString(36).slice(2, 10)}`;
      const result = await runDeployedWorkflow(world.stack, 'remediate-alarm', input, {
        clock: world.clock,
        ...runOpts,
        executionName,
      });
      return {
        ...result,
        executionName,
        ...(result.status === 'SUCCEEDED' ? { plan: result.output as RemediationPlan } : {}),
      };
    };
    // A raise retried after a lost answer is sent twice, body for body (the router dedups by key).
    const copies = { collapseCopies: answersMayBeLost(opts.faults) };
    world.raisedAlerts = () => takeRaisedAlerts(world.env('ALERT_QUEUE_URL'), copies);
    world.journalOf = async (executionName) =>
      (await readJournal(world.env('JOURNAL_TABLE'))).filter(
        (r) => r.actor.includes(':execution:') && r.actor.endsWith(`:${executionName}`),
      );
    // Faults start after setup: the scenarios are under test, not the seeding.
    if (opts.throttleRate) proxy.setFaults({ throttleRate: opts.throttleRate });
    if (opts.faults) proxy.setFaults(opts.faults);
    proxy.resetStats();
  });
  return { world, proxy };
}
