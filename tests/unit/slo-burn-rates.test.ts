// Error budgets: burn rates over each rule's long and short windows, the budget left, and the
// config errors that name the field.
import { describe, expect, it } from 'vitest';
import {
  budgetRemaining,
  burnRate,
  burnReason,
  DEFAULT_BURN_RULES,
  describeRule,
  judgeBurn,
  type PeriodPoint,
  ServiceSloSchema,
  SloConfigSchema,
} from '../../functions/shared/slo/objectives.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const slo = ServiceSloSchema.parse({
  cluster: 'web',
  service: 'api',
  availability: { objective: 99.9 },
  latency: { p95Ms: 300, objective: 99 },
});
/** One point a minute for `minutes` up to NOW, each from `at(minutesAgo)`. */
const minutes = (count: number, at: (ago: number) => Omit<PeriodPoint, 'at'>): PeriodPoint[] =>
  Array.from({ length: count }, (_, i) => ({ at: NOW - i * 60_000, ...at(i) })).reverse();

describe('burn rates', () => {
  it('is the bad share over what the objective allows', () => {
    const points = minutes(60, () => ({ requests: 1000, errors: 2, p95Ms: 100 }));
    // 0.2% errors against 0.1% allowed: twice as fast.
    expect(burnRate(slo, 'availability', points)).toBeCloseTo(2, 6);
    expect(burnRate(slo, 'latency', points)).toBe(0);
    // Nothing served is no data, not a budget that holds.
    expect(burnRate(slo, 'availability', [])).toBeNull();
    const silent = judgeBurn(slo, DEFAULT_BURN_RULES, [], NOW);
    expect(silent).toMatchObject({ burning: false, judged: false });
    expect(silent.rules.map(describeRule)).toContain(
      'availability 1h no data and 5m no data (fires at 14.4x)',
    );
  });

  it('fires a rule only when both its long and its short window burn over its factor', () => {
    // The last hour at 2% errors: 20x over the hour and over the last 5 minutes.
    const burning = minutes(360, (ago) => ({ requests: 1000, errors: ago < 60 ? 20 : 0, p95Ms: 100 }));
    const verdict = judgeBurn(slo, DEFAULT_BURN_RULES, burning, NOW);
    expect(verdict.burning).toBe(true);
    const fast = verdict.rules.find((r) => r.sli === 'availability' && r.longMinutes === 60);
    expect(fast).toMatchObject({ firing: true, factor: 14.4 });
    expect(fast?.longBurn).toBeCloseTo(20, 6);
    // Over six hours it is 20/6 = 3.3x: the slow rule (6x) does not fire.
    expect(verdict.rules.find((r) => r.sli === 'availability' && r.longMinutes === 360)?.firing).toBe(false);
    expect(burnReason(verdict)).toBe(
      'the error budget of web/api is burning: availability 1h 20.0x and 5m 20.0x (fires at 14.4x)',
    );
    // It stopped 10 minutes ago: the hour still burns, the last 5 minutes do not, and nothing fires.
    const recovered = minutes(360, (ago) => ({
      requests: 1000,
      errors: ago >= 10 && ago < 70 ? 20 : 0,
      p95Ms: 100,
    }));
    expect(judgeBurn(slo, DEFAULT_BURN_RULES, recovered, NOW).burning).toBe(false);
  });

  it('counts slow minutes against the latency objective', () => {
    // 30 of the last 60 minutes over 300 ms: 50% bad against 1% allowed.
    const slow = minutes(360, (ago) => ({
      requests: 10,
      errors: 0,
      p95Ms: ago < 60 && ago % 2 === 0 ? 900 : 80,
    }));
    const verdict = judgeBurn(slo, DEFAULT_BURN_RULES, slow, NOW);
    expect(verdict.rules.find((r) => r.sli === 'latency' && r.longMinutes === 60)?.longBurn).toBeCloseTo(
      50,
      6,
    );
    expect(verdict.burning).toBe(true);
  });

  it('says how much of the budget is left', () => {
    const points = minutes(100, () => ({ requests: 1000, errors: 0.5, p95Ms: 100 }));
    expect(budgetRemaining(slo, 'availability', points)).toBeCloseTo(0.5, 6);
    expect(budgetRemaining(slo, 'availability', [])).toBeNull();
  });
});

describe('SLO config errors name the field', () => {
  const problem = (config: unknown) => {
    const parsed = SloConfigSchema.safeParse(config);
    return parsed.success
      ? undefined
      : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)[0];
  };
  it.each([
    [{ services: [{ cluster: 'web', service: 'api' }] }, 'services.0: give availability, latency or both'],
    [
      { services: [{ cluster: 'web', service: 'api', availability: { objective: 100 } }] },
      'services.0.availability.objective',
    ],
    [
      { burnRates: [{ longMinutes: 5, shortMinutes: 60, factor: 2 }], services: [] },
      'burnRates.0: shortMinutes must be less than longMinutes',
    ],
    [
      { burnRates: [{ longMinutes: 60, shortMinutes: 5, factor: 1 }], services: [] },
      'burnRates.0.factor: must be more than 1',
    ],
  ])('%j', (config, expected) => {
    expect(problem(config)).toContain(expected);
  });
});
