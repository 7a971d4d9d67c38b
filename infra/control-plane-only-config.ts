// A control-plane-only environment: config/<name>.json with "mode": "control-plane-only". Only
// the control plane is deployed; the clusters, services, load balancers, target groups,
// listeners, Auto Scaling groups and alarms already exist and are referenced by name or ARN.
// CloudFormation creates or changes none of them, and every grant is scoped to exactly them.
// (`ops doctor` checks that what the file references is ready: docs/adoption.md.)
import * as z from '../events/zod.ts';
import type { ManagedCluster } from '../functions/shared/managed-clusters.ts';
import { RebalanceModeSchema } from '../functions/shared/managed-clusters.ts';
import type { ManagedService } from '../functions/shared/rollouts/config.ts';
import {
  checkEnvironmentName,
  type EnvironmentConfig,
  EnvironmentConfigSchema,
  parseConfig,
  parseWith,
  readEnvironmentFile,
} from './config.ts';
import { type ReferenceKind, resolveReference } from './resource-references.ts';

const Reference = z.string().check(z.minLength(1), z.maxLength(1600));
const Port = z.number().check(z.int(), z.gte(1), z.lte(65535));

const CapacityGroupReferenceSchema = z.strictObject({
  /** The Auto Scaling group that holds this market's instances (name or ARN). */
  autoScalingGroup: Reference,
  /** The capacity provider over it, when the cluster uses one (name or ARN). */
  capacityProvider: z.optional(Reference),
});

const ClusterReferenceSchema = z.strictObject({
  /** The ECS cluster (name or ARN). */
  cluster: Reference,
  /** What a rebalance recommendation does to its instances. */
  rebalance: z._default(RebalanceModeSchema, 'surge'),
  /** EC2 Spot capacity; absent for a cluster without spot instances (Fargate, on-demand only). */
  spot: z.optional(
    z.strictObject({
      ...CapacityGroupReferenceSchema.shape,
      /**
       * Who drains a spot instance on its two-minute warning besides the control plane: the ECS
       * agent (ECS_ENABLE_SPOT_INSTANCE_DRAINING=true in its config) or the capacity provider's
       * managed draining. `ops doctor` checks that the one named here is set.
       */
      draining: z.enum(['agent', 'managed']),
    }),
  ),
  /** On-demand capacity: where replacements go when spot is reclaimed too fast. */
  onDemand: z.optional(CapacityGroupReferenceSchema),
});

const ServiceReferenceSchema = z.strictObject({
  /** The cluster it runs in, as named under `clusters`. */
  cluster: Reference,
  /** The ECS service (name or ARN). */
  service: Reference,
  /**
   * Who rolls it out: `external` (default; its deployment controller is EXTERNAL and the
   * blue-green-rollout workflow drives task sets), or `ecs` (its controller is ECS with a
   * BLUE_GREEN, CANARY or LINEAR strategy; the stack's deployment hook judges its deployments at
   * their lifecycle stages: the service's LifecycleHooks name the outputs DeploymentHookFunctionArn
   * and DeploymentHookInvokeRoleArn).
   */
  deploymentController: z._default(z.enum(['external', 'ecs']), 'external'),
  /**
   * The Application Load Balancer in front of it (name or ARN), with `targetGroups` and
   * `listeners`: a service with them is rolled out; one without (a worker) is scaled and
   * remediated only.
   */
  loadBalancer: z.optional(Reference),
  /** Its two target groups (names or ARNs): one serves, the other takes the next version. */
  targetGroups: z.optional(z.strictObject({ blue: Reference, green: Reference })),
  /**
   * The listeners (by port) whose default action or rule forwards to the two target groups:
   * production traffic, and the optional test listener of pre-traffic checks.
   */
  listeners: z.optional(z.strictObject({ production: Port, test: z.optional(Port) })),
  /**
   * The task and execution roles (names or ARNs; an ARN for a role with a path) of its task
   * definitions: a rollout's new revision keeps them, and may pass these roles only, to ECS tasks only.
   */
  taskRoles: z._default(z.array(Reference), []),
  /** The task definition family rollouts register revisions in (default `<cluster>-<service>`). */
  taskDefinitionFamily: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,255}$/))),
});

