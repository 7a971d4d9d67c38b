// Four services on two clusters, operated by a control plane deployed from a control-plane-only
// config (local/seeded-estate.ts's shape, written out here): web/api and web/checkout behind one
// load balancer (the listener's default action and a path rule), the Fargate web/worker (scaled,
// not rolled out), and batch/api in a second cluster with its own groups and load balancer. Every
// grant is the scoped one a control-plane-only environment gets, and IAM is enforced on the rig.
import { CreateRuleCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import {
  allTrafficToBlue,
  createRolledOutService,
  createTargetGroup,
  type Seed,
  seed,
} from '../../local/seed.ts';
import {
  localEstateSettings,
  routedServiceReference,
  SEEDED_WEB_CLUSTER_REFERENCE,
} from '../../local/seeded-estate.ts';
import { VirtualClock } from '../../local/virtual-clock.ts';
import { createFargateWorker } from '../scaling/world.ts';
import { useEmulator } from '../support/emulator.ts';

export const ENVIRONMENT = 'local';
export const BATCH = {
  name: 'batch',
  rebalance: 'drain',
  spotAsg: 'batch-spot',
  onDemandAsg: 'batch-on-demand',
} as const;

const routedService = (cluster: string, service: string, groups: string) =>
  routedServiceReference(ENVIRONMENT, cluster, service, groups);

/** The estate as its team would reference it (names only: ARNs carry ids the seed makes). */
export const ESTATE_CONFIG = {
  ...localEstateSettings(ENVIRONMENT),
  clusters: [
    SEEDED_WEB_CLUSTER_REFERENCE,
    {
      cluster: 'batch',
      rebalance: 'drain',
      spot: { autoScalingGroup: 'batch-spot', capacityProvider: 'batch-spot', draining: 'managed' },
      onDemand: { autoScalingGroup: 'batch-on-demand', capacityProvider: 'batch-on-demand' },
    },
  ],
  services: [
    routedService('web', 'api', 'web'),
    routedService('web', 'checkout', 'web-checkout'),
    { cluster: 'web', service: 'worker' },
    routedService('batch', 'api', 'batch'),
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
  const blue = await createTargetGroup(elb, 'web-checkout-blue', web.vpcId);
  const green = await createTargetGroup(elb, 'web-checkout-green', web.vpcId);
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: web.loadBalancer.listenerArn,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/checkout/*'] } }],
      Actions: allTrafficToBlue(blue, green),
    }),
  );
  const service = await createRolledOutService({
    cluster: web.cluster,
    service: 'checkout',
    environmentName: ENVIRONMENT,
    blueTargetGroupArn: blue,
    desiredCount: 2,
    memoryMiB: 256,
  });
  return {
    blueTargetGroupArn: blue,
    greenTargetGroupArn: green,
    ruleArn: rule.Rules?.[0]?.RuleArn as string,
    blueTaskSetArn: service.blueTaskSetArn,
  };
}
