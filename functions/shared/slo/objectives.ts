// Per-service SLOs and their error budgets, from config/slos/<env>.json (SERVICE_SLOS in the
// functions' environment): availability (ALB 5xx over requests) and latency (periods whose p95
// is over a threshold), judged by multi-window, multi-burn-rate rules. A rule fires when the
// budget burns at least `factor` times too fast over both its long and its short window: the long
// one says it matters, the short one that it is still happening. Pure: no I/O.
import * as z from '../../../events/zod.ts';
import { jsonEnv } from '../env.ts';
import { parseOrThrow } from '../validation.ts';

const Objective = z.number().check(z.gte(50), z.lte(99.999));

export const ServiceSloSchema = z
  .strictObject({
    cluster: z.string().check(z.minLength(1)),
    service: z.string().check(z.minLength(1)),
    /** Percent of requests that must not answer 5xx. */
    availability: z.optional(z.strictObject({ objective: Objective })),
    /** Percent of periods whose p95 must be at most p95Ms. */
    latency: z.optional(z.strictObject({ p95Ms: z.number().check(z.positive()), objective: Objective })),
    /** The SLO's window: the budget is what the objective leaves over it. */
    windowDays: z._default(z.number().check(z.int(), z.gte(1), z.lte(90)), 30),
  })
  .check(
    z.refine(
      (s) => s.availability !== undefined || s.latency !== undefined,
      'give availability, latency or both',
    ),
  );
export type ServiceSlo = z.infer<typeof ServiceSloSchema>;

export const BurnRuleSchema = z
  .strictObject({
    longMinutes: z.number().check(z.int(), z.gte(5), z.lte(3 * 24 * 60)),
    shortMinutes: z.number().check(z.int(), z.gte(1), z.lte(24 * 60)),
    factor: z.number().check(
      z.lte(1000),
      z.refine((f) => f > 1, 'must be more than 1'),
    ),
  })
  .check(z.refine((r) => r.shortMinutes < r.longMinutes, 'shortMinutes must be less than longMinutes'));
export type BurnRule = z.infer<typeof BurnRuleSchema>;

/** The fast and slow pages of the SRE workbook: 2% of a 30-day budget in an hour, 5% in six. */
export const DEFAULT_BURN_RULES: BurnRule[] = [
  { longMinutes: 60, shortMinutes: 5, factor: 14.4 },
  { longMinutes: 360, shortMinutes: 30, factor: 6 },
];

export const SloConfigSchema = z.strictObject({
  burnRates: z._default(z.array(BurnRuleSchema).check(z.minLength(1), z.maxLength(5)), DEFAULT_BURN_RULES),
  services: z.array(ServiceSloSchema).check(
    z.superRefine((services, ctx) => {
      const seen = new Set<string>();
      services.forEach((s, i) => {
        const key = `${s.cluster}/${s.service}`;
        if (seen.has(key))
          ctx.addIssue({ code: 'custom', path: [i, 'service'], message: `${key} has two SLOs` });
        seen.add(key);
      });
    }),
  ),
});
export type SloConfig = z.infer<typeof SloConfigSchema>;

const SloJsonSchema = jsonEnv(SloConfigSchema);
const parsedConfigs = new Map<string, SloConfig>();

/**
 * SERVICE_SLOS (config/slos/<env>.json as JSON; absent: no service has an SLO), parsed when first
 * needed. Malformed, it fails that call with InvalidInput naming env.SERVICE_SLOS.
 */
export function sloConfigOf(raw: string | undefined): SloConfig {
  if (raw === undefined) return { burnRates: DEFAULT_BURN_RULES, services: [] };
  let config = parsedConfigs.get(raw);
  if (!config) {
    config = parseOrThrow(SloJsonSchema, raw, 'env.SERVICE_SLOS');
    parsedConfigs.set(raw, config);
  }
  return config;
}

export const sloOf = (config: SloConfig, cluster: string, service: string): ServiceSlo | undefined =>
  config.services.find((s) => s.cluster === cluster && s.service === service);

/** The longest window any rule looks at, in minutes. */
export const longestWindowMinutes = (rules: readonly BurnRule[]): number =>
  Math.max(...rules.map((r) => r.longMinutes));

