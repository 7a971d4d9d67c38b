// The scaling construct in the synthesized control-plane stack (environment "local", whose
// config/scaling/local.json scales web/api and web/worker): schedules from config, the alarm
// rule, the fast alarm, least-privilege grants, cdk-nag and cfn-lint. Not snapshots: each test
// states one property the deployed stack must have.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_FUNCTIONS_DIR } from '../../esbuild.config.mjs';
import { alarmScaleOutPattern } from '../../events/alarm-scale-out.ts';
import { ScaleInputSchema } from '../../events/scale-input.ts';
import type * as z from '../../events/zod.ts';
import { ScaleAlarmEnvSchema } from '../../functions/scale-alarm/config.ts';
import { ScaleStepEnvSchema } from '../../functions/scale-service-step/config.ts';
import { alarmMappingsOf } from '../../functions/scale-service-step/scaling-config.ts';
import { buildApp, DEFAULT_MANAGED_CLUSTERS } from '../../infra/app.ts';
import {
  loadScalingConfig,
  SCALE_ALARM_MAX_RECEIVE_COUNT,
  scheduledInput,
} from '../../infra/control-plane/scaling/scaling.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { cfnLint } from '../infra/synth-support.ts';

type CfnResource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Sid?: string };

const services = loadScalingConfig('local') ?? [];
let workDir: string;
let app: App;
let stack: ControlPlaneStack;
let assembly: CloudAssembly;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'scaling-infra-'));
  // The bundles the test command built before vitest started.
  const assetRoot = DIST_FUNCTIONS_DIR;
  ({ app, stack } = buildApp({ outdir: join(workDir, 'cdk.out'), environmentName: 'local', assetRoot }));
  assembly = app.synth();
  resources = assembly.getStackByName(stack.stackName).template.Resources as Record<string, CfnResource>;
}, 240_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** A resource property, typed by the caller (the template is untyped JSON). */
const prop = <T>(resource: CfnResource | undefined, key: string): T => resource?.Properties?.[key] as T;
const variables = (fn: CfnResource) =>
  prop<{ Variables: Record<string, unknown> }>(fn, 'Environment').Variables;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const text = (value: unknown) => JSON.stringify(value);

function functionNamed(name: string): [string, CfnResource] {
  const found = ofType('AWS::Lambda::Function').filter(
    ([, f]) => variables(f).POWERTOOLS_SERVICE_NAME === name,
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, CfnResource];
}

/** Statements of every IAM policy attached to the role `roleRef` names. */
function statementsOfRole(roleId: string): Statement[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => text(p.Properties?.Roles).includes(roleId))
    .flatMap(([, p]) => asArray(prop<{ Statement: Statement[] }>(p, 'PolicyDocument').Statement));
}

const roleOf = (fn: CfnResource) => prop<{ 'Fn::GetAtt': [string] }>(fn, 'Role')['Fn::GetAtt'][0];

function stateMachine(): [string, CfnResource] {
  const found = ofType('AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('ScalingWorkflow'));
  expect(found).toHaveLength(1);
  return found[0] as [string, CfnResource];
}

describe('scale-service workflow', () => {
  it('validates in its first state and applies through SDK integrations (JSONPath)', () => {
    const [, machine] = stateMachine();
    const definition = text(machine.Properties?.DefinitionString);
    expect(definition).toContain('\\"StartAt\\":\\"Validate input\\"');
    expect(definition).not.toContain('JSONata');
    expect(definition).toContain(':states:::aws-sdk:ecs:updateService');
    expect(definition).toContain(':states:::aws-sdk:applicationautoscaling:registerScalableTarget');
  });

  it('gives each function an environment its own schema parses', () => {
    const cases: [string, z.ZodMiniType][] = [
      ['scale-service-step', ScaleStepEnvSchema],
      ['scale-alarm', ScaleAlarmEnvSchema],
    ];
    for (const [name, schema] of cases) {
      const vars = variables(functionNamed(name)[1]);
      const placeholders = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `placeholder:${text(v)}`]),
      );
      const parsed = schema.safeParse(placeholders);
      expect(parsed.error?.issues ?? [], name).toEqual([]);
    }
    const step = ScaleStepEnvSchema.parse(
      Object.fromEntries(
        Object.entries(variables(functionNamed('scale-service-step')[1])).map(([k, v]) => [
          k,
          typeof v === 'string' ? v : 'x',
        ]),
      ),
    );
    expect(step.SCALED_SERVICES.map((s) => `${s.cluster}/${s.service}:${s.overLimit}`)).toEqual([
      'web/api:clamp',
      'web/worker:refuse',
    ]);
    expect(step.MANAGED_CLUSTERS).toEqual(DEFAULT_MANAGED_CLUSTERS);
  });
});

describe('scheduled scaling', () => {
  it('has one EventBridge Scheduler schedule per configured entry, in its time zone, starting the workflow', () => {
    const [machineId] = stateMachine();
    // The scaling schedules (the alert router's minute tick is the other schedule of the stack).
    const schedules = ofType('AWS::Scheduler::Schedule')
      .filter(([id]) => id.startsWith('Scaling'))
      .map(([, s]) => s.Properties ?? {});
    const configured = services.flatMap((s) => s.schedules.map((schedule) => ({ s, schedule })));
    expect(schedules).toHaveLength(configured.length);
    for (const { s, schedule } of configured) {
      const found = schedules.find((p) => p.ScheduleExpression === schedule.expression);
      expect(found, schedule.name).toMatchObject({
        ScheduleExpressionTimezone: schedule.timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { Ref: machineId },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: expect.anything() },
        },
      });
      // The input is the one the workflow test runs, with the scheduled time filled in by Scheduler.
      const inputText = (found?.Target as { Input: string } | undefined)?.Input ?? '';
      expect(JSON.parse(inputText)).toEqual(scheduledInput(s, schedule, '<aws.scheduler.scheduled-time>'));
      const atRun = JSON.parse(
        inputText.replaceAll('<aws.scheduler.scheduled-time>', '2026-11-23T06:30:00Z'),
      );
      expect(ScaleInputSchema.safeParse(atRun).error?.issues ?? []).toEqual([]);
    }
  });
});

