// The deployed stack's configuration: one JSON file per environment under config/, parsed
// with the schema below before any construct is built. A bad file fails synth with every
// offending key named by its path (e.g. `compute.spot.instanceTypes`).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from '../events/zod.ts';
import { RebalanceModeSchema } from '../functions/shared/managed-clusters.ts';

/** The IAM path of an environment's task and execution roles: rollouts may pass only these. */
export const taskRolePathFor = (environmentName: string) => `/ecs-ops/${environmentName}/`;

export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'config');

/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const Name = (what: string, pattern: RegExp) => z.string().check(z.regex(pattern, `must be ${what}`));
const ResourceName = Name('1-64 letters, digits, hyphens', /^[A-Za-z][A-Za-z0-9-]{0,63}$/);
const InstanceType = Name('an EC2 instance type such as m7g.large', /^[a-z][a-z0-9-]*\.[a-z0-9]+$/);
const Count = z.number().check(z.int(), z.gte(0));

/** Graviton families carry a "g" after the generation digit (m7g, c6gn, r8g, t4g). */
export const isArmInstanceType = (type: string): boolean => /^[a-z]+\d+g[a-z]*\./.test(type);

const CapacityGroupSchema = z
  .object({
    /** Physical Auto Scaling group name: the control plane scopes its permissions by it. */
    asgName: ResourceName,
    instanceTypes: z.array(InstanceType).check(z.minLength(1)),
    minCapacity: Count,
    maxCapacity: z.number().check(z.int(), z.gte(1)),
  })
  .check(
    z.refine((g) => g.minCapacity <= g.maxCapacity, {
      message: 'minCapacity must not exceed maxCapacity',
      path: ['minCapacity'],
    }),
    z.refine((g) => new Set(g.instanceTypes).size === g.instanceTypes.length, {
      message: 'instance types must be distinct',
      path: ['instanceTypes'],
    }),
  );

const ComputeSchema = z
  .object({
    clusterName: ResourceName,
    architecture: z.enum(['arm64', 'x86_64']),
    /** Spot capacity: several types spread the risk of one pool being reclaimed. */
    spot: CapacityGroupSchema.check(
      z.refine((g) => g.instanceTypes.length >= 3, {
        message: 'a spot group needs at least 3 instance types (capacity-optimized allocation needs pools)',
        path: ['instanceTypes'],
      }),
    ),
    onDemand: CapacityGroupSchema,
    /** Capacity providers keep the groups this full (managed scaling target). */
    targetCapacityPercent: z.number().check(z.int(), z.gte(1), z.lte(100)),
    containerInsights: z.enum(['enabled', 'enhanced']),
    /** What a rebalance recommendation does to this cluster's instances (control plane). */
    rebalance: RebalanceModeSchema,
  })
  .check(
    z.superRefine((c, ctx) => {
      for (const group of ['spot', 'onDemand'] as const) {
        c[group].instanceTypes.forEach((type, i) => {
          if (isArmInstanceType(type) !== (c.architecture === 'arm64')) {
            ctx.addIssue({
              code: 'custom',
              path: [group, 'instanceTypes', i],
              message: `${type} does not run ${c.architecture} (compute.architecture)`,
            });
          }
        });
      }
      if (c.spot.asgName === c.onDemand.asgName) {
        ctx.addIssue({
          code: 'custom',
          path: ['onDemand', 'asgName'],
          message: 'must differ from spot.asgName',
        });
      }
    }),
  );

const Minutes = z.number().check(z.int(), z.gte(0), z.lte(1440));
/** ECS takes traffic percentages in steps of 0.1. */
const TenthOfPercent = (min: number) =>
  z.number().check(
    z.gte(min),
    z.lte(100),
    z.refine((p) => Math.abs(p * 10 - Math.round(p * 10)) < 1e-9, 'must be a multiple of 0.1'),
  );
/** CloudFormation refuses canary and linear plans whose bakes add up to more than 33 hours. */
const MAX_ECS_BAKE_MINUTES = 33 * 60;

/**
 * Who rolls a service out. `external` (the default): the blue-green-rollout workflow, through task
 * sets. `ecs`: ECS's own deployments (the ECS deployment controller with a BLUE_GREEN, CANARY or
 * LINEAR strategy), which the control plane's lifecycle hook analyses at each traffic step, gates
 * and fails when green is worse (docs/rollouts.md, "ECS-controlled deployments").
 */
