// The remediation construct in the synthesized control-plane stack (environment "local", whose
// config/remediation/local.json maps web/api alarms to runbooks): the rule, the queue, the
// workflow's shape, least-privilege grants, configuration errors, cdk-nag and cfn-lint. Not
// snapshots: each test states one property the deployed stack must have.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST_FUNCTIONS_DIR } from '../../esbuild.config.mjs';
import { alarmRemediationPattern } from '../../events/remediation-input.ts';
import type * as z from '../../events/zod.ts';
import { RemediateStepEnvSchema } from '../../functions/remediate-step/config.ts';
import { RemediationTriggerEnvSchema } from '../../functions/remediation-trigger/config.ts';
import { alarmMappingsOf } from '../../functions/scale-service-step/scaling-config.ts';
import { buildApp } from '../../infra/app.ts';
import {
  loadRemediationConfig,
  REMEDIATION_MAX_RECEIVE_COUNT,
} from '../../infra/control-plane/remediation/remediation.ts';
import { loadScalingConfig } from '../../infra/control-plane/scaling/scaling.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { cfnLint } from '../infra/synth-support.ts';

type CfnResource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Sid?: string };

let workDir: string;
let app: App;
let stack: ControlPlaneStack;
let assembly: CloudAssembly;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'remediation-infra-'));
  // The bundles the test command built before vitest started.
  const assetRoot = DIST_FUNCTIONS_DIR;
  ({ app, stack } = buildApp({ outdir: join(workDir, 'cdk.out'), environmentName: 'local', assetRoot }));
  assembly = app.synth();
  resources = assembly.getStackByName(stack.stackName).template.Resources as Record<string, CfnResource>;
}, 240_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

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
function statementsOfRole(roleId: string): Statement[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => text(p.Properties?.Roles).includes(roleId))
    .flatMap(([, p]) => asArray(prop<{ Statement: Statement[] }>(p, 'PolicyDocument').Statement));
}
const roleOf = (fn: CfnResource) => prop<{ 'Fn::GetAtt': [string] }>(fn, 'Role')['Fn::GetAtt'][0];
function stateMachine(): [string, CfnResource] {
  const found = ofType('AWS::StepFunctions::StateMachine').filter(([id]) =>
    id.startsWith('RemediationWorkflow'),
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, CfnResource];
}

describe('remediate-alarm workflow', () => {
  it('validates first, runs scale-out as a nested scale-service execution, and uses JSONPath', () => {
    const definition = text(stateMachine()[1].Properties?.DefinitionString);
    expect(definition).toContain('\\"StartAt\\":\\"Validate input\\"');
    expect(definition).not.toContain('JSONata');
    expect(definition).toContain(':states:::states:startExecution.sync:2');
    expect(definition).toContain('ScalingWorkflow');
    // No runbook of this environment forces a deployment: no such state, and no grant for it.
    expect(definition).not.toContain(':states:::aws-sdk:ecs:updateService');
    expect(definition).toContain(':states:::lambda:invoke.waitForTaskToken');
    expect(definition).toContain('\\"HeartbeatSecondsPath\\":\\"$.approval.timeoutSeconds\\"');
  });

  it('gives each function an environment its own schema parses', () => {
    const cases: [string, z.ZodMiniType][] = [
      ['remediate-step', RemediateStepEnvSchema],
      ['remediation-trigger', RemediationTriggerEnvSchema],
    ];
    for (const [name, schema] of cases) {
      const vars = variables(functionNamed(name)[1]);
      const placeholders = Object.fromEntries(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `placeholder:${text(v)}`]),
      );
      expect(schema.safeParse(placeholders).error?.issues ?? [], name).toEqual([]);
    }
  });
});

describe('alarm events', () => {
  it('takes every alarm state change but the fast scale-out ones, into a queue with a DLQ and retries', () => {
    const rules = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith('Remediation'));
    expect(rules).toHaveLength(1);
    const props = rules[0]?.[1].Properties ?? {};
    const scaleAlarms = alarmMappingsOf(loadScalingConfig('local') ?? []).map((m) => m.alarmName);
    expect(scaleAlarms.length).toBeGreaterThan(0);
    const { resources, ...byName } = props.EventPattern as Record<string, unknown>;
    expect(byName).toEqual(alarmRemediationPattern(scaleAlarms));
    // The control plane's own alarms go to people (event-alerts), not to runbooks.
    expect(JSON.stringify(resources)).toMatch(/anything-but.*prefix.*:alarm:ecs-ops-local-control-plane-"/);
    expect(props.EventPattern).toMatchObject({ detail: { alarmName: [{ 'anything-but': scaleAlarms }] } });
    expect(props.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [expect.stringMatching(/^RemediationQueue(?!Dlq)/), 'Arn'] },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^RemediationDeliveryDlq/), 'Arn'] },
        },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
      }),
    ]);
    const queue = ofType('AWS::SQS::Queue').find(([id]) => /^RemediationQueue(?!Dlq)/.test(id))?.[1];
    expect(queue?.Properties?.RedrivePolicy).toMatchObject({
      maxReceiveCount: REMEDIATION_MAX_RECEIVE_COUNT,
    });
    expect(queue?.Properties?.KmsMasterKeyId).toBeDefined();
  });
});