/** Keys shared with a full environment, with the same rules. */
const shared = EnvironmentConfigSchema.shape;

export const ControlPlaneOnlyConfigSchema = z
  .strictObject({
    name: shared.name,
    mode: z.literal('control-plane-only'),
    account: shared.account,
    region: shared.region,
    logRetentionDays: shared.logRetentionDays,
    alerts: shared.alerts,
    clusters: z.array(ClusterReferenceSchema).check(z.minLength(1)),
    services: z.array(ServiceReferenceSchema).check(z.minLength(1)),
  })
  .check(z.superRefine((config, ctx) => validateReferences(config, ctx)));

export type ControlPlaneOnlyConfig = z.infer<typeof ControlPlaneOnlyConfigSchema>;

type Ctx = Parameters<Parameters<typeof z.superRefine<ControlPlaneOnlyConfig>>[0]>[1];

function validateReferences(config: ControlPlaneOnlyConfig, ctx: Ctx): void {
  const where = { account: config.account, region: config.region };
  const check = (kind: ReferenceKind, value: string | undefined, path: (string | number)[]) => {
    if (value === undefined) return undefined;
    const resolved = resolveReference(kind, value, where);
    if ('problem' in resolved) {
      ctx.addIssue({ code: 'custom', path, message: resolved.problem });
      return undefined;
    }
    return resolved;
  };
  const clusterNames: string[] = [];
  config.clusters.forEach((c, i) => {
    const cluster = check('cluster', c.cluster, ['clusters', i, 'cluster'])?.name;
    if (cluster && clusterNames.includes(cluster))
      ctx.addIssue({
        code: 'custom',
        path: ['clusters', i, 'cluster'],
        message: `${cluster} is listed twice`,
      });
    else if (cluster) clusterNames.push(cluster);
    for (const market of ['spot', 'onDemand'] as const) {
      const group = c[market];
      check('autoScalingGroup', group?.autoScalingGroup, ['clusters', i, market, 'autoScalingGroup']);
      check('capacityProvider', group?.capacityProvider, ['clusters', i, market, 'capacityProvider']);
    }
    if (c.spot?.draining === 'managed' && !c.spot.capacityProvider)
      ctx.addIssue({
        code: 'custom',
        path: ['clusters', i, 'spot', 'capacityProvider'],
        message: 'is needed for managed draining (a capacity provider drains its instances)',
      });
  });
  const seen = new Set<string>();
  config.services.forEach((s, i) => {
    const at = (...key: (string | number)[]) => ['services', i, ...key];
    const cluster = check('cluster', s.cluster, at('cluster'))?.name;
    if (cluster && !clusterNames.includes(cluster))
      ctx.addIssue({
        code: 'custom',
        path: at('cluster'),
        message: `${cluster} is not under clusters (${clusterNames.join(', ')})`,
      });
    const service = check('service', s.service, at('service'));
    if (service?.parent && cluster && service.parent !== cluster)
      ctx.addIssue({
        code: 'custom',
        path: at('service'),
        message: `is a service of ${service.parent}, not ${cluster}`,
      });
    if (service && cluster) {
      const id = `${cluster}/${service.name}`;
      if (seen.has(id))
        ctx.addIssue({ code: 'custom', path: at('service'), message: `${id} is listed twice` });
      seen.add(id);
    }
    // Rolled out (all three) or not (none): half a route is a typo.
    const routing = (['loadBalancer', 'targetGroups', 'listeners'] as const).filter(
      (k) => s[k] !== undefined,
    );
    if (routing.length > 0)
      for (const key of ['loadBalancer', 'targetGroups', 'listeners'] as const)
        if (s[key] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: at(key),
            message: `is needed with ${routing.join(' and ')} (a rolled-out service has all three)`,
          });
    check('loadBalancer', s.loadBalancer, at('loadBalancer'));
    if (s.targetGroups) {
      const blue = check('targetGroup', s.targetGroups.blue, at('targetGroups', 'blue'))?.name;
      const green = check('targetGroup', s.targetGroups.green, at('targetGroups', 'green'))?.name;
      if (blue && blue === green)
        ctx.addIssue({ code: 'custom', path: at('targetGroups', 'green'), message: 'must differ from blue' });
    }
    s.taskRoles.forEach((role, r) => {
      check('role', role, at('taskRoles', r));
    });
    if (s.listeners && s.listeners.test === s.listeners.production)
      ctx.addIssue({ code: 'custom', path: at('listeners', 'test'), message: 'must differ from production' });
  });
}

