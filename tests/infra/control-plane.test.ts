// Template assertions on the synthesized control-plane stack, built from the real function
// bundles (esbuild.config.mjs into a temp dir). Not snapshots: each test states one property
// the deployed stack must have, and cfn-lint and cdk-nag check the rest.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildFunctions } from '../../esbuild.config.mjs';
import { spotInterruptionPatterns } from '../../events/patterns.ts';
import type * as z from '../../events/zod.ts';
import { AlertRouterEnvSchema } from '../../functions/alert-router/config.ts';
import { TICK_MESSAGE } from '../../functions/alert-router/messages.ts';
import { ControlPlaneEnvSchema } from '../../functions/shared/env.ts';
import { SpotInterruptionEnvSchema } from '../../functions/shared/spot/config.ts';
import { SpotSurgeEnvSchema } from '../../functions/spot-surge-step/config.ts';
import { buildApp, DEFAULT_MANAGED_CLUSTERS, synthesizeApp } from '../../infra/app.ts';
import {
  ALERT_MAX_RECEIVE_COUNT,
  ALERT_ROUTER_BATCH,
  DEFAULT_GROUP_WINDOW,
} from '../../infra/control-plane/alerting/alerting.ts';
import {
  SPOT_BATCH,
  SPOT_MAX_RECEIVE_COUNT,
} from '../../infra/control-plane/spot/spot-interruption-handling.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { ensurePythonEnv } from '../../local/python-env.ts';
import { RemediateAlarmWorkflow } from '../../workflows/remediate-alarm.ts';
import { FUNCTION_TRANSIENT_ERRORS, LAMBDA_SERVICE_ERRORS } from '../../workflows/shared/error-handling.ts';

const FUNCTION_NAMES = [
  'alert-router',
  'chat-answer',
  'deployment-hook',
  'event-alerts',
  'rollout-analysis',
  'rollout-step',
  'spot-interruption',
  'spot-surge-step',
  'train-step',
];

type CfnResource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown };

let workDir: string;
let built: BuiltFunction[];
let app: App;
let stack: ControlPlaneStack;
let assembly: CloudAssembly;
let template: Template;
let resources: Record<string, CfnResource>;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'infra-test-'));
  const assetRoot = join(workDir, 'dist');
  built = await buildFunctions({ names: FUNCTION_NAMES, outdir: assetRoot });
  ({ app, stack } = buildApp({ outdir: join(workDir, 'cdk.out'), environmentName: 'test', assetRoot }));
  // Synthesis runs the cdk-nag packs as validation plugins: it throws on any unacknowledged finding.
  assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  template = Template.fromJSON(artifact.template);
  resources = artifact.template.Resources as Record<string, CfnResource>;
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** A queue with a redrive policy (DLQs have none) whose logical id names its construct. */
function queueWithRedrive(idPattern: RegExp): [string, CfnResource] {
  const queues = ofType('AWS::SQS::Queue').filter(
    ([id, q]) => q.Properties?.RedrivePolicy && idPattern.test(id),
  );
  expect(queues).toHaveLength(1);
  return queues[0] as [string, CfnResource];
}

/** The spot-interruption queue (EventBridge rules -> spot-interruption). */
const spotQueue = () => queueWithRedrive(/^SpotInterruption/);
/** The alert queue (producers -> alert-router). */
const alertQueue = () => queueWithRedrive(/^Alerting/);

/** Identity-policy statements attached to a function's role. */
function roleStatements(service: string): Statement[] {
  const fn = functionByService(service);
  const roleRef = JSON.stringify(fn.Properties?.Role);
  const roleId = (fn.Properties!.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  expect(roleRef).toContain(roleId);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => statementsOf(p, 'PolicyDocument'));
}

function functionByService(service: string): CfnResource {
  const found = ofType('AWS::Lambda::Function').filter(
    ([, r]) => envVariables(r).POWERTOOLS_SERVICE_NAME === service,
  );
  expect(found, `one function with POWERTOOLS_SERVICE_NAME=${service}`).toHaveLength(1);
  return (found[0] as [string, CfnResource])[1];
}

function envVariables(fn: CfnResource): Record<string, unknown> {
  const env = fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  return env?.Variables ?? {};
}

