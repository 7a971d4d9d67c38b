// Four services on two clusters, operated by a control plane deployed from a control-plane-only
// config (local/seeded-estate.ts's shape, written out here): web/api and web/checkout behind one
// load balancer (the listener's default action and a path rule), the Fargate web/worker (scaled,
// not rolled out), and batch/api in a second cluster with its own groups and load balancer. Every
// grant is the scoped one a control-plane-only environment gets, and IAM is enforced on the rig.

import {
  CreateServiceCommand,
  CreateTaskSetCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServicePrimaryTaskSetCommand,
} from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { beforeAll } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { taskRolePathFor } from '../../infra/config.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from '../../local/emulator.ts';
import { type Seed, seed } from '../../local/seed.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { createFargateWorker } from '../scaling/world.ts';
import { useEmulator } from '../support/emulator.ts';

export const ENVIRONMENT = 'local';
const ROLE_PATH = taskRolePathFor(ENVIRONMENT);
const role = (name: string) => `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role${ROLE_PATH}${name}`;
export const BATCH = {
  name: 'batch',
  rebalance: 'drain',
  spotAsg: 'batch-spot',
  onDemandAsg: 'batch-on-demand',
} as const;

/** The estate as its team would reference it (names only: ARNs carry ids the seed makes). */
export const ESTATE_CONFIG = {
  name: ENVIRONMENT,
  mode: 'control-plane-only',
  account: EMULATOR_ACCOUNT_ID,
  region: EMULATOR_REGION,
  logRetentionDays: 30,
  alerts: { emails: [] },
  clusters: [
    {
      cluster: 'web',
      rebalance: 'surge',
      spot: { autoScalingGroup: 'web-spot', capacityProvider: 'web-spot', draining: 'agent' },
      onDemand: { autoScalingGroup: 'web-on-demand', capacityProvider: 'web-on-demand' },
    },
    {
      cluster: 'batch',
      rebalance: 'drain',
      spot: { autoScalingGroup: 'batch-spot', capacityProvider: 'batch-spot', draining: 'managed' },
      onDemand: { autoScalingGroup: 'batch-on-demand', capacityProvider: 'batch-on-demand' },
    },
  ],
  services: [
    {
      cluster: 'web',
      service: 'api',
      loadBalancer: 'web-alb',
      targetGroups: { blue: 'web-blue', green: 'web-green' },
      listeners: { production: 80 },
      taskRoles: [role('web-api-task'), role('web-api-execution')],
      taskDefinitionFamily: 'web-api',
    },
    {
      cluster: 'web',
      service: 'checkout',
      loadBalancer: 'web-alb',
      targetGroups: { blue: 'web-checkout-blue', green: 'web-checkout-green' },
      listeners: { production: 80 },
      taskRoles: [role('web-checkout-task'), role('web-checkout-execution')],
      taskDefinitionFamily: 'web-checkout',
    },
    { cluster: 'web', service: 'worker' },
    {
      cluster: 'batch',
      service: 'api',
      loadBalancer: 'batch-alb',
      targetGroups: { blue: 'batch-blue', green: 'batch-green' },
      listeners: { production: 80 },
      taskRoles: [role('batch-api-task'), role('batch-api-execution')],
      taskDefinitionFamily: 'batch-api',
    },
  ],
};

export interface Checkout {
  blueTargetGroupArn: string;
  greenTargetGroupArn: string;
  ruleArn: string;
  blueTaskSetArn: string;
}

export interface ManyServicesWorld {
  stack: DeployedStack;
  web: Seed;
  batch: Seed;
  checkout: Checkout;
  clock: VirtualClock;
}

export function useManyServicesWorld(): ManyServicesWorld {
  useEmulator();
  const world = {} as ManyServicesWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane(ENVIRONMENT, { config: ESTATE_CONFIG });
    world.web = await seed(world.stack, { instances: 8, spotFraction: 0.5 });
    world.batch = await seed(world.stack, {
      instances: 4,
      spotFraction: 1,
      cluster: { ...BATCH },
      suffix: '-batch',
    });
    await createFargateWorker(world.web);
    world.checkout = await createCheckout(world.web);
    world.clock = new VirtualClock();
  }, 180_000);
  return world;
}

/** web/checkout as the team made it: EXTERNAL, its own target groups, a path rule on web's listener. */
async function createCheckout(web: Seed): Promise<Checkout> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const ecs = awsClient(ECSClient);
  const iam = awsClient(IAMClient);
  const group = async (color: string) =>
    (
      await elb.send(
        new CreateTargetGroupCommand({
          Name: `web-checkout-${color}`,
          Protocol: 'HTTP',
          Port: 8080,
          VpcId: web.vpcId,
          TargetType: 'ip',
          HealthCheckPath: '/healthz',
        }),
      )
    ).TargetGroups?.[0]?.TargetGroupArn as string;
  const blue = await group('blue');
  const green = await group('green');
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: web.loadBalancer.listenerArn,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/checkout/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blue, Weight: 100 },
              { TargetGroupArn: green, Weight: 0 },
            ],
          },
        },
      ],
    }),
  );
  const roles: Record<string, string> = {};
  for (const kind of ['task', 'execution']) {
    const created = await iam.send(
      new CreateRoleCommand({
        RoleName: `web-checkout-${kind}`,
        Path: ROLE_PATH,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
    roles[kind] = created.Role?.Arn as string;
  }
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'web-checkout',
      taskRoleArn: roles.task,
      executionRoleArn: roles.execution,
      containerDefinitions: [
        {
          name: 'app',
          image: 'public.ecr.aws/nginx/nginx:stable',
          memory: 256,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  await ecs.send(
    new CreateServiceCommand({
      cluster: web.cluster,
      serviceName: 'checkout',
      desiredCount: 2,
      deploymentController: { type: 'EXTERNAL' },
    }),
  );
  const taskSet = await ecs.send(
    new CreateTaskSetCommand({
      cluster: web.cluster,
      service: 'checkout',
      taskDefinition: definition.taskDefinition?.taskDefinitionArn,
      externalId: 'team-initial',
      loadBalancers: [{ targetGroupArn: blue, containerName: 'app', containerPort: 8080 }],
      launchType: 'EC2',
      scale: { unit: 'PERCENT', value: 100 },
    }),
  );
  const blueTaskSetArn = taskSet.taskSet?.taskSetArn as string;
  await ecs.send(
    new UpdateServicePrimaryTaskSetCommand({
      cluster: web.cluster,
      service: 'checkout',
      primaryTaskSet: blueTaskSetArn,
    }),
  );
  return {
    blueTargetGroupArn: blue,
    greenTargetGroupArn: green,
    ruleArn: rule.Rules?.[0]?.RuleArn as string,
    blueTaskSetArn,
  };
}