const DeploymentSchema = z.discriminatedUnion('controller', [
  z.strictObject({ controller: z.literal('external') }),
  z
    .strictObject({
      controller: z.literal('ecs'),
      strategy: z.discriminatedUnion('type', [
        z.strictObject({ type: z.literal('blue-green') }),
        z.strictObject({
          type: z.literal('canary'),
          /** Green's share of production traffic for the canary step (0.1 to 100, in steps of 0.1). */
          percent: TenthOfPercent(0.1),
          /** How long ECS holds the canary before shifting the rest. */
          bakeMinutes: Minutes,
        }),
        z.strictObject({
          type: z.literal('linear'),
          /** Green's share added per step (3 to 100, in steps of 0.1). */
          stepPercent: TenthOfPercent(3),
          bakeMinutes: Minutes,
        }),
      ]),
      /** How long ECS keeps blue after all traffic is on green, before it cleans blue up. */
      bakeTimeMinutes: z._default(Minutes, 10),
      /** How long the hook bakes each production step (and the final 100%) before it judges green. */
      analysisBakeSeconds: z._default(z.number().check(z.int(), z.gte(60), z.lte(86_400)), 300),
      /** How long it bakes test traffic after the test listener's shift; 0 checks alarms only there. */
      testBakeSeconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(86_400)), 0),
    })
    .check(
      z.refine(
        (d) => ecsBakeMinutes(d) <= MAX_ECS_BAKE_MINUTES,
        `its bakes (bakeTimeMinutes and each step's bakeMinutes) add up to more than ${MAX_ECS_BAKE_MINUTES / 60} hours, which CloudFormation refuses`,
      ),
    ),
]);

/** The minutes ECS bakes in a deployment: each step but the last, then the bake time. */
export function ecsBakeMinutes(d: {
  strategy: { type: string; bakeMinutes?: number; stepPercent?: number };
  bakeTimeMinutes: number;
}): number {
  const s = d.strategy;
  const steps =
    s.type === 'canary' ? 1 : s.type === 'linear' ? Math.ceil(100 / (s.stepPercent ?? 100)) - 1 : 0;
  return d.bakeTimeMinutes + steps * (s.bakeMinutes ?? 0);
}
export type DeploymentConfig = z.infer<typeof DeploymentSchema>;

const ServiceSchema = z
  .object({
    name: ResourceName,
    /** The application container; a placeholder until the first rollout replaces it. */
    image: z.string().check(z.minLength(1)),
    containerPort: z.number().check(z.int(), z.gte(1), z.lte(65535)),
    /** CPU units (1024 = one vCPU) and hard memory limit of the container. */
    cpu: z.number().check(z.int(), z.gte(128)),
    memoryMiB: z.number().check(z.int(), z.gte(128)),
    minTasks: z.number().check(z.int(), z.gte(1)),
    maxTasks: z.number().check(z.int(), z.gte(1)),
    targetCpuPercent: z.number().check(z.int(), z.gte(10), z.lte(90)),
    /** Tasks always placed on on-demand capacity; beyond it, this share goes to spot. */
    onDemandBaseTasks: Count,
    spotPercent: z.number().check(z.int(), z.gte(0), z.lte(100)),
    minimumHealthyPercent: z.number().check(z.int(), z.gte(0), z.lte(100)),
    maximumPercent: z.number().check(z.int(), z.gte(100), z.lte(200)),
    /** SIGTERM -> SIGKILL grace period of the container. */
    stopTimeoutSeconds: z.number().check(z.int(), z.gte(2), z.lte(120)),
    deregistrationDelaySeconds: z.number().check(z.int(), z.gte(0), z.lte(3600)),
    healthCheck: z.object({
      path: z.string().check(z.startsWith('/')),
      intervalSeconds: z.number().check(z.int(), z.gte(5), z.lte(300)),
      timeoutSeconds: z.number().check(z.int(), z.gte(2), z.lte(120)),
      healthyThresholdCount: z.number().check(z.int(), z.gte(2), z.lte(10)),
      unhealthyThresholdCount: z.number().check(z.int(), z.gte(2), z.lte(10)),
    }),
    /**
     * Which requests reach it on the load balancer's listeners: path patterns and/or host names
     * (a listener rule's conditions). Absent: everything no other service's rule takes.
     */
    routing: z.optional(
      z
        .strictObject({
          pathPatterns: z.optional(
            z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1), z.maxLength(5)),
          ),
          hostHeaders: z.optional(
            z.array(z.string().check(z.minLength(1), z.maxLength(128))).check(z.minLength(1), z.maxLength(5)),
          ),
        })
        .check(
          z.refine((r) => r.pathPatterns !== undefined || r.hostHeaders !== undefined, {
            message: 'needs pathPatterns or hostHeaders',
          }),
        ),
    ),
    /**
     * Its listener rules' priority (lower is evaluated first). Default: 10 for the first service,
     * which keeps the rules of an environment that had one service where they are.
     */
    rulePriority: z.optional(z.number().check(z.int(), z.gte(1), z.lte(50000))),
    /** Who rolls it out (default: the task-set controller). */
    deployment: z.optional(DeploymentSchema),
  })
  .check(
    z.refine((s) => s.minTasks <= s.maxTasks, {
      message: 'minTasks must not exceed maxTasks',
      path: ['minTasks'],
    }),
    z.refine((s) => s.healthCheck.timeoutSeconds < s.healthCheck.intervalSeconds, {
      message: 'must be shorter than healthCheck.intervalSeconds',
      path: ['healthCheck', 'timeoutSeconds'],
    }),
  );