/** CloudFormation intrinsics (Ref, GetAtt, Join) become strings, as they will be once deployed. */
function withPlaceholders(vars: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : `placeholder:${JSON.stringify(v)}`]),
  );
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The statements of a policy document property (PolicyDocument, KeyPolicy). */
const statementsOf = (resource: CfnResource, property: string): Statement[] =>
  asArray(
    (resource.Properties?.[property] as { Statement?: Statement | Statement[] } | undefined)?.Statement,
  );

describe('function bundles', () => {
  it('builds one ESM bundle per function with its source map and metafile', () => {
    expect(built.map((b) => b.name).sort()).toEqual(FUNCTION_NAMES);
    for (const b of built) {
      const dir = join(workDir, 'dist', b.name);
      expect(b.outfile).toBe(join(dir, 'index.mjs'));
      expect(b.bytes).toBeGreaterThan(0);
      expect(readFileSync(b.outfile, 'utf8')).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      expect(existsSync(join(dir, 'meta.json'))).toBe(true);
    }
  });

  it('bundles every dependency, the AWS SDK included: only Node built-ins stay external', () => {
    for (const b of built) {
      const meta = JSON.parse(readFileSync(join(workDir, 'dist', b.name, 'meta.json'), 'utf8')) as {
        inputs: Record<string, unknown>;
        outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
      };
      const externals = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external));
      expect(externals.filter((i) => !i.path.startsWith('node:')).map((i) => i.path)).toEqual([]);
      expect(Object.keys(meta.inputs).some((p) => p.includes('node_modules/@aws-sdk/'))).toBe(true);
    }
  });
});

/** The spot-interruption rules (the stack also has the event-alerts rules). */
const spotRules = () => ofType('AWS::Events::Rule').filter(([id]) => id.startsWith('SpotInterruption'));

describe('spot interruption events', () => {
  it('has one rule per pattern, each with exactly the imported pattern', () => {
    const expected = stack.resolve(
      spotInterruptionPatterns(
        stack.spotInterruption.clusterArns,
        stack.spotInterruption.autoScalingGroupNames,
      ),
    ) as Record<string, unknown>;
    const rules = spotRules().map(([, r]) => r.Properties?.EventPattern);
    expect(rules).toHaveLength(Object.keys(expected).length);
    for (const pattern of Object.values(expected)) {
      expect(rules.filter((p) => JSON.stringify(p) === JSON.stringify(pattern))).toHaveLength(1);
      expect(rules).toContainEqual(pattern);
    }
  });

  it('scopes Fargate Spot events to the managed clusters', () => {
    const fargate = spotRules()
      .map(([, r]) => r.Properties?.EventPattern as { source: string[]; detail?: { clusterArn?: unknown[] } })
      .find((p) => p.source.includes('aws.ecs'));
    const arns = (fargate?.detail?.clusterArn ?? []).map((a) => JSON.stringify(a));
    expect(arns).toHaveLength(DEFAULT_MANAGED_CLUSTERS.length);
    for (const [i, cluster] of DEFAULT_MANAGED_CLUSTERS.entries())
      expect(arns[i]).toContain(`:cluster/${cluster.name}`);
  });

  it('gives every rule target a dead-letter queue and a retry policy', () => {
    const targets = ofType('AWS::Events::Rule').flatMap(([, r]) =>
      asArray(r.Properties?.Targets as unknown[]),
    );
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target).toMatchObject({
        DeadLetterConfig: { Arn: expect.anything() },
        RetryPolicy: {
          MaximumRetryAttempts: expect.any(Number),
          MaximumEventAgeInSeconds: expect.any(Number),
        },
      });
    }
  });

  it('delivers into a KMS-encrypted queue that redrives to its DLQ after 3 receives', () => {
    const [queueId, queue] = spotQueue();
    expect(queue.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/QueueDlq/), 'Arn'] },
      maxReceiveCount: SPOT_MAX_RECEIVE_COUNT,
    });
    expect(queue.Properties?.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/AlertsKey/), 'Arn'],
    });
    for (const [, rule] of spotRules()) {
      expect(rule.Properties?.Targets).toEqual([
        expect.objectContaining({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } }),
      ]);
    }
    // Lambda's guidance for SQS event sources: visibility timeout at least 6x the function timeout.
    const timeout = functionByService('spot-interruption').Properties?.Timeout as number;
    expect(queue.Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('consumes the queue in batches of 100 within 2 s, reporting item failures', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3); // spot-interruption, alert-router, event-alerts
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: SPOT_BATCH.batchSize,
      MaximumBatchingWindowInSeconds: SPOT_BATCH.maxBatchingWindow.toSeconds(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SpotInterruptionQueue'), 'Arn'] },
    });
    expect(SPOT_BATCH.batchSize).toBe(100);
    expect(SPOT_BATCH.maxBatchingWindow.toSeconds()).toBe(2);
  });
});