describe('permissions', () => {
  it('lets the trigger start only the remediate-alarm workflow, and touch no ECS resource', () => {
    const [machineId] = stateMachine();
    const statements = statementsOfRole(roleOf(functionNamed('remediation-trigger')[1]));
    const start = statements.filter((s) => asArray(s.Action).includes('states:StartExecution'));
    expect(start.map((s) => s.Resource)).toEqual([{ Ref: machineId }]);
    expect(statements.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('ecs:'))).toEqual([]);
  });

  it('scopes the step to the runbooks’ clusters, the managed listeners and this account’s alarms', () => {
    const statements = statementsOfRole(roleOf(functionNamed('remediate-step')[1]));
    const by = (action: string) => statements.filter((s) => asArray(s.Action).includes(action));
    expect(text(by('ecs:StopTask')[0]?.Resource)).toMatch(/:task\/web\/\*"/);
    expect(text(by('ecs:StopTask')[0])).toContain('ecs:cluster');
    expect(text(by('ecs:UpdateContainerInstancesState')[0]?.Resource)).toMatch(
      /container-instance\/web\/\*"/,
    );
    expect(text(by('elasticloadbalancing:ModifyListener')[0]?.Resource)).toMatch(
      /listener\/app\/web-alb\/\*"/,
    );
    // SendTaskSuccess takes no resource: on AWS it is allowed on "*" or not at all (tests/infra/iam.test.ts).
    expect(by('states:SendTaskSuccess')[0]?.Resource).toBe('*');
    expect(text(by('cloudwatch:DescribeAlarms')[0]?.Resource)).toMatch(/:alarm:\*"/);
    expect(by('ecs:UpdateService')).toEqual([]);
    const unscoped = statements.filter((s) => s.Resource === '*').flatMap((s) => asArray(s.Action));
    expect(new Set(unscoped)).toEqual(
      new Set([
        'states:SendTaskSuccess',
        'elasticloadbalancing:DescribeTargetHealth',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeRules',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
      ]),
    );
  });
});

describe('configuration', () => {
  it('fails synthesis naming the bad key of config/remediation/<environment>.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'remediation-config-'));
    try {
      const write = (name: string, body: unknown) =>
        writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
      write('nokind', {
        runbooks: [{ id: 'a', match: { alarmName: 'x' }, runbook: 'reboot', cluster: 'web' }],
      });
      expect(() => loadRemediationConfig('nokind', dir)).toThrow(/runbooks\.0\.runbook/);
      write('noservice', {
        runbooks: [{ id: 'a', match: { alarmName: 'x' }, runbook: 'scale-out', cluster: 'web', delta: 1 }],
      });
      expect(() => loadRemediationConfig('noservice', dir)).toThrow(
        /runbooks\.0\.service: scale-out needs a service/,
      );
      write('twice', {
        runbooks: [
          { id: 'a', match: { alarmName: 'x' }, runbook: 'notify-only', cluster: 'web', service: 'api' },
          { id: 'a', match: { alarmName: 'y' }, runbook: 'notify-only', cluster: 'web', service: 'api' },
        ],
      });
      expect(() => loadRemediationConfig('twice', dir)).toThrow(/runbooks\.1\.id: duplicate id a/);
      write('typo', { runbooks: [], guardAlarm: ['x'] });
      expect(() => loadRemediationConfig('typo', dir)).toThrow(/guardAlarm/);
      expect(loadRemediationConfig('absent', dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a runbook in a cluster the control plane does not manage', () => {
    expect(() =>
      buildApp({
        outdir: join(workDir, 'cdk.out.unmanaged'),
        environmentName: 'local',
        assetRoot: DIST_FUNCTIONS_DIR,
        managedClusters: [{ name: 'web', rebalance: 'surge' }],
        remediation: {
          guardAlarms: [],
          settleSeconds: 900,
          runbooks: [
            {
              ...(loadRemediationConfig('local')?.runbooks[0] as NonNullable<
                ReturnType<typeof loadRemediationConfig>
              >['runbooks'][number]),
              cluster: 'elsewhere',
            },
          ],
        },
      }),
    ).toThrow(/runbooks\.0\.cluster: elsewhere is not a managed cluster \(web\)/);
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
