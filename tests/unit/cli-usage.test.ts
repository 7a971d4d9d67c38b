// What every ops command reads the same way: durations (--for, --gate-wait, --since) and the
// days a journal window covers.
import { afterEach, describe, expect, it } from 'vitest';
import { daysOf } from '../../cli/metrics/journal-window.ts';
import { durationMs, gateWaitMs } from '../../cli/usage.ts';

describe('ops flags', () => {
  const saved = process.env.OPS_GATE_WAIT;
  afterEach(() => {
    if (saved === undefined) delete process.env.OPS_GATE_WAIT;
    else process.env.OPS_GATE_WAIT = saved;
  });

  it('reads a duration in the units a flag allows, and nothing else', () => {
    expect(durationMs('30d', ['h', 'd', 'w'])).toBe(30 * 86_400_000);
    expect(durationMs('2w', ['h', 'd', 'w'])).toBe(14 * 86_400_000);
    expect(durationMs(' 1.5h ', ['h'])).toBe(5_400_000);
    expect(durationMs('45', ['', 's'])).toBe(45_000);
    for (const bad of ['', '30', 'd', '-3d', '1y', '3 days', '2m'])
      expect(durationMs(bad, ['h', 'd', 'w']), bad).toBeUndefined();
    expect(durationMs(undefined, ['s'])).toBeUndefined();
  });

  it('waits --gate-wait, else OPS_GATE_WAIT, else 30 s, and names the flag when it cannot read it', () => {
    delete process.env.OPS_GATE_WAIT;
    expect(gateWaitMs(undefined)).toBe(30_000);
    process.env.OPS_GATE_WAIT = '4s';
    expect(gateWaitMs(undefined)).toBe(4000);
    expect(gateWaitMs('2m')).toBe(120_000);
    expect(() => gateWaitMs('soon')).toThrow('--gate-wait takes a duration such as 30s, 5m or 1h (got soon)');
    process.env.OPS_GATE_WAIT = 'later';
    expect(() => gateWaitMs(undefined)).toThrow('(got later)');
  });

  it('lists every UTC day a window touches, oldest first', () => {
    const at = (iso: string) => Date.parse(iso);
    expect(daysOf(at('2026-11-30T23:59:00Z'), at('2026-12-02T00:00:00Z'))).toEqual([
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
    ]);
    expect(daysOf(at('2026-12-05T10:00:00Z'), at('2026-12-05T11:00:00Z'))).toEqual(['2026-12-05']);
  });
});
