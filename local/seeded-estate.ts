// The seeded world described the way a control-plane-only environment describes an existing
// estate (config/<env>.json with "mode": "control-plane-only"): what `ops doctor` checks locally,
// and what its tests break on purpose.

import { taskRolePathFor } from '../infra/config.ts';
import type { ControlPlaneOnlyConfig } from '../infra/control-plane-only-config.ts';
import { parseControlPlaneOnlyConfig } from '../infra/control-plane-only-config.ts';
import { EMULATOR_ACCOUNT_ID, EMULATOR_REGION } from './emulator.ts';
import type { Seed } from './seed.ts';

/**
 * A service of a control-plane-only config as the rig seeds it (createRolledOutService): behind
 * its cluster's load balancer (`<cluster>-alb`, port 80), with its blue and green target groups
 * (`<groups>-blue`, `<groups>-green`), its task and execution roles under the environment's role
 * path, and its family `<cluster>-<service>`.
 */
export function routedServiceReference(
  environmentName: string,
  cluster: string,
  service: string,
  groups: string,
) {
  const role = (name: string) =>
    `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role${taskRolePathFor(environmentName)}${name}`;
  return {
    cluster,
    service,
    loadBalancer: `${cluster}-alb`,
    targetGroups: { blue: `${groups}-blue`, green: `${groups}-green` },
    listeners: { production: 80 },
    taskRoles: [role(`${cluster}-${service}-task`), role(`${cluster}-${service}-execution`)],
    taskDefinitionFamily: `${cluster}-${service}`,
  };
}

/** What every control-plane-only config of the rig says besides its clusters and services. */
export const localEstateSettings = (environmentName: string) => ({
  name: environmentName,
  mode: 'control-plane-only' as const,
  account: EMULATOR_ACCOUNT_ID,
  region: EMULATOR_REGION,
  logRetentionDays: 30 as const,
  alerts: { emails: [] },
});

/** The seeded `web` cluster as a control-plane-only config references it by name. */
export const SEEDED_WEB_CLUSTER_REFERENCE = {
  cluster: 'web',
  rebalance: 'surge',
  spot: { autoScalingGroup: 'web-spot', capacityProvider: 'web-spot', draining: 'agent' },
  onDemand: { autoScalingGroup: 'web-on-demand', capacityProvider: 'web-on-demand' },
} as const;

export function seededEstateConfig(seed: Seed, environmentName = 'local'): ControlPlaneOnlyConfig {
  return parseControlPlaneOnlyConfig(
    {
      ...localEstateSettings(environmentName),
      clusters: [
        {
          cluster: seed.clusterArn,
          rebalance: 'surge',
          spot: {
            autoScalingGroup: seed.autoScalingGroups.spot,
            capacityProvider: seed.capacityProviders.spot,
            draining: 'agent',
          },
          onDemand: {
            autoScalingGroup: seed.autoScalingGroups.onDemand,
            capacityProvider: seed.capacityProviders.onDemand,
          },
        },
      ],
      services: [
        {
          cluster: seed.cluster,
          service: seed.service.arn,
          loadBalancer: seed.loadBalancer.arn,
          targetGroups: {
            blue: seed.loadBalancer.blueTargetGroupArn,
            green: seed.loadBalancer.greenTargetGroupArn,
          },
          listeners: { production: 80 },
          taskRoles: [seed.service.roles.task, seed.service.roles.execution],
          taskDefinitionFamily: `${seed.cluster}-${seed.service.name}`,
        },
      ],
    },
    '(the seeded world)',
  );
}
