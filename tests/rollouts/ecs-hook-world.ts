// A world for ECS-controlled deployments: the control plane deployed from a control-plane-only
// config in which web/api is rolled out by task sets and web/shop by ECS (controller `ecs`, so
// the stack has the deployment hook and its invoke role), and the seeded cluster, whose web/shop
// is made as a team would have made it (local/seed.ts createEcsDeployedService): its own target
// groups, a path rule on the production listener, a rule on a test listener, and the ECS
// deployment controller with a load balancer naming both rules. ECS's deployments themselves are
// played by local/ecs-deployment-stand-in.ts.

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { beforeAll } from 'vitest';
import type { RolloutDefaults } from '../../events/rollout-input.ts';
import { awsClient } from '../../functions/shared/clients.ts';
import type { ManagedService } from '../../functions/shared/rollouts/config.ts';
import { DEPLOYMENT_HOOK_OUTPUTS } from '../../infra/shared/stack-outputs.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
import { putNamedAlarms, type Seed, seed } from '../../local/seed.ts';
import { localEstateSettings, SEEDED_WEB_CLUSTER_REFERENCE } from '../../local/seeded-estate.ts';
import { useEmulator } from '../support/emulator.ts';

export const ENVIRONMENT = 'local';
export const SHOP = { cluster: 'web', service: 'shop' } as const;
/** An alarm the service's analysis watches (OK unless a scenario sets it). */
export const SHOP_ALARM = 'web-shop-green-5xx';

export const ESTATE_CONFIG = {
  ...localEstateSettings(ENVIRONMENT),
  clusters: [SEEDED_WEB_CLUSTER_REFERENCE],
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
    const shop = world.seed.shop;
    if (!shop) throw new Error('the seed made no ECS-deployed service: the stack has no deployment hook');
    world.shop = {
      targetGroups: { blue: shop.targetGroups.a, green: shop.targetGroups.b },
      productionRuleArn: shop.productionRuleArn,
      testRuleArn: shop.testRuleArn,
      loadBalancerArn: world.seed.loadBalancer.arn,
      revisions: {
        blue: `${shop.arn.replace(':service/', ':service-revision/')}/1`,
        green: `${shop.arn.replace(':service/', ':service-revision/')}/2`,
      },
    };
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
