// The synthesized roles asked what AWS would answer: a real IAM evaluator (local/iam.ts) decides
// requests against each role's resolved identity policies. Each test states a call the code makes
// (which must be allowed) beside one it must never be able to make (which must be denied).
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltEnvironment } from '../../infra/app.ts';
import type { ServiceConfig } from '../../infra/config.ts';
import { authorize, type Principal, ResolvedApp } from '../../local/iam.ts';
import { resolveTokens } from '../../local/template.ts';
import { type Synthesized, synthesize } from './synth-support.ts';

let synth: Synthesized;
let app: ResolvedApp;

beforeAll(async () => {
  synth = await synthesize({ environmentNames: ['dev', 'prod'] });
  app = new ResolvedApp(
    synth.assembly.stacks.map((s) => ({
      stackName: s.stackName,
      template: s.template,
      region: s.environment.region,
      accountId: s.environment.account,
    })),
  );
}, 240_000);

afterAll(() => synth?.cleanup());

const environment = (name: string): Required<BuiltEnvironment> => {
  const found = synth.environments.find((e) => e.name === name);
  if (!found?.stacks || !found.config) throw new Error(`no full environment ${name}`);
  return found as Required<BuiltEnvironment>;
};
const logicalId = (construct: IConstruct): string => {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
};
const principalOf = (construct: IConstruct): Principal =>
  app.principal(Stack.of(construct).stackName, logicalId(construct));
const arnOf = (construct: IConstruct): string =>
  app.arnOf(Stack.of(construct).stackName, logicalId(construct));
/** The same ARN as if it were in another account's and region's place (same partition). */
const rehome = (arn: string, like: string) => {
  const [, , , region, account] = like.split(':');
  const parts = arn.split(':');
  return [...parts.slice(0, 3), region, account, ...parts.slice(5)].join(':');
};

