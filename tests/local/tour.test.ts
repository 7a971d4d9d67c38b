// `npm start` runs this tour against the ops emulator daemon; here it runs non-interactively
// against a private emulator, and every act must end in the expected state.
import { describe, expect, it } from 'vitest';
import { runTour } from '../../local/tour.ts';
import { useEmulator } from '../support/emulator.ts';

describe('the guided tour (npm start)', () => {
  const emulator = useEmulator();

  it('ends every act in the expected state and prints a timeline', async () => {
    const lines: string[] = [];
    const result = await runTour({
      endpoint: emulator.endpoint,
      instances: 30,
      storm: 12,
      write: (l) => lines.push(l),
    });

    // Spot: the surge drained its instance once the replacement registered; the storm drained 12 more.
    const spot = result.spot;
    expect(spot?.surgeStatus).toBe('drained');
    expect(spot?.draining).toBe(13);
    expect(spot?.active).toBe(30 + 1 - 13);
    // 1 (surge) + ceil(12/10) (storm) + 0 (duplicates)
    expect(spot?.drainCalls).toBe(3);
    expect(spot?.alerts.map((a) => a.severity)).toEqual(['info', 'warning', 'info']);
    expect(spot?.deadLettered).toBe(1);
    expect(lines.some((l) => l.includes('12 duplicates -> 0 drain calls, 0 alerts'))).toBe(true);
    expect(lines.some((l) => l.includes('DRAINING') && l.includes('13/31'))).toBe(true);

    // A canary that succeeds: all traffic on green, every verdict a pass.
    expect(result.canary).toMatchObject({ status: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
    expect(result.canary?.verdicts.length).toBeGreaterThan(0);
    expect(result.canary?.verdicts.every((v) => v === 'pass')).toBe(true);
    expect(result.canary?.alerts.some((a) => a.severity === 'critical')).toBe(false);

    // A canary whose green fails analysis: rolled back, all traffic on the old version, one critical alert.
    expect(result.rollback).toMatchObject({
      status: 'FAILED',
      error: 'RolledBack',
      weights: { blue: 100, green: 0 },
    });
    expect(result.rollback?.verdicts).toContain('fail');
    expect(result.rollback?.alerts.filter((a) => a.severity === 'critical')).toHaveLength(1);

    // An alarm scaled the service out through the scaling workflow and resolved.
    expect(result.alarm?.outcome).toBe('remediated');
    expect(result.alarm?.to).toBe((result.alarm?.from ?? 0) + 2);
    expect(result.alarm?.resolvedDecision).toBe('resolved');
    expect(result.alarm?.alerts.map((a) => a.state)).toContain('resolved');

    // A timeline with bars, not JSON.
    expect(lines.some((l) => /traffic +green +█+ *100\/100%/.test(l))).toBe(true);
    expect(lines.some((l) => l.trimStart().startsWith('{'))).toBe(false);
  }, 600_000);
});
