// `npm start` runs this tour against the ops emulator daemon; here it runs against a private
// emulator and every act must end in the expected state.
import { describe, expect, it } from 'vitest';
import { runSpotStormTour } from '../../local/tour.ts';
import { useEmulator } from '../support/emulator.ts';

describe('the spot storm tour (npm start)', () => {
  const emulator = useEmulator();

  it('ends every act in the expected state and prints a timeline', async () => {
    const lines: string[] = [];
    const result = await runSpotStormTour({
      endpoint: emulator.endpoint,
      instances: 30,
      storm: 12,
      write: (l) => lines.push(l),
    });
    // The surge drained its instance once the replacement registered; the storm drained 12 more.
    expect(result.surgeStatus).toBe('drained');
    expect(result.draining).toBe(13);
    expect(result.active).toBe(30 + 1 - 13);
    // 1 (surge) + ceil(12/10) (storm) + 0 (duplicates)
    expect(result.drainCalls).toBe(3);
    expect(result.alerts.map((a) => a.severity)).toEqual(['info', 'warning', 'info']);
    expect(result.deadLettered).toBe(1);
    expect(lines.some((l) => l.includes('12 duplicates -> 0 drain calls, 0 alerts'))).toBe(true);
    expect(lines.some((l) => l.includes('DRAINING') && l.includes('13/31'))).toBe(true);
  });
});