/** Fargate's CPU units and the memory (MiB) each allows: 256 takes 512-2048, 512 1-4 GiB, and so on. */
const FARGATE_MEMORY: Record<number, readonly [number, number]> = {
  256: [512, 2048],
  512: [1024, 4096],
  1024: [2048, 8192],
  2048: [4096, 16384],
  4096: [8192, 30720],
};
export const fargateMemoryProblem = (cpu: number, memoryMiB: number): string | undefined => {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return `cpu ${cpu} is not a Fargate size (${Object.keys(FARGATE_MEMORY).join(', ')})`;
  const [min, max] = range;
  const step = cpu === 256 ? (memoryMiB === 512 ? 512 : 1024) : 1024;
  if (memoryMiB < min || memoryMiB > max || memoryMiB % step !== 0)
    return cpu === 256
      ? 'Fargate takes 512, 1024 or 2048 MiB with cpu 256'
      : `Fargate takes ${min}-${max} MiB in steps of 1024 with cpu ${cpu}`;
  return undefined;
};

/**
 * A service on Fargate capacity (a worker: no load balancer), split between FARGATE_SPOT and
 * FARGATE by its capacity provider strategy. The control plane moves it to FARGATE when Fargate
 * Spot reclaims it too often, and back after a quiet period (spot.md).
 */
const FargateServiceSchema = z
  .object({
    name: ResourceName,
    image: z.string().check(z.minLength(1)),
    /** The container's command, when the image's own is not the worker's (a placeholder image). */
    command: z.optional(z.array(z.string()).check(z.minLength(1))),
    cpu: z.number().check(z.int()),
    memoryMiB: z.number().check(z.int()),
    desiredCount: z.number().check(z.int(), z.gte(1), z.lte(1000)),
    /** Tasks always on FARGATE; beyond it, this share goes to FARGATE_SPOT. */
    fargateBaseTasks: Count,
    fargateSpotPercent: z.number().check(z.int(), z.gte(0), z.lte(100)),
  })
  .check(
    z.superRefine((s, ctx) => {
      const problem = fargateMemoryProblem(s.cpu, s.memoryMiB);
      if (problem) ctx.addIssue({ code: 'custom', path: ['memoryMiB'], message: problem });
      if (s.fargateBaseTasks > s.desiredCount)
        ctx.addIssue({ code: 'custom', path: ['fargateBaseTasks'], message: 'exceeds desiredCount' });
    }),
  );