/** One metric period of a service (all its target groups): requests, 5xx, and the worst p95. */
export interface PeriodPoint {
  at: number;
  requests: number;
  errors: number;
  p95Ms: number | null;
}

export type Sli = 'availability' | 'latency';

/** Bad events over all events of an SLI in `points`. */
function badShare(slo: ServiceSlo, sli: Sli, points: readonly PeriodPoint[]): { bad: number; total: number } {
  if (sli === 'availability') {
    return {
      bad: points.reduce((n, p) => n + p.errors, 0),
      total: points.reduce((n, p) => n + p.requests, 0),
    };
  }
  const served = points.filter((p) => p.requests > 0 && p.p95Ms !== null);
  const threshold = slo.latency?.p95Ms ?? Number.POSITIVE_INFINITY;
  return { bad: served.filter((p) => (p.p95Ms as number) > threshold).length, total: served.length };
}

const objectiveOf = (slo: ServiceSlo, sli: Sli) =>
  (sli === 'availability' ? slo.availability : slo.latency)?.objective;

/**
 * How many times faster than the objective allows the budget burns over `points`; null when
 * nothing was served there: no data is not a burn rate of 0.
 */
export function burnRate(slo: ServiceSlo, sli: Sli, points: readonly PeriodPoint[]): number | null {
  const objective = objectiveOf(slo, sli);
  if (objective === undefined) return null;
  const { bad, total } = badShare(slo, sli, points);
  return total > 0 ? bad / total / (1 - objective / 100) : null;
}

export interface RuleResult {
  sli: Sli;
  longMinutes: number;
  shortMinutes: number;
  factor: number;
  longBurn: number | null;
  shortBurn: number | null;
  firing: boolean;
}

export interface BurnVerdict {
  service: string;
  burning: boolean;
  /** False when no rule had data over its long window: the budget could not be judged. */
  judged: boolean;
  rules: RuleResult[];
}

/** Every rule for every SLI the service has, on the points up to `now`. */
export function judgeBurn(
  slo: ServiceSlo,
  rules: readonly BurnRule[],
  points: readonly PeriodPoint[],
  now: number,
): BurnVerdict {
  const within = (minutes: number) => points.filter((p) => p.at > now - minutes * 60_000 && p.at <= now);
  const slis = (['availability', 'latency'] as const).filter((sli) => objectiveOf(slo, sli) !== undefined);
  const results = slis.flatMap((sli) =>
    rules.map((r) => {
      const longBurn = burnRate(slo, sli, within(r.longMinutes));
      const shortBurn = burnRate(slo, sli, within(r.shortMinutes));
      const firing = longBurn !== null && shortBurn !== null && longBurn >= r.factor && shortBurn >= r.factor;
      return { sli, ...r, longBurn, shortBurn, firing };
    }),
  );
  return {
    service: `${slo.cluster}/${slo.service}`,
    burning: results.some((r) => r.firing),
    judged: results.some((r) => r.longBurn !== null),
    rules: results,
  };
}

/**
 * What is left of the budget over the points (the SLO's window): 1 is all of it, below 0
 * overspent, null with no data.
 */
export function budgetRemaining(slo: ServiceSlo, sli: Sli, points: readonly PeriodPoint[]): number | null {
  const objective = objectiveOf(slo, sli);
  if (objective === undefined) return null;
  const { bad, total } = badShare(slo, sli, points);
  return total > 0 ? 1 - bad / total / (1 - objective / 100) : null;
}

const minutes = (m: number) => (m % 60 === 0 ? `${m / 60}h` : `${m}m`);
const times = (x: number | null) => (x === null ? 'no data' : `${x.toFixed(1)}x`);

/** A rule's result in words: `availability 1h 20.3x and 5m 25.0x (fires at 14.4x)`. */
export function describeRule(r: RuleResult): string {
  return `${r.sli} ${minutes(r.longMinutes)} ${times(r.longBurn)} and ${minutes(r.shortMinutes)} ${times(r.shortBurn)} (fires at ${r.factor}x)`;
}

/** Why the budget blocks, in words, or undefined when nothing fires. */
export function burnReason(verdict: BurnVerdict): string | undefined {
  const firing = verdict.rules.filter((r) => r.firing);
  if (firing.length === 0) return undefined;
  return `the error budget of ${verdict.service} is burning: ${firing.map(describeRule).join('; ')}`;
}
