// The services the control plane may roll out, and the configuration of the rollout functions
// (rollout-step, rollout-analysis, and remediation's rollback), defined once for infra, handlers
// and tests.

import { RolloutDefaultsSchema } from '../../../events/rollout-input.ts';
import * as z from '../../../events/zod.ts';
import { ControlPlaneEnvSchema, jsonEnv } from '../env.ts';

/** A service the control plane may roll out, and the load balancer it may re-weigh for it. */
export const ManagedServiceSchema = z.object({
  cluster: z.string().check(z.minLength(1)),
  service: z.string().check(z.minLength(1)),
  /** Name of the ALB whose listener forwards to the service's blue and green target groups. */
  loadBalancerName: z.string().check(z.minLength(1)),
  /** The task definition family its revisions are registered in (default `<cluster>-<service>`). */
  taskDefinitionFamily: z.optional(z.string().check(z.minLength(1))),
  /**
   * Who rolls it out: `external` (default), this project's task-set controller (the
   * blue-green-rollout workflow); `ecs`, ECS's own deployments (BLUE_GREEN, CANARY, LINEAR), judged
   * by the deployment-hook function at their lifecycle stages.
   */
  controller: z.optional(z.enum(['external', 'ecs'])),
  /** The service's rollout defaults (config/rollouts/<env>.json), as written there. */
  defaults: z.optional(RolloutDefaultsSchema),
});
export type ManagedService = z.input<typeof ManagedServiceSchema>;

/**
 * Services of one cluster behind one load balancer with nothing else set (their family is the
 * default one): how MANAGED_SERVICES carries most services, by name only. Lambda allows a
 * function 4 KB of environment, and a fleet of 200 services must fit.
 */
const ManagedServiceGroupSchema = z.strictObject({
  cluster: z.string().check(z.minLength(1)),
  loadBalancerName: z.string().check(z.minLength(1)),
  services: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
});

/** MANAGED_SERVICES (managedServicesEnv writes it): the rollout functions read it, and so do the CLI and the tour. */
export const ManagedServicesSchema = jsonEnv(
  z.pipe(
    z.array(z.union([ManagedServiceGroupSchema, ManagedServiceSchema])).check(z.minLength(1)),
    z.transform((entries): z.infer<typeof ManagedServiceSchema>[] =>
      entries.flatMap((entry) =>
        'services' in entry
          ? entry.services.map((service) => ({
              cluster: entry.cluster,
              service,
              loadBalancerName: entry.loadBalancerName,
            }))
          : [entry],
      ),
    ),
  ),
);

/**
 * MANAGED_SERVICES for `services`: the plain ones grouped by cluster and load balancer, the others
 * whole, each group where its first service was.
 */
export function managedServicesEnv(services: readonly ManagedService[]): string {
  const groups = new Map<string, z.infer<typeof ManagedServiceGroupSchema>>();
  const entries: (ManagedService | z.infer<typeof ManagedServiceGroupSchema>)[] = [];
  for (const s of services) {
    const plain =
      (s.controller ?? 'external') === 'external' &&
      s.defaults === undefined &&
      (s.taskDefinitionFamily ?? `${s.cluster}-${s.service}`) === `${s.cluster}-${s.service}`;
    if (!plain) {
      entries.push(s);
      continue;
    }
    const key = `${s.cluster}\n${s.loadBalancerName}`;
    const group = groups.get(key);
    if (group) group.services.push(s.service);
    else {
      const created = { cluster: s.cluster, loadBalancerName: s.loadBalancerName, services: [s.service] };
      groups.set(key, created);
      entries.push(created);
    }
  }
  return JSON.stringify(entries);
}

export const RolloutEnvSchema = z.extend(ControlPlaneEnvSchema, {
  MANAGED_SERVICES: ManagedServicesSchema,
  /** Rollouts and release trains are refused inside these (freezeWindowsOf parses it when needed). */
  FREEZE_WINDOWS: z.optional(z.string()),
  /** Services' SLOs: rollouts judge their error budget, trains need it unspent (sloConfigOf parses it). */
  SERVICE_SLOS: z.optional(z.string()),
});
export type RolloutEnv = z.infer<typeof RolloutEnvSchema>;
export type RolloutEnvInput = z.input<typeof RolloutEnvSchema>;