describe('alarm-driven scale-out', () => {
  it('matches only the mapped alarms entering ALARM and delivers them to the alarm queue (DLQ, retries)', () => {
    const rules = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith('Scaling'));
    expect(rules).toHaveLength(1);
    const props = rules[0]?.[1].Properties ?? {};
    expect(props.EventPattern).toEqual(
      alarmScaleOutPattern(alarmMappingsOf(services).map((m) => m.alarmName)),
    );
    expect(props.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ScalingAlarmQueue(?!Dlq)/), 'Arn'] },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ScalingAlarmDeliveryDlq/), 'Arn'] },
        },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
      }),
    ]);
    const queue = ofType('AWS::SQS::Queue').find(([id]) => /^ScalingAlarmQueue(?!Dlq)/.test(id))?.[1];
    expect(queue?.Properties?.RedrivePolicy).toMatchObject({
      maxReceiveCount: SCALE_ALARM_MAX_RECEIVE_COUNT,
    });
  });

  it('creates the configured fast alarm: the service metric, 1 of 1 one-minute datapoints', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(
      ([, a]) => a.Properties?.AlarmName === 'web-api-cpu-burst',
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties).toMatchObject({
      Namespace: 'AWS/ECS',
      MetricName: 'CPUUtilization',
      Dimensions: expect.arrayContaining([
        { Name: 'ClusterName', Value: 'web' },
        { Name: 'ServiceName', Value: 'api' },
      ]),
      Period: 60,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      Threshold: 70,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('permissions', () => {
  it('lets the workflow update only the scaled services', () => {
    const [, machine] = stateMachine();
    const roleId = prop<{ 'Fn::GetAtt': [string] }>(machine, 'RoleArn')['Fn::GetAtt'][0];
    const update = statementsOfRole(roleId).filter((s) => asArray(s.Action).includes('ecs:UpdateService'));
    expect(update).toHaveLength(1);
    const arns = asArray(update[0]?.Resource).map(text);
    expect(arns).toHaveLength(2);
    expect(arns[0]).toMatch(/:service\/web\/api"/);
    expect(arns[1]).toMatch(/:service\/web\/worker"/);
  });

  it('scopes the step function to the scaled services, clusters and capacity groups', () => {
    const statements = statementsOfRole(roleOf(functionNamed('scale-service-step')[1]));
    const by = (action: string) => statements.filter((s) => asArray(s.Action).includes(action));
    expect(text(by('ecs:DescribeServices')[0]?.Resource)).toMatch(
      /service\/web\/api".*service\/web\/worker"/,
    );
    expect(text(by('autoscaling:SetDesiredCapacity')[0]?.Resource)).toMatch(
      /autoScalingGroupName\/web-spot"/,
    );
    expect(by('ecs:UpdateService')).toEqual([]);
    // Only what has no resource-level permissions is unscoped.
    const unscoped = statements.filter((s) => s.Resource === '*').flatMap((s) => asArray(s.Action));
    expect(new Set(unscoped)).toEqual(
      new Set([
        'ecs:DescribeTaskDefinition',
        'autoscaling:DescribeAutoScalingGroups',
        'application-autoscaling:DescribeScalableTargets',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
      ]),
    );
  });

  it('lets the alarm function start only the scale-service workflow', () => {
    const [machineId] = stateMachine();
    const statements = statementsOfRole(roleOf(functionNamed('scale-alarm')[1]));
    const start = statements.filter((s) => asArray(s.Action).includes('states:StartExecution'));
    expect(start.map((s) => s.Resource)).toEqual([{ Ref: machineId }]);
    expect(statements.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('ecs:'))).toEqual([]);
  });
});

describe('configuration', () => {
  it('fails synthesis naming the bad key of config/scaling/<environment>.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaling-config-'));
    try {
      writeFileSync(
        join(dir, 'bad.json'),
        JSON.stringify({ services: [{ cluster: 'web', service: 'api', minTasks: 5, maxTasks: 2 }] }),
      );
      expect(() => loadScalingConfig('bad', dir)).toThrow(/services\.0\.minTasks: must not exceed maxTasks/);
      expect(loadScalingConfig('absent', dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to scale a service in a cluster the control plane does not manage', () => {
    const assetRoot = DIST_FUNCTIONS_DIR;
    expect(() =>
      buildApp({
        outdir: join(workDir, 'cdk.out.unmanaged'),
        environmentName: 'local',
        assetRoot,
        managedClusters: [{ name: 'other', rebalance: 'surge' }],
      }),
    ).toThrow(/services\.0\.cluster: web is not a managed cluster \(other\)/);
  });
});

describe('checks', () => {
  it('leaves no unacknowledged cdk-nag finding (AwsSolutions, Serverless)', () => {
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });

  it('passes cfn-lint', async () => {
    // W3005 (redundant DependsOn) is CDK's own, as in tests/infra/control-plane.test.ts.
    const matches = await cfnLint([assembly.getStackByName(stack.stackName).templateFullPath], ['W3005']);
    expect(matches.map((m) => `${m.level} ${m.rule}: ${m.message}`)).toEqual([]);
  }, 120_000);
});