const FargateSchema = z.object({
  services: z.array(FargateServiceSchema).check(z.minLength(1), z.maxLength(10)),
  /** When Fargate Spot reclaims a service's tasks too often, move it to FARGATE for a while. */
  spotFallback: z
    .object({
      /** More reclaims of one service than this inside the window move it to FARGATE. */
      reclaims: z.number().check(z.int(), z.gte(1), z.lte(1000)),
      windowMinutes: z.number().check(z.int(), z.gte(1), z.lte(60)),
      /** Back to its own strategy once no reclaim came for this long (at least the window). */
      quietMinutes: z.number().check(z.int(), z.gte(1), z.lte(1440)),
      /** Moves to FARGATE in 24 hours at most: past it, the service stays there until someone looks. */
      maxShiftsPerDay: z.number().check(z.int(), z.gte(1), z.lte(24)),
    })
    .check(
      z.refine((f) => f.quietMinutes >= f.windowMinutes, {
        message:
          'must be at least windowMinutes (a service moved back would count the reclaims that moved it)',
        path: ['quietMinutes'],
      }),
    ),
});

const AuroraSchema = z.object({
  /** Aurora MySQL 3 version, e.g. 3.10.3 (engine version 8.0.mysql_aurora.3.10.3). */
  engineVersion: Name('an Aurora MySQL 3 version such as 3.10.3', /^3\.\d{2}\.\d+$/),
  instances: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('serverless'),
      /** 0 lets an idle cluster pause (Aurora MySQL 3.08 and later). */
      minAcu: z.number().check(z.gte(0), z.lte(256)),
      maxAcu: z.number().check(z.gte(1), z.lte(256)),
    }),
    z.object({ kind: z.literal('provisioned'), instanceType: InstanceType }),
  ]),
  /** Readers in other AZs: at least one makes the cluster multi-AZ (failover target). */
  readers: z.number().check(z.int(), z.gte(0), z.lte(15)),
  backupRetentionDays: z.number().check(z.int(), z.gte(1), z.lte(35)),
  deletionProtection: z.boolean(),
});

const RedisSchema = z.object({
  nodeType: Name('an ElastiCache node type such as cache.t4g.micro', /^cache\.[a-z0-9]+\.[a-z0-9]+$/),
  /** Replicas of the primary; multi-AZ automatic failover needs at least one. */
  replicas: z.number().check(z.int(), z.gte(1), z.lte(5)),
  engineVersion: Name('a Redis OSS version such as 7.1', /^\d+\.\d+$/),
  snapshotRetentionDays: z.number().check(z.int(), z.gte(0), z.lte(35)),
});