describe('functions', () => {
  it('run nodejs24.x on arm64 with tracing, an async DLQ (unless only invoked synchronously) and source maps', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const [id, fn] of functions) {
      // ECS invokes the deployment hook synchronously and reads its answer, and a chat button
      // invokes the answer function the same way: no async DLQ to fill.
      const synchronousOnly =
        id.startsWith('RolloutsDeploymentHookFunction') || id.startsWith('ChatAnswersFunction');
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        ...(synchronousOnly ? {} : { DeadLetterConfig: { TargetArn: expect.anything() } }),
        LoggingConfig: { LogGroup: expect.anything() },
      });
      if (synchronousOnly) expect(fn.Properties?.DeadLetterConfig).toBeUndefined();
      expect(envVariables(fn)).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
    }
  });

  it('sets each function environment so that its own schema parses it', () => {
    const cases: [string, z.ZodMiniType][] = [
      ['spot-interruption', SpotInterruptionEnvSchema],
      ['spot-surge-step', SpotSurgeEnvSchema],
    ];
    for (const [service, schema] of cases) {
      const result = schema.safeParse(withPlaceholders(envVariables(functionByService(service))));
      expect(result.error?.issues ?? [], service).toEqual([]);
      expect((result.data as { MANAGED_CLUSTERS: unknown }).MANAGED_CLUSTERS).toEqual(
        DEFAULT_MANAGED_CLUSTERS,
      );
    }
    const router = AlertRouterEnvSchema.safeParse(
      withPlaceholders(envVariables(functionByService('alert-router'))),
    );
    expect(router.error?.issues ?? []).toEqual([]);
    expect(router.data?.ALERT_GROUP_WINDOW_SECONDS).toBe(DEFAULT_GROUP_WINDOW.toSeconds());
    // Producers know the alert queue and no topic; only the router knows the topics.
    for (const service of ['spot-interruption', 'spot-surge-step']) {
      const vars = envVariables(functionByService(service));
      expect(vars.ALERT_QUEUE_URL, service).toEqual({ Ref: alertQueue()[0] });
      expect(
        Object.keys(vars).filter((k) => k.startsWith('ALERT_TOPIC_')),
        service,
      ).toEqual([]);
    }
    expect(Object.keys(ControlPlaneEnvSchema.shape)).toContain('ALERT_QUEUE_URL');
    const interruption = envVariables(functionByService('spot-interruption'));
    expect(interruption.SURGE_STATE_MACHINE_ARN).toEqual({ Ref: expect.stringMatching(/SurgeWorkflow/) });
    expect(envVariables(functionByService('spot-surge-step'))).not.toHaveProperty('SURGE_STATE_MACHINE_ARN');
  });
});