/** The name a (validated) reference stands for. */
const nameOf = (kind: ReferenceKind, value: string, config: ControlPlaneOnlyConfig): string => {
  const resolved = resolveReference(kind, value, config);
  if ('problem' in resolved) throw new Error(resolved.problem);
  return resolved.name;
};

/** The clusters as every capability acting on capacity gets them. */
export function managedClustersOf(config: ControlPlaneOnlyConfig): ManagedCluster[] {
  return config.clusters.map((c) => ({
    name: nameOf('cluster', c.cluster, config),
    rebalance: c.rebalance,
    ...(c.spot ? { spotAsg: nameOf('autoScalingGroup', c.spot.autoScalingGroup, config) } : {}),
    ...(c.onDemand ? { onDemandAsg: nameOf('autoScalingGroup', c.onDemand.autoScalingGroup, config) } : {}),
    // Only the services the config references: the control plane changes nothing else's count.
    protectServices: referencedServicesOf(config)
      .filter((s) => s.cluster === nameOf('cluster', c.cluster, config))
      .map((s) => s.service),
  }));
}

/** A service the config references that is rolled out: it has a load balancer and target groups. */
export type RoutedServiceReference = ControlPlaneOnlyConfig['services'][number] & {
  loadBalancer: string;
  targetGroups: { blue: string; green: string };
  listeners: { production: number; test?: number | undefined };
};
export const isRolledOut = (s: ControlPlaneOnlyConfig['services'][number]): s is RoutedServiceReference =>
  s.loadBalancer !== undefined && s.targetGroups !== undefined && s.listeners !== undefined;

/** Every service the config references, rolled out or not, as `{ cluster, service }` names. */
export function referencedServicesOf(config: ControlPlaneOnlyConfig): { cluster: string; service: string }[] {
  return config.services.map((s) => ({
    cluster: nameOf('cluster', s.cluster, config),
    service: nameOf('service', s.service, config),
  }));
}

/** The rolled-out services as the rollout functions (and remediation's rollback) get them. */
export function managedServicesOf(config: ControlPlaneOnlyConfig): ManagedService[] {
  return config.services.filter(isRolledOut).map((s) => {
    const cluster = nameOf('cluster', s.cluster, config);
    const service = nameOf('service', s.service, config);
    return {
      cluster,
      service,
      loadBalancerName: nameOf('loadBalancer', s.loadBalancer, config),
      taskDefinitionFamily: s.taskDefinitionFamily ?? `${cluster}-${service}`,
      ...(s.deploymentController === 'ecs' ? { controller: 'ecs' as const } : {}),
    };
  });
}

/** The roles rollouts may pass, as `path/name` under role/ (the caller builds the ARNs). */
export function passableRolesOf(config: ControlPlaneOnlyConfig): string[] {
  return [...new Set(config.services.flatMap((s) => s.taskRoles.map((r) => nameOf('role', r, config))))];
}

export const isControlPlaneOnly = (raw: unknown): boolean =>
  typeof raw === 'object' && raw !== null && (raw as { mode?: unknown }).mode === 'control-plane-only';

export function parseControlPlaneOnlyConfig(
  raw: unknown,
  source = '(inline config)',
): ControlPlaneOnlyConfig {
  return parseWith(ControlPlaneOnlyConfigSchema, raw, source);
}

/** config/<name>.json, either kind: the full stack, or (its `mode` says so) the control plane only. */
export function loadEnvironmentConfig(
  environmentName: string,
  dir?: string,
):
  | { config: EnvironmentConfig; controlPlaneOnly?: undefined }
  | { controlPlaneOnly: ControlPlaneOnlyConfig; config?: undefined } {
  const { raw, source } = readEnvironmentFile(environmentName, dir);
  if (isControlPlaneOnly(raw))
    return {
      controlPlaneOnly: checkEnvironmentName(
        parseControlPlaneOnlyConfig(raw, source),
        environmentName,
        source,
      ),
    };
  return { config: checkEnvironmentName(parseConfig(raw, source), environmentName, source) };
}
