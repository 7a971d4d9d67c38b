// One release-train world per test file: the seeded `web` cluster with web/api and five more
// task-set services behind the same load balancer (each with its blue and green target groups
// and a path rule), operated by a control plane deployed from a control-plane-only config that
// lists them all. Every grant is the scoped one that environment gets, and IAM is enforced.
import { CreateRuleCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll } from 'vitest';
import { awsClient } from '../../functions/shared/clients.ts';
import { FreezeWindowSchema } from '../../functions/shared/freeze-windows.ts';
import { SloConfigSchema } from '../../functions/shared/slo/objectives.ts';
import { deployControlPlane } from '../../local/control-plane.ts';
import type { DeployedStack } from '../../local/deploy.ts';
import { installPercentileStandIn } from '../../local/percentile-stand-in.ts';
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
import { useEmulator } from '../support/emulator.ts';

export const ENVIRONMENT = 'local';
/** The services besides web/api, each with two tasks (web/api has four): 14 tasks in web. */
export const TRAIN_SERVICES = ['cart', 'search', 'orders', 'billing', 'profile'] as const;
export const SERVICE_TASKS = 2;

const routedService = (service: string, groups: string) =>
  routedServiceReference(ENVIRONMENT, 'web', service, groups);

export const TRAIN_ESTATE = {
  ...localEstateSettings(ENVIRONMENT),
  clusters: [SEEDED_WEB_CLUSTER_REFERENCE],
  services: [
    routedService('api', 'web'),
    ...TRAIN_SERVICES.map((s) => routedService(s, `web-${s}`)),
    // Scaled, not rolled out (config/scaling/local.json names it).
    { cluster: 'web', service: 'worker' },
  ],
};

/** A year-end change freeze on two services, far enough ahead that only the freeze tests' clocks reach it. */
export const FREEZE_START = '2031-01-01T00:00:00Z';
export const FREEZES = [
  FreezeWindowSchema.parse({
    name: 'year end',
    start: '2031-01-01T00:00Z',
    end: '2031-01-03T00:00Z',
    services: ['web/profile', 'web/billing'],
    reason: 'change freeze over the new year',
  }),
];

/** SLOs on two services: orders' availability, search's latency (the default burn-rate rules). */
export const SLOS = SloConfigSchema.parse({
  services: [
    { cluster: 'web', service: 'orders', availability: { objective: 99.9 } },
    { cluster: 'web', service: 'search', latency: { p95Ms: 300, objective: 99 } },
  ],
});

export interface RoutedService {
  blueTargetGroupArn: string;
  greenTargetGroupArn: string;
  ruleArn: string;
}

export interface TrainWorld {
  stack: DeployedStack;
  web: Seed;
  /** The five services' groups and rules, by name; web/api's are the seed's. */
  services: Record<string, RoutedService>;
}

export function useTrainWorld(): TrainWorld {
  useEmulator();
  const world = { services: {} } as TrainWorld;
  beforeAll(async () => {
    world.stack = await deployControlPlane(ENVIRONMENT, {
      config: TRAIN_ESTATE,
      freezeWindows: FREEZES,
      slos: SLOS,
    });
    // Room for the greens the tests run at once beside 14 tasks of blue.
    world.web = await seed(world.stack, { instances: 10, spotFraction: 0.5 });
    let priority = 10;
    for (const name of TRAIN_SERVICES)
      world.services[name] = await createRoutedService(world.web, name, priority++);
    installPercentileStandIn();
  }, 180_000);
  return world;
}

async function createRoutedService(web: Seed, name: string, priority: number): Promise<RoutedService> {
  const elb = awsClient(ElasticLoadBalancingV2Client);
  const blue = await createTargetGroup(elb, `web-${name}-blue`, web.vpcId);
  const green = await createTargetGroup(elb, `web-${name}-green`, web.vpcId);
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: web.loadBalancer.listenerArn,
      Priority: priority,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: [`/${name}/*`] } }],
      Actions: allTrafficToBlue(blue, green),
    }),
  );
  await createRolledOutService({
    cluster: web.cluster,
    service: name,
    environmentName: ENVIRONMENT,
    blueTargetGroupArn: blue,
    desiredCount: SERVICE_TASKS,
    memoryMiB: 256,
  });
  return {
    blueTargetGroupArn: blue,
    greenTargetGroupArn: green,
    ruleArn: rule.Rules?.[0]?.RuleArn as string,
  };
}
