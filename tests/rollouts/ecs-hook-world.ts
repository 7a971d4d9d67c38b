// A world for ECS-controlled deployments: the control plane deployed from a control-plane-only
// config in which web/api is rolled out by task sets and web/shop by ECS (controller `ecs`, so
// the stack has the deployment hook and its invoke role), the seeded cluster, and web/shop as a
// team would have made it: its own target groups, a path rule on the production listener, a
// rule on a test listener, and the ECS service with the ECS deployment controller whose load
// balancer names both rules (advancedConfiguration). ECS's deployments themselves are played by
// local/ecs-deployment-stand-in.ts.

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateRuleCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll } from 'vitest';
import type { RolloutDefaults } from '../../events/rollout-input.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import type { ManagedService } from '../../functions/shared/rollouts/config.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import { allTrafficToBlue, createTargetGroup, putNamedAlarms, type Seed, seed } from '../../local/seed.ts';
import { localEstateSettings } from '../../local/seeded-estate.ts';
import { useEmulator } from '../support/emulator.ts';

export const ENVIRONMENT = 'local';
export const SHOP = { cluster: 'web', service: 'shop' } as const;
/** An alarm the service's analysis watches (OK unless a scenario sets it). */
export const SHOP_ALARM = 'web-shop-green-5xx';

export const ESTATE_CONFIG = {
  ...localEstateSettings(ENVIRONMENT),
  clusters: [
    {
      cluster: 'web',
      rebalance: 'surge',
      spot: { autoScalingGroup: 'web-spot', capacityProvider: 'web-spot', draining: 'agent' },
      onDemand: { autoScalingGroup: 'web-on-demand', capacityProvider: 'web-on-demand' },
    },
  ],
  services: [
    {
      cluster: 'web',
      service: 'api',
      loadBalancer: 'web-alb',
      targetGroups: { blue: 'web-blue', green: 'web-green' },
      listeners: { production: 80 },
      taskDefinitionFamily: 'web-api',
    },
    {
      cluster: 'web',
      service: 'shop',
      deploymentController: 'ecs',
      loadBalancer: 'web-alb',
      targetGroups: { blue: 'web-shop-a', green: 'web-shop-b' },
      listeners: { production: 80, test: 8081 },
    },
    // Named by config/scaling/local.json: scaled, never rolled out.
    { cluster: 'web', service: 'worker' },
  ],
};

export interface Shop {
  /** The target group serving now (the production rule's 100) and the alternate. */
  targetGroups: { blue: string; green: string };
  productionRuleArn: string;
  testRuleArn: string;
  loadBalancerArn: string;
  revisions: { blue: string; green: string };
}

export interface EcsHookWorld {
  stack: DeployedStack;
  seed: Seed;
  shop: Shop;
  hook: { functionArn: string; roleArn: string };
  /** Sets web/shop's rollout defaults (analysis, approval) in the hook's environment, as a redeploy would. */
  setShopDefaults(defaults: RolloutDefaults): void;
}

export function useEcsHookWorld(): EcsHookWorld {
  useEmulator();
  const world = {} as EcsHookWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane(ENVIRONMENT, { config: ESTATE_CONFIG });
    world.seed = await seed(world.stack, { instances: 4, spotFraction: 0.5 });
    world.shop = await createShop(world.seed);
    await putNamedAlarms(awsClient(CloudWatchClient), [SHOP_ALARM]);
    installPercentileStandIn();
    const hook = world.stack.functions['deployment-hook'];
    if (!hook) throw new Error('the stack has no deployment-hook function');
    world.hook = {
      functionArn: world.stack.outputs[DEPLOYMENT_HOOK_OUTPUTS.functionArn] as string,
      roleArn: world.stack.outputs[DEPLOYMENT_HOOK_OUTPUTS.invokeRoleArn] as string,
    };
    const deployed = JSON.parse(hook.environment.MANAGED_SERVICES as string) as ManagedService[];
    world.setShopDefaults = (defaults) => {
      hook.environment.MANAGED_SERVICES = JSON.stringify(
        deployed.map((m) => (m.service === SHOP.service ? { ...m, defaults } : m)),
      );
    };
  }, 180_000);
  return world;
}

async function createShop(web: Seed): Promise<Shop> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const a = await createTargetGroup(elb, 'web-shop-a', web.vpcId);
  const b = await createTargetGroup(elb, 'web-shop-b', web.vpcId);
  const production = await elb.send(
    new CreateRuleCommand({
      ListenerArn: web.loadBalancer.listenerArn,
      Priority: 20,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/shop/*'] } }],
      Actions: allTrafficToBlue(a, b),
    }),
  );
  const testListener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: web.loadBalancer.arn,
      Protocol: 'HTTP',
      Port: 8081,
      DefaultActions: [
        { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } },
      ],
    }),
  );
  const test = await elb.send(
    new CreateRuleCommand({
      ListenerArn: testListener.Listeners?.[0]?.ListenerArn,
      Priority: 20,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/shop/*'] } }],
      Actions: allTrafficToBlue(a, b),
    }),
  );
  const productionRuleArn = production.Rules?.[0]?.RuleArn as string;
  const testRuleArn = test.Rules?.[0]?.RuleArn as string;
  const ecs = awsClient(ECSClient);
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `${web.cluster}-${SHOP.service}`,
      containerDefinitions: [
        {
          name: 'app',
          image: 'registry.local/shop:1',
          memory: 256,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    }),
  );
  const created = await ecs.send(
    new CreateServiceCommand({
      cluster: web.cluster,
      serviceName: SHOP.service,
      taskDefinition: definition.taskDefinition?.taskDefinitionArn,
      desiredCount: 2,
      deploymentController: { type: 'ECS' },
      loadBalancers: [
        {
          targetGroupArn: a,
          containerName: 'app',
          containerPort: 8080,
          advancedConfiguration: {
            alternateTargetGroupArn: b,
            productionListenerRule: productionRuleArn,
            testListenerRule: testRuleArn,
            roleArn: `arn:aws:iam::${web.clusterArn.split(':')[4]}:role/ecs-infrastructure-for-load-balancers`,
          },
        },
      ],
    }),
  );
  const revision = (n: number) =>
    `${created.service?.serviceArn?.replace(':service/', ':service-revision/')}/${n}`;
  return {
    targetGroups: { blue: a, green: b },
    productionRuleArn,
    testRuleArn,
    loadBalancerArn: web.loadBalancer.arn,
    revisions: { blue: revision(1), green: revision(2) },
  };
}