export const EnvironmentConfigSchema = z
  .object({
    /** dev, prod: prefix of stack names and physical names; must match the file name. */
    name: Name('lowercase letters and digits', /^[a-z][a-z0-9]{1,11}$/),
    account: Name('a 12-digit AWS account id', /^\d{12}$/),
    region: Name('an AWS region such as eu-west-1', /^[a-z]{2}(-[a-z]+)+-\d$/),
    /** null: no custom domain, so no certificates or DNS records (CloudFront's own name serves). */
    domain: z.nullable(
      z.object({
        zoneName: Name('a DNS zone such as example.com', /^([a-z0-9-]+\.)+[a-z]{2,}$/),
        hostedZoneId: Name('a Route 53 hosted zone id', /^Z[A-Z0-9]{1,32}$/),
        /** The application's host name under the zone, e.g. "app" -> app.example.com. */
        appRecord: Name('a DNS label', /^[a-z0-9-]{1,63}$/),
      }),
    ),
    network: z
      .object({
        cidr: Name('an IPv4 CIDR such as 10.20.0.0/16', /^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/),
        /** Named, not looked up: synth needs no AWS credentials and the template never changes under us. */
        availabilityZones: z
          .array(Name('an availability zone such as eu-west-1a', /^[a-z0-9-]+[a-z]$/))
          .check(z.minLength(2), z.maxLength(3)),
        natGateways: z.number().check(z.int(), z.gte(1), z.lte(3)),
      })
      .check(
        z.refine((n) => n.natGateways <= n.availabilityZones.length, {
          message: 'more NAT gateways than availability zones',
          path: ['natGateways'],
        }),
        z.refine((n) => new Set(n.availabilityZones).size === n.availabilityZones.length, {
          message: 'availability zones must be distinct',
          path: ['availabilityZones'],
        }),
      ),
    compute: ComputeSchema,
    /** The services the stack runs on the cluster, behind the load balancer, each rolled out on its own. */
    services: z.array(ServiceSchema).check(z.minLength(1), z.maxLength(25)),
    /** Services on Fargate and Fargate Spot (none when absent). */
    fargate: z.optional(FargateSchema),
    spotDrain: z.object({
      /** Kept free out of the two-minute warning: EventBridge delivery, the handler, API latency. */
      marginSeconds: z.number().check(z.int(), z.gte(0), z.lte(60)),
      /** How long a replacement task takes to be placed, started and pass its first health check. */
      taskStartSeconds: z.number().check(z.int(), z.gte(1)),
    }),
    /** Game days: an AWS FIS experiment template that interrupts part of the spot group (none when absent). */
    gameDays: z.optional(
      z.object({
        /**
         * The share of the spot group's running instances interrupted (FIS PERCENT, a whole
         * percent, rounded down by FIS; an experiment that selects none fails).
         */
        spotFraction: z.number().check(
          z.gt(0),
          z.lte(1),
          z.refine((f) => Math.abs(f * 100 - Math.round(f * 100)) < 1e-9, {
            message: 'must be a whole percent (0.25, not 0.255): FIS selects PERCENT(n) with a whole n',
          }),
        ),
      }),
    ),
    data: z.object({ aurora: AuroraSchema, redis: RedisSchema, appTableDeletionProtection: z.boolean() }),
    logRetentionDays: z.union(LOG_RETENTION_DAYS.map((d) => z.literal(d))),
    alerts: z.object({
      /** Subscribed to the critical topic: pages. */
      emails: z.array(z.email()),
      /**
       * Subscribed to the warning topic (firing alerts only): required wherever `emails` is set,
       * as the warning alarms would otherwise reach nobody. The info topic (rollout progress) is
       * for chat integrations a team adds; it has no e-mail subscriber on purpose.
       */
      warningEmails: z._default(z.array(z.email()), []),
      /**
       * A Slack channel for Amazon Q Developer (already authorized in the workspace): the stack
       * configures it on the three topics, with the approve, reject and roll back buttons.
       */
      chat: z.optional(
        z.object({
          slackWorkspaceId: z.string().check(z.regex(/^[0-9A-Z]{1,255}$/)),
          slackChannelId: z.string().check(z.regex(/^[A-Za-z0-9]{1,255}$/)),
        }),
      ),
    }),
    features: z.object({
      apiGateway: z.boolean(),
      /** Off where an organization trail already records this account. */
      cloudTrail: z.boolean(),
      /** Requests per 5 minutes per client IP before the WAF blocks it. */
      wafRateLimit: z.number().check(z.int(), z.gte(10), z.lte(2_000_000_000)),
    }),
  })
  .check(
    z.superRefine((c, ctx) => {
      c.network.availabilityZones.forEach((az, i) => {
        if (!az.startsWith(c.region)) {
          ctx.addIssue({
            code: 'custom',
            path: ['network', 'availabilityZones', i],
            message: `is not in ${c.region}`,
          });
        }
      });
      const names = new Set<string>();
      const priorities = new Map<number, number>();
      c.services.forEach((s, i) => {
        if (s.onDemandBaseTasks > s.maxTasks)
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'onDemandBaseTasks'],
            message: `exceeds services.${i}.maxTasks`,
          });
        if (names.has(s.name))
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'name'],
            message: `${s.name} is listed twice`,
          });
        names.add(s.name);
        const priority = rulePriorityOf(c.services, i);
        const clash = priorities.get(priority);
        if (clash !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'rulePriority'],
            message: `${priority} is services.${clash}'s too (a listener's rules need distinct priorities)`,
          });
        priorities.set(priority, i);
      });
      // A service without routing takes what the others' rules leave: its rule must come last.
      const catchAll = c.services.flatMap((s, i) => (s.routing ? [] : [i]));
      for (const i of catchAll.slice(1))
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'routing'],
          message: `is needed: services.${catchAll[0]} already takes every other request`,
        });
      const last = catchAll[0];
      if (last !== undefined)
        c.services.forEach((s, i) => {
          if (i !== last && s.routing && rulePriorityOf(c.services, i) > rulePriorityOf(c.services, last))
            ctx.addIssue({
              code: 'custom',
              path: ['services', i, 'rulePriority'],
              message: `must be below ${rulePriorityOf(c.services, last)} (services.${last}, without routing, takes every request that reaches it)`,
            });
        });
      c.fargate?.services.forEach((f, i) => {
        if (names.has(f.name))
          ctx.addIssue({
            code: 'custom',
            path: ['fargate', 'services', i, 'name'],
            message: `${f.name} is a service name already`,
          });
        names.add(f.name);
      });
      if (c.alerts.emails.length > 0 && c.alerts.warningEmails.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['alerts', 'warningEmails'],
          message: 'is empty while alerts.emails pages: the warning alarms would reach nobody',
        });
      }
      if (c.data.aurora.instances.kind === 'serverless') {
        const { minAcu, maxAcu } = c.data.aurora.instances;
        if (minAcu > maxAcu)
          ctx.addIssue({
            code: 'custom',
            path: ['data', 'aurora', 'instances', 'minAcu'],
            message: 'exceeds maxAcu',
          });
      }
    }),
  );

