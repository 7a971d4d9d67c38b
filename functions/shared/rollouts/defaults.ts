// A rollout's effective input: the service's defaults (config/rollouts/<env>.json) under what
// the rollout itself says, then the built-in defaults of the schema. One resolution for the
// workflow's first state and for `ops rollout`, so what the CLI prints is what will run.
// Pure: no I/O.
import {
  describeAnalysis,
  MAX_PLAN_SECONDS,
  planSeconds,
  type RolloutDefaults,
  type RolloutInput,
  RolloutInputSchema,
  stepsOf,
  strategyText,
} from '../../../events/rollout-input.ts';
import { InvalidInputError } from '../errors.ts';
import { parseOrThrow } from '../validation.ts';
import { type ManagedService, ManagedServicesSchema } from './config.ts';

export type ResolvedRolloutInput = RolloutInput & { cluster: string };

/** Replaced whole when the rollout names it: a canary's fields do not mix with linear's. */
const REPLACED_WHOLE = new Set(['strategy']);

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` wins key by key; nested objects merge; arrays and everything else are replaced. */
function merge(under: Record<string, unknown>, over: Record<string, unknown>, depth: number) {
  const out: Record<string, unknown> = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const below = out[key];
    out[key] =
      isPlainObject(value) && isPlainObject(below) && !(depth === 0 && REPLACED_WHOLE.has(key))
        ? merge(below, value, depth + 1)
        : value;
  }
  return out;
}

/** `"approval": "before-traffic"` is short for `{ "gate": "before-traffic" }`: merge the long form. */
const approvalObject = (input: Record<string, unknown>) =>
  typeof input.approval === 'string' ? { ...input, approval: { gate: input.approval } } : input;

/**
 * The service's defaults under the rollout's own input (which must be a JSON object). The
 * service's alarms always apply: a rollout's `analysis.alarms` adds to them.
 */
export function withServiceDefaults(defaults: RolloutDefaults | undefined, raw: unknown): unknown {
  if (!isPlainObject(raw) || !defaults) return raw;
  const under = approvalObject(defaults as Record<string, unknown>);
  const over = approvalObject(raw);
  const merged = merge(under, over, 0);
  const serviceAlarms = defaults.analysis?.alarms ?? [];
  const own = isPlainObject(over.analysis) ? over.analysis.alarms : undefined;
  if (serviceAlarms.length > 0 && Array.isArray(own) && isPlainObject(merged.analysis)) {
    merged.analysis = { ...merged.analysis, alarms: [...new Set([...serviceAlarms, ...own])] };
  }
  return merged;
}

/** The managed service an input names; the cluster may be left out when the name is unique. */
export function findManagedService(services: readonly ManagedService[], raw: unknown): ManagedService {
  const target = isPlainObject(raw) ? raw : {};
  const known = services.map((m) => `${m.cluster}/${m.service}`).join(', ');
  if (typeof target.service !== 'string' || target.service === '')
    throw new InvalidInputError('input.service', `is required: one of ${known}`, target.service);
  const cluster = typeof target.cluster === 'string' ? target.cluster : undefined;
  const named = services.filter((m) => m.service === target.service);
  if (cluster === undefined) {
    if (named.length === 1) return named[0] as ManagedService;
    throw new InvalidInputError(
      named.length === 0 ? 'input.service' : 'input.cluster',
      named.length === 0
        ? `is not a service the control plane rolls out (managed: ${known})`
        : `is required: ${target.service} runs in ${named.map((m) => m.cluster).join(' and ')}`,
      named.length === 0 ? target.service : undefined,
    );
  }
  const managed = named.find((m) => m.cluster === cluster);
  if (managed) return managed;
  const field = services.some((m) => m.cluster === cluster) ? 'input.service' : 'input.cluster';
  throw new InvalidInputError(
    field,
    `is not a service the control plane rolls out (managed: ${known})`,
    field === 'input.service' ? target.service : cluster,
  );
}

/** The effective input: managed service found, its defaults applied, the whole parsed. */
export function resolveRolloutInput(
  services: readonly ManagedService[],
  raw: unknown,
): { input: ResolvedRolloutInput; managed: ManagedService } {
  // The input alone first: what is wrong with it is named as the schema names it, before any
  // service's defaults are mixed in.
  const own = parseOrThrow(RolloutInputSchema, raw, 'input');
  const managed = findManagedService(services, raw);
  if (managed.controller === 'ecs')
    throw new InvalidInputError(
      'input.service',
      `${managed.cluster}/${managed.service} is deployed by ECS (controller ecs), not by task sets: update the service with the new task definition, and the deployment hook judges its deployment`,
    );
  const input = managed.defaults
    ? parseOrThrow(RolloutInputSchema, withServiceDefaults(managed.defaults, raw), 'input')
    : own;
  const maxSeconds = planSeconds(input);
  if (maxSeconds > MAX_PLAN_SECONDS) {
    throw new InvalidInputError(
      'input',
      `the plan can take ${Math.round(maxSeconds / 3600)} h (bakes, gate timeouts, window, termination wait); at most ${MAX_PLAN_SECONDS / 3600} h`,
    );
  }
  return { input: { ...input, cluster: managed.cluster }, managed };
}

/**
 * The plan and what each step's analysis will judge, in words, before anything runs (`ops
 * rollout`, the tour). `managedServices` is the rollout functions' MANAGED_SERVICES variable.
 * Undefined for an input the first state would reject: that rejection names the field.
 */
export function effectivePlan(managedServices: string | undefined, input: unknown): string[] | undefined {
  try {
    const { input: resolved } = resolveRolloutInput(ManagedServicesSchema.parse(managedServices), input);
    const steps = stepsOf(resolved.strategy);
    return [
      `plan for ${resolved.cluster}/${resolved.service}: ${strategyText({ steps })}`,
      ...describeAnalysis({ steps, analysis: resolved.analysis }).map((line) => `  ${line}`),
    ];
  } catch {
    return undefined;
  }
}