describe('IAM of the synthesized app, evaluated as AWS does', () => {
  it('rollout-step passes only this environment’s task roles, and only to ECS tasks', async () => {
    const dev = environment('dev');
    const step = principalOf(dev.controlPlane.rollouts.stepFunction.role);
    const task = dev.stacks.compute.web.taskDefinition;
    const toEcs = { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' };
    const taskRole = arnOf(task.taskRole);
    expect(taskRole).toMatch(/:role\/ecs-ops\/dev\//);
    for (const role of [taskRole, arnOf(task.executionRole as IConstruct)])
      expect(await authorize(step, { action: 'iam:PassRole', resource: role, context: toEcs }), role).toBe(
        'Allowed',
      );
    const account = dev.config.account;
    for (const role of [
      `arn:aws:iam::${account}:role/admin`,
      `arn:aws:iam::${account}:role/ecs-ops/prod/EcsOps-prod-Compute-WebTaskRole`,
    ])
      expect(await authorize(step, { action: 'iam:PassRole', resource: role, context: toEcs }), role).toBe(
        'ImplicitlyDenied',
      );
    expect(
      await authorize(step, {
        action: 'iam:PassRole',
        resource: taskRole,
        context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
      }),
    ).toBe('ImplicitlyDenied');
  });

  it('rollout-step registers revisions in the managed service’s family only', async () => {
    const dev = environment('dev');
    const step = principalOf(dev.controlPlane.rollouts.stepFunction.role);
    const family = (name: string) =>
      `arn:aws:ecs:${dev.config.region}:${dev.config.account}:task-definition/${name}:7`;
    expect(
      await authorize(step, { action: 'ecs:RegisterTaskDefinition', resource: family('ecs-ops-dev-web') }),
    ).toBe('Allowed');
    expect(
      await authorize(step, { action: 'ecs:RegisterTaskDefinition', resource: family('payments-api') }),
    ).toBe('ImplicitlyDenied');
  });

  it('remediation answers a rollout’s waiting gate (SendTaskSuccess takes no resource)', async () => {
    const remediation = environment('dev').controlPlane.remediation;
    if (!remediation) throw new Error('dev has no remediation');
    const step = principalOf(remediation.stepFunction.role);
    expect(await authorize(step, { action: 'states:SendTaskSuccess', resource: '*' })).toBe('Allowed');
  });

  it('the first deploy creates the service’s initial task set (authorized on a task-set ARN)', async () => {
    const dev = environment('dev');
    const compute = dev.stacks.compute;
    const [roleId] = Object.keys(app.stack(compute.stackName).template.Resources).filter((id) =>
      id.startsWith('AWS679f53fac002430cb0da5b7982bd2287ServiceRole'),
    );
    const deployer = app.principal(compute.stackName, roleId as string);
    const { region, account } = dev.config;
    const cluster = dev.config.compute.clusterName;
    const service = (dev.config.services[0] as ServiceConfig).name;
    const serviceArn = `arn:aws:ecs:${region}:${account}:service/${cluster}/${service}`;
    const create = (taskSet: string, ofService: string) =>
      authorize(deployer, {
        action: 'ecs:CreateTaskSet',
        resource: `arn:aws:ecs:${region}:${account}:task-set/${taskSet}`,
        context: {
          'ecs:service': ofService,
          'ecs:cluster': `arn:aws:ecs:${region}:${account}:cluster/${cluster}`,
        },
      });
    expect(await create(`${cluster}/${service}/ecs-svc/1234567890`, serviceArn)).toBe('Allowed');
    const other = `arn:aws:ecs:${region}:${account}:service/${cluster}/other`;
    expect(await create(`${cluster}/other/ecs-svc/1234567890`, other)).toBe('ImplicitlyDenied');
    expect(
      await authorize(deployer, { action: 'ecs:UpdateServicePrimaryTaskSet', resource: serviceArn }),
    ).toBe('Allowed');
  });

  it('a function writes its own environment’s tables, never another’s, with only the actions its code takes', async () => {
    const dev = environment('dev').controlPlane;
    const prod = environment('prod').controlPlane;
    const step = principalOf(dev.rollouts.stepFunction.role);
    const own = arnOf(dev.tables.journal);
    const journalWrite = 'dynamodb:BatchWriteItem';
    expect(await authorize(step, { action: journalWrite, resource: own })).toBe('Allowed');
    // prod's journal as if it were in dev's account and region: still not dev's to write.
    const theirs = rehome(arnOf(prod.tables.journal), own);
    expect(theirs).not.toBe(own);
    expect(await authorize(step, { action: journalWrite, resource: theirs })).toBe('ImplicitlyDenied');
    // The journal is written in batches only; reading it (and its byDay index) is the operator's.
    for (const request of [
      { action: 'dynamodb:PutItem', resource: own },
      { action: 'dynamodb:Scan', resource: own },
      { action: 'dynamodb:Query', resource: `${own}/index/byDay` },
      { action: 'dynamodb:DeleteItem', resource: arnOf(dev.tables.operations) },
    ])
      expect(await authorize(step, request), request.action).toBe('ImplicitlyDenied');
  });

  it('the app signs in to Aurora as its own user with IAM auth, holding no database password', async () => {
    const dev = environment('dev');
    const { region, account } = dev.config;
    const task = dev.stacks.compute.web.taskDefinition;
    const data = dev.stacks.data;
    /** A CDK token of the data stack as the deployed value. */
    const deployed = (token: string) =>
      String(resolveTokens(data.resolve(token), app.context(data.stackName)));

    const definition = Object.values(app.stack(dev.stacks.compute.stackName).template.Resources).find(
      (r) => r.Type === 'AWS::ECS::TaskDefinition',
    );
    const containers = JSON.stringify(definition?.Properties?.ContainerDefinitions);
    expect(containers).not.toMatch(/DB_PASSWORD|DB_USERNAME|MasterUserSecret/);
    expect(containers).toContain('{"Name":"DB_USER","Value":"app_user"}');

    const taskRole = principalOf(task.taskRole);
    const resourceId = deployed(data.database.cluster.clusterResourceIdentifier);
    const connectAs = (user: string) =>
      authorize(taskRole, {
        action: 'rds-db:connect',
        resource: `arn:aws:rds-db:${region}:${account}:dbuser:${resourceId}/${user}`,
      });
    expect(await connectAs('app_user')).toBe('Allowed');
    expect(await connectAs('ops_admin')).toBe('ImplicitlyDenied');

    // The master secret is read only at deploy time, by the calls that create the app's user.
    const read = {
      action: 'secretsmanager:GetSecretValue',
      resource: deployed(data.database.masterSecretArn),
    };
    expect(await authorize(taskRole, read)).toBe('ImplicitlyDenied');
    expect(await authorize(principalOf(task.executionRole as IConstruct), read)).toBe('ImplicitlyDenied');
    const [roleId] = Object.keys(app.stack(data.stackName).template.Resources).filter((id) =>
      id.startsWith('AWS679f53fac002430cb0da5b7982bd2287ServiceRole'),
    );
    const deployer = app.principal(data.stackName, roleId as string);
    expect(await authorize(deployer, read)).toBe('Allowed');
    const cluster = deployed(data.database.cluster.clusterArn);
    expect(cluster).toMatch(/^arn:aws:rds:[^:]+:\d+:cluster:ecs-ops-dev-aurora$/);
    expect(await authorize(deployer, { action: 'rds-data:ExecuteStatement', resource: cluster })).toBe(
      'Allowed',
    );
  });

  it('a workflow starts only the workflows it runs: remediation starts scaling, never a rollout', async () => {
    const cp = environment('dev').controlPlane;
    if (!cp.remediation || !cp.scaling) throw new Error('dev has no remediation or scaling');
    const workflow = principalOf(cp.remediation.workflow.stateMachine.role);
    const start = (machine: IConstruct) =>
      authorize(workflow, { action: 'states:StartExecution', resource: arnOf(machine) });
    expect(await start(cp.scaling.workflow.stateMachine)).toBe('Allowed');
    expect(await start(cp.rollouts.workflow.stateMachine)).toBe('ImplicitlyDenied');
  });

  it('scaling registers scalable targets for an ECS service’s desired count only', async () => {
    const dev = environment('dev');
    const scaling = dev.controlPlane.scaling;
    if (!scaling) throw new Error('dev has no scaling');
    const workflow = principalOf(scaling.workflow.stateMachine.role);
    const register = (namespace: string, dimension: string, region = dev.config.region) =>
      authorize(workflow, {
        action: 'application-autoscaling:RegisterScalableTarget',
        resource: `arn:aws:application-autoscaling:${region}:${dev.config.account}:scalable-target/0ec1a2b3c4d5`,
        context: {
          'application-autoscaling:service-namespace': namespace,
          'application-autoscaling:scalable-dimension': dimension,
        },
      });
    expect(await register('ecs', 'ecs:service:DesiredCount')).toBe('Allowed');
    expect(await register('dynamodb', 'dynamodb:table:WriteCapacityUnits')).toBe('ExplicitlyDenied');
    expect(await register('ecs', 'ecs:service:DesiredCount', 'ap-south-1')).toBe('ImplicitlyDenied');
  });

  it('rollout analysis reads this account’s and region’s alarms only', async () => {
    const dev = environment('dev');
    const analysis = principalOf(dev.controlPlane.rollouts.analysisFunction.role);
    const alarm = (region: string, account: string) =>
      `arn:aws:cloudwatch:${region}:${account}:alarm:api-p99`;
    expect(
      await authorize(analysis, {
        action: 'cloudwatch:DescribeAlarms',
        resource: alarm(dev.config.region, dev.config.account),
      }),
    ).toBe('Allowed');
    expect(
      await authorize(analysis, {
        action: 'cloudwatch:DescribeAlarms',
        resource: alarm('ap-south-1', '999999999999'),
      }),
    ).toBe('ImplicitlyDenied');
  });

  it('every function given the alert queue may raise alerts on it (send, and use its key)', async () => {
    const dev = environment('dev');
    const stackName = dev.controlPlane.stackName;
    const resources = app.stack(stackName).template.Resources;
    const raisers = Object.entries(resources).filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' &&
        (r.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables?.ALERT_QUEUE_URL,
    );
    expect(raisers.length).toBeGreaterThanOrEqual(6);
    for (const [id, r] of raisers) {
      const variables = (r.Properties?.Environment ?? {}) as {
        Variables: { ALERT_QUEUE_URL: { Ref: string } };
      };
      const queueRef = variables.Variables.ALERT_QUEUE_URL.Ref;
      const queue = app.arnOf(stackName, queueRef);
      const key = (resources[queueRef]?.Properties?.KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] })?.[
        'Fn::GetAtt'
      ]?.[0];
      const principal = app.principal(stackName, id);
      expect(await authorize(principal, { action: 'sqs:SendMessage', resource: queue }), id).toBe('Allowed');
      if (key)
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
          expect(
            // KMS allows only what the key's own policy allows (here: the account, so IAM decides).
            await authorize(
              principal,
              { action, resource: app.arnOf(stackName, key) },
              resolveTokens(resources[key]?.Properties?.KeyPolicy, app.context(stackName)),
            ),
            `${id} ${action}`,
          ).toBe('Allowed');
    }
  });
});