export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
export type ServiceConfig = EnvironmentConfig['services'][number];
export type FargateServiceConfig = NonNullable<EnvironmentConfig['fargate']>['services'][number];

/** The priority of a service's listener rules: its own, else 10 for the first and 10 + 10i after. */
export function rulePriorityOf(
  services: readonly Pick<ServiceConfig, 'rulePriority'>[],
  index: number,
): number {
  return services[index]?.rulePriority ?? 10 + 10 * index;
}
export type EnvironmentConfigInput = z.input<typeof EnvironmentConfigSchema>;
export type ServiceConfigInput = EnvironmentConfigInput['services'][number];

/** A config file that does not parse: the message lists every bad key by its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly { key: string; message: string }[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`);
  }
}

/**
 * A capability's config file (config/scaling/<env>.json, config/remediation/<env>.json), parsed
 * with its schema; undefined when the environment has none. Bad JSON or keys fail naming them.
 */
export function loadConfigFile<S extends z.ZodMiniType>(file: string, schema: S): z.infer<S> | undefined {
  if (!existsSync(file)) return undefined;
  const source = relative(process.cwd(), file) || file;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(source, [{ key: '(file)', message: `not JSON: ${(err as Error).message}` }]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      source,
      parsed.error.issues.map((i) => ({ key: i.path.map(String).join('.') || '(root)', message: i.message })),
    );
  }
  return parsed.data;
}

/** Parses an already-loaded config object (tests pass modified copies of the examples). */
export function parseConfig(raw: unknown, source = '(inline config)'): EnvironmentConfig {
  return parseWith(EnvironmentConfigSchema, raw, source);
}

/** Parses with a schema, or throws a ConfigError naming every bad key by its path. */
export function parseWith<S extends z.ZodMiniType>(schema: S, raw: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => ({
      key: issue.path.map(String).join('.') || '(root)',
      message: issue.message.replace(/^Invalid input: /, ''),
    })),
  );
}

/** The environments that have a config file: config/<name>.json. */
export function configuredEnvironments(dir = CONFIG_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

export function hasConfig(environmentName: string, dir = CONFIG_DIR): boolean {
  return existsSync(join(dir, `${environmentName}.json`));
}

/** config/<name>.json as JSON, and how to name it in errors; not yet checked against a schema. */
export function readEnvironmentFile(
  environmentName: string,
  dir = CONFIG_DIR,
): { raw: unknown; source: string } {
  const file = join(dir, `${environmentName}.json`);
  const source = relative(process.cwd(), file) || file;
  if (!existsSync(file)) throw new ConfigError(source, [{ key: '(file)', message: 'not found' }]);
  try {
    return { raw: JSON.parse(readFileSync(file, 'utf8')), source };
  } catch (err) {
    throw new ConfigError(source, [{ key: '(file)', message: `not JSON: ${(err as Error).message}` }]);
  }
}

/** The file's `name` must be the environment's (the file name): stack and resource names derive from it. */
export function checkEnvironmentName<C extends { name: string }>(
  config: C,
  environmentName: string,
  source: string,
): C {
  if (config.name !== environmentName) {
    throw new ConfigError(source, [{ key: 'name', message: `must be "${environmentName}" (the file name)` }]);
  }
  return config;
}

export function loadConfig(environmentName: string, dir = CONFIG_DIR): EnvironmentConfig {
  const { raw, source } = readEnvironmentFile(environmentName, dir);
  return checkEnvironmentName(parseConfig(raw, source), environmentName, source);
}

/** Physical-name prefix of an environment's resources, e.g. "ecs-ops-prod". */
export const resourcePrefix = (config: Pick<EnvironmentConfig, 'name'>): string => `ecs-ops-${config.name}`;