describe('permissions', () => {
  const identityStatements = () =>
    ofType('AWS::IAM::Policy').flatMap(([id, p]) =>
      statementsOf(p, 'PolicyDocument').map((s) => ({ id, s })),
    );

  it('grants no action "*" or "service:*" in any IAM policy', () => {
    // Inline role policies and managed policies would also count; this stack has none.
    expect(ofType('AWS::IAM::ManagedPolicy')).toEqual([]);
    for (const [, role] of ofType('AWS::IAM::Role')) expect(role.Properties?.Policies).toBeUndefined();
    for (const [, role] of ofType('AWS::IAM::Role'))
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    const broad = identityStatements().filter(({ s }) =>
      asArray(s.Action).some((a) => a === '*' || a.endsWith(':*')),
    );
    expect(broad).toEqual([]);
  });

  it('allows broad actions in resource policies only as denials, or the key policy’s account-root statement', () => {
    const resourcePolicies: [string, string][] = [
      ['AWS::SQS::QueuePolicy', 'PolicyDocument'],
      ['AWS::SNS::TopicPolicy', 'PolicyDocument'],
      ['AWS::KMS::Key', 'KeyPolicy'],
    ];
    const broadAllows = resourcePolicies.flatMap(([type, prop]) =>
      ofType(type).flatMap(([id, r]) =>
        statementsOf(r, prop)
          .filter((s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a === '*' || a.endsWith(':*')))
          .map((s) => ({ id, s })),
      ),
    );
    // The default KMS key policy: the account root may administer the key, so IAM policies
    // (not this key policy) decide who uses it. Without it the key could become unmanageable.
    expect(broadAllows).toEqual([
      {
        id: expect.stringMatching(/AlertsKey/),
        s: expect.objectContaining({ Action: 'kms:*', Principal: { AWS: expect.anything() }, Resource: '*' }),
      },
    ]);
  });

  it('lets EventBridge send into the spot queue only from the stack’s own rules', () => {
    const ruleIds = spotRules().map(([id]) => id);
    const [queueId] = spotQueue();
    const policies = ofType('AWS::SQS::QueuePolicy').filter(
      ([, p]) => JSON.stringify(p.Properties?.Queues) === JSON.stringify([{ Ref: queueId }]),
    );
    expect(policies).toHaveLength(1);
    const deny = statementsOf((policies[0] as [string, CfnResource])[1], 'PolicyDocument').find(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Principal).includes('events.amazonaws.com'),
    ) as (Statement & { Condition: { ArnNotEquals: { 'aws:SourceArn': unknown[] } } }) | undefined;
    expect(deny?.Action).toBe('sqs:SendMessage');
    expect(deny?.Condition.ArnNotEquals['aws:SourceArn']).toEqual(
      ruleIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
  });

  it('scopes ECS, Auto Scaling and Step Functions actions to the managed resources', () => {
    const statements = identityStatements().map(({ s }) => s);
    const withAction = (action: string) => statements.filter((s) => asArray(s.Action).includes(action));
    const text = (value: unknown) => JSON.stringify(value);

    for (const s of withAction('ecs:ListContainerInstances'))
      expect(text(s.Resource)).toMatch(/:cluster\/web"/);
    for (const action of ['ecs:DescribeContainerInstances', 'ecs:UpdateContainerInstancesState']) {
      const found = withAction(action);
      // spot-interruption and spot-surge-step; rollout-step also reads instances (capacity check).
      expect(found).toHaveLength(action === 'ecs:DescribeContainerInstances' ? 3 : 2);
      for (const s of found) {
        expect(text(s.Resource)).toMatch(/:container-instance\/web\/\*"/);
        expect(s).toMatchObject({ Condition: { ArnEquals: { 'ecs:cluster': [expect.anything()] } } });
      }
    }
    const [setDesired] = withAction('autoscaling:SetDesiredCapacity');
    expect(withAction('autoscaling:SetDesiredCapacity')).toHaveLength(1);
    expect(text(setDesired?.Resource)).toMatch(/autoScalingGroup:\*:autoScalingGroupName\/web-spot"/);
    expect(text(setDesired?.Resource)).toMatch(/autoScalingGroup:\*:autoScalingGroupName\/web-on-demand"/);
    for (const s of withAction('autoscaling:DescribeAutoScalingGroups')) expect(s.Resource).toBe('*');
    // spot-interruption starts the surge workflow; the release train runs the rollout workflow.
    expect(withAction('states:StartExecution').map((s) => s.Resource)).toEqual(
      expect.arrayContaining([
        { Ref: expect.stringMatching(/SurgeWorkflow/) },
        { Ref: expect.stringMatching(/^RolloutsWorkflow/) },
      ]),
    );
    expect(withAction('states:StartExecution')).toHaveLength(2);
  });
});

describe('alerting', () => {
  it('has the chat answer function (a fixed name the buttons invoke) but no buttons or channel without a chat channel configured', () => {
    const [, fn] = ofType('AWS::Lambda::Function').find(
      ([, r]) => envVariables(r).POWERTOOLS_SERVICE_NAME === 'chat-answer',
    ) as [string, CfnResource];
    expect(fn.Properties?.FunctionName).toBe('ecs-ops-test-answer');
    // Amazon Q Developer cuts a chat command off after 15 s.
    expect(fn.Properties?.Timeout as number).toBeLessThan(15);
    expect(ofType('AWS::Chatbot::CustomAction')).toEqual([]);
    expect(ofType('AWS::Chatbot::SlackChannelConfiguration')).toEqual([]);
  });

  it('ticks the router once a minute onto its queue, with a role that may send there only, and a DLQ', () => {
    const schedules = ofType('AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0] as [string, CfnResource];
    const target = schedule.Properties?.Target as Record<string, unknown>;
    expect(schedule.Properties?.ScheduleExpression).toBe('rate(1 minute)');
    expect(target.Input).toBe(JSON.stringify(TICK_MESSAGE));
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AlertingQueue(?!Dlq)/), 'Arn'] });
    expect(target.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [expect.stringMatching(/^AlertingTickDlq/), 'Arn'] },
    });
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const actions = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(roleId))
      .flatMap(([, p]) => statementsOf(p, 'PolicyDocument'))
      .flatMap((st) => asArray(st.Action));
    expect(actions.sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sqs:SendMessage',
      'sqs:SendMessage',
    ]);
  });

  it('routes alerts through a KMS-encrypted queue that redrives to its own DLQ', () => {
    const [queueId, queue] = alertQueue();
    expect(queue.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^AlertingQueueDlq/), 'Arn'] },
      maxReceiveCount: ALERT_MAX_RECEIVE_COUNT,
    });
    expect(queue.Properties?.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/AlertsKey/), 'Arn'],
    });
    const dlqId = (queue.Properties!.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string] } })
      .deadLetterTargetArn['Fn::GetAtt'][0];
    expect(resources[dlqId]?.Properties?.KmsMasterKeyId).toEqual(queue.Properties?.KmsMasterKeyId);
    const timeout = functionByService('alert-router').Properties?.Timeout as number;
    expect(queue.Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: ALERT_ROUTER_BATCH.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
    // An alert that could not be published pages the critical topic directly.
    const alarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) =>
      JSON.stringify(a.Properties?.Dimensions).includes(dlqId),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties?.AlarmActions).toEqual([
      { Ref: expect.stringMatching(/AlertsCritical/) },
    ]);
  });

  it('encrypts every topic with the stack’s own rotating customer-managed key, not alias/aws/sns', () => {
    const topics = ofType('AWS::SNS::Topic');
    expect(topics.map(([id]) => id).sort()).toEqual(
      ['AlertsCritical', 'AlertsInfo', 'AlertsWarning'].map((t) => expect.stringContaining(t)),
    );
    // The AWS-managed aws/sns key cannot be granted to CloudWatch alarms and EventBridge, which
    // publish to these topics: each must name a key defined in this stack.
    const keyIds = new Set(
      topics.map(([id, topic]) => {
        const keyRef = topic.Properties?.KmsMasterKeyId;
        expect(keyRef, id).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
        return (keyRef as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      }),
    );
    expect(keyIds.size).toBe(1);
    const [keyId] = [...keyIds] as [string];
    const key = resources[keyId];
    expect(key?.Type).toBe('AWS::KMS::Key');
    expect(key?.Properties?.EnableKeyRotation).toBe(true);
    // SNS encrypts only with symmetric keys.
    expect(key?.Properties?.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    // The same key as the alert queue's, which the router is granted.
    expect(alertQueue()[1].Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('keeps router state in its own table: pk id, TTL expiresAt, point-in-time recovery', () => {
    const tableName = envVariables(functionByService('alert-router')).ALERTS_TABLE as { Ref: string };
    const table = resources[tableName.Ref];
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('lets producers only send to the alert queue, and only the router publish to the topics', () => {
    const [queueId] = alertQueue();
    for (const service of ['spot-interruption', 'spot-surge-step']) {
      const statements = roleStatements(service);
      const actions = statements.flatMap((s) => asArray(s.Action));
      expect(
        actions.filter((a) => a.startsWith('sns:')),
        service,
      ).toEqual([]);
      // Besides the alert queue, Lambda itself sends failed asynchronous invocations to the
      // function's DLQ, and the interruption function sends its follow-ups to its own queue.
      const send = statements
        .filter((s) => asArray(s.Action).includes('sqs:SendMessage'))
        .map((s) => JSON.stringify(s.Resource));
      const spotQueueId = stack.getLogicalId(stack.spotInterruption.queue.node.defaultChild as CfnElement);
      const own =
        service === 'spot-interruption' ? [JSON.stringify({ 'Fn::GetAtt': [spotQueueId, 'Arn'] })] : [];
      expect(send, service).toHaveLength(2 + own.length);
      expect(send, service).toContain(JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }));
      expect(send.filter((r) => !r.includes(queueId)).sort(), service).toEqual([
        expect.stringMatching(/AsyncDlq/),
        ...own,
      ]);
    }
    const router = roleStatements('alert-router');
    const publish = router.filter((s) => asArray(s.Action).includes('sns:Publish'));
    expect(publish).toHaveLength(1);
    expect(
      asArray(publish[0]?.Resource as unknown[])
        .map((r) => JSON.stringify(r))
        .sort(),
    ).toEqual(['AlertsCritical', 'AlertsInfo', 'AlertsWarning'].map((t) => expect.stringContaining(t)));
    const kms = router.flatMap((s) => asArray(s.Action)).filter((a) => a.startsWith('kms:'));
    expect(new Set(kms)).toEqual(new Set(['kms:Decrypt', 'kms:GenerateDataKey']));
  });
});

describe('workflow error handling', () => {
  interface AslState {
    Type: string;
    Resource?: string;
    Retry?: { ErrorEquals: string[] }[];
    Catch?: { ErrorEquals: string[]; Next: string }[];
    States?: Record<string, AslState>;
    Branches?: { States: Record<string, AslState> }[];
    ItemProcessor?: { States: Record<string, AslState> };
  }
  // The local environment configures scaling and remediation, so all four workflows are in it
  // (its functions are the ones `npm test` builds first).
  let machines: [string, CfnResource][];
  beforeAll(() => {
    const local = synthesizeApp({ outdir: join(workDir, 'cdk.out.local'), environmentName: 'local' });
    const controlPlane = local.stacks.find((s) => s.stackName.endsWith('ControlPlane'));
    machines = Object.entries(controlPlane?.template.Resources as Record<string, CfnResource>).filter(
      ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
  });
  /** Every state of every state machine, by "machine/state"; tokens are left as TOKEN. */
  const allStates = (): [string, AslState][] =>
    machines.flatMap(([id, machine]) => {
      const definition = machine.Properties?.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
      const text =
        typeof definition === 'string'
          ? definition
          : definition['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
      const out: [string, AslState][] = [];
      const walk = (states: Record<string, AslState>) => {
        for (const [name, state] of Object.entries(states)) {
          out.push([`${id}/${name}`, state]);
          for (const branch of state.Branches ?? []) walk(branch.States);
          if (state.ItemProcessor) walk(state.ItemProcessor.States);
        }
      };
      walk((JSON.parse(text) as { States: Record<string, AslState> }).States);
      return out;
    });
  const PREFIX: Record<string, string> = { ecs: 'Ecs', applicationautoscaling: 'ApplicationAutoScaling' };

  it('retries every AWS SDK task on the names its throttling and lost responses arrive as', () => {
    const sdkTasks = allStates().filter(([, s]) => s.Type === 'Task' && s.Resource?.includes(':aws-sdk:'));
    // Scale blue to zero and Delete blue; Set desired count and Set limits. (No runbook of this
    // environment forces a deployment: that state is built only for the services that do.)
    expect(sdkTasks.map(([where]) => where.replace(/Workflow[^/]*\//, '/')).sort()).toEqual([
      'Rollouts/Delete blue',
      'Rollouts/Scale blue to zero',
      'Scaling/Set desired count',
      'Scaling/Set scalable target limits',
    ]);
    for (const [where, state] of sdkTasks) {
      const service = /:aws-sdk:([a-z0-9]+):/.exec(state.Resource ?? '')?.[1] ?? '';
      const prefix = PREFIX[service];
      expect(prefix, `${where}: ${service} has a known prefix`).toBeDefined();
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      // ECS throttling is not modeled: Step Functions names it Ecs.EcsException.
      expect(retried, where).toEqual(
        expect.arrayContaining([`${prefix}.${prefix}Exception`, `${prefix}.SdkClientException`]),
      );
    }
  });

  it("retries every Lambda task on Lambda's transient errors, and every step with an answer on one list of AWS's", () => {
    // Chosen by resource, not by what their retriers hold, so a step with its own list, or none,
    // fails: a function's ARN (a token in the template), or the lambda:invoke integration.
    const lambdaTasks = allStates().filter(
      ([, s]) =>
        s.Type === 'Task' && (s.Resource === 'TOKEN' || /:states:::lambda:invoke/.test(s.Resource ?? '')),
    );
    expect(lambdaTasks.length).toBeGreaterThan(30);
    const missing = lambdaTasks.flatMap(([where, state]) => {
      const retried = new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));
      // A gate (a second invoke would open it again) and the user's own pre-traffic hook retry
      // only Lambda's errors; a step whose answer is its result retries our functions' too.
      const answers = state.Resource === 'TOKEN';
      const expected = answers
        ? [...LAMBDA_SERVICE_ERRORS, ...FUNCTION_TRANSIENT_ERRORS]
        : LAMBDA_SERVICE_ERRORS;
      const absent = expected.filter((e) => !retried.has(e));
      return absent.length > 0 ? [`${where}: ${absent.join(', ')}`] : [];
    });
    expect(missing).toEqual([]);
    const callbacksAndHooks = lambdaTasks.filter(([, s]) => s.Resource !== 'TOKEN').map(([where]) => where);
    expect(callbacksAndHooks.map((where) => where.replace(/Workflow[^/]*\//, '/')).sort()).toEqual([
      'Remediation/Wait for approval',
      'Rollouts/Invoke pre-traffic hook',
      'Rollouts/Rollback window',
      'Rollouts/Wait for approval',
    ]);
  });

  it('sends States.DataLimitExceeded wherever States.ALL goes, since States.ALL does not match it', () => {
    const catching = allStates().filter(([, s]) =>
      s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
    );
    expect(catching.length).toBeGreaterThan(10);
    for (const [where, state] of catching) {
      const all = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      const limit = state.Catch?.find((c) => c.ErrorEquals.includes('States.DataLimitExceeded'));
      expect(limit?.Next, where).toBe(all?.Next);
    }
  });
});

describe('checks', () => {
  it('leaves no unacknowledged cdk-nag finding (AwsSolutions, Serverless)', () => {
    // cdk-nag 3 reports through CDK's policy-validation plugins, not annotations: ask the packs.
    const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
      pack
        .validateScope(stack)
        .violations.flatMap((v) =>
          v.violatingResources.map(
            (r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`,
          ),
        ),
    );
    expect(findings).toEqual([]);
    // Anything else that annotates constructs (CDK deprecations, nag-style packs added later).
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('passes cfn-lint', async () => {
    const python = await ensurePythonEnv({ quiet: true });
    const templateFile = assembly.getStackByName(stack.stackName).templateFullPath;
    // W3005 (redundant DependsOn): CDK makes each function depend on its role's default policy
    // and role; the role dependency is already implied by the GetAtt. Harmless and not ours to change.
    const ignored = ['W3005'];
    const { stdout } = await promisify(execFile)(
      python.bin('cfn-lint'),
      ['--format', 'json', '--ignore-checks', ...ignored, '--', templateFile],
      { maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string; code?: number }) => {
      // Exit codes 2/4/8 mean errors/warnings/informational matches were found: the JSON says which.
      if (typeof err.stdout === 'string' && typeof err.code === 'number' && err.code > 0 && err.code < 16) {
        return { stdout: err.stdout };
      }
      throw err;
    });
    const matches = (
      JSON.parse(stdout || '[]') as { Level: string; Rule: { Id: string }; Message: string }[]
    ).map((m) => `${m.Level} ${m.Rule.Id}: ${m.Message}`);
    expect(matches).toEqual([]);
  });
});

describe('remediation workflow', () => {
  const build = (serviceArns: string[]) => {
    const stack = new Stack();
    const stepFunction = lambda.Function.fromFunctionArn(
      stack,
      'Step',
      'arn:aws:lambda:us-east-1:123456789012:function:remediate-step',
    );
    new RemediateAlarmWorkflow(stack, 'Workflow', { stepFunction, serviceArns });
    return Template.fromStack(stack);
  };
  const updateServiceGrants = (template: Template) =>
    Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]
      ).filter((statement) => [statement.Action].flat().includes('ecs:UpdateService')),
    );

  it('forces a new deployment only of the services a runbook names, and grants nothing without one', () => {
    const legacy = 'arn:aws:ecs:us-east-1:123456789012:service/web/legacy';
    const withRunbook = build([legacy]);
    expect(JSON.stringify(withRunbook.toJSON())).toContain('Force new deployment');
    expect(updateServiceGrants(withRunbook).map((s) => s.Resource)).toEqual([legacy]);

    const without = build([]);
    expect(JSON.stringify(without.toJSON())).not.toContain('Force new deployment');
    expect(updateServiceGrants(without)).toEqual([]);
  });
});
