// The limits a bake's verdict holds green to: ceilings from the input, and limits relative to
// blue over the same window (on by default). Pure: numbers in, numbers and words out.
import type { Analysis } from '../../../../events/rollout-input.ts';
import type { MetricNumbers, Verdict } from '../../../../events/rollout-state.ts';

export type GreenLimits = NonNullable<Verdict['limits']>;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The lowest of the limits that apply (null: none does). */
function lowest(candidates: { value: number; why: string }[]): { value: number | null; why: string[] } {
  if (candidates.length === 0) return { value: null, why: [] };
  const value = Math.min(...candidates.map((c) => c.value));
  return { value, why: candidates.map((c) => c.why) };
}

export function greenLimits(
  analysis: Pick<Analysis, 'maxErrorRate' | 'maxP95LatencyMs' | 'relativeLimits'>,
  blue: Pick<MetricNumbers, 'requests' | 'errorRate' | 'p95LatencyMs'> | undefined,
  green: Pick<MetricNumbers, 'errors'> = { errors: Number.POSITIVE_INFINITY },
): GreenLimits {
  const errorRate: { value: number; why: string }[] = [];
  const latency: { value: number; why: string }[] = [];
  const r = analysis.relativeLimits;
  const notes: string[] = [];
  if (r.enabled && green.errors < r.minErrors) {
    notes.push(
      `only ${green.errors} green 5xx (fewer than ${r.minErrors}): the relative 5xx limit does not apply`,
    );
  } else if (r.enabled) {
    // Blue served nothing (e.g. at 100% green): its share of errors counts as zero, so the floor holds.
    const blueRate = blue?.errorRate ?? 0;
    const relative = Math.max(r.errorRateFloor, r.errorRateMultiple * blueRate);
    errorRate.push({
      value: relative,
      why: `5xx rate ${pct(relative)} = max(${pct(r.errorRateFloor)}, ${r.errorRateMultiple}x blue's ${blue?.errorRate === null || blue === undefined ? 'n/a' : pct(blueRate)})`,
    });
  }
  if (r.enabled) {
    const blueP95 = blue?.p95LatencyMs ?? null;
    if (blueP95 !== null) {
      const limit = Math.max(r.latencyFloorMs, r.latencyMultiple * blueP95);
      latency.push({
        value: limit,
        why: `p95 ${Math.round(limit)} ms = max(${r.latencyFloorMs} ms, ${r.latencyMultiple}x blue's ${Math.round(blueP95)} ms)`,
      });
    }
  }
  if (analysis.maxErrorRate !== undefined)
    errorRate.push({ value: analysis.maxErrorRate, why: `5xx rate ceiling ${pct(analysis.maxErrorRate)}` });
  if (analysis.maxP95LatencyMs !== undefined)
    latency.push({ value: analysis.maxP95LatencyMs, why: `p95 ceiling ${analysis.maxP95LatencyMs} ms` });
  const e = lowest(errorRate);
  const l = lowest(latency);
  const basis = [...e.why, ...l.why, ...notes];
  if (r.enabled && (blue?.p95LatencyMs ?? null) === null)
    basis.push('blue served no requests: its p95 sets no limit');
  return { errorRate: e.value, p95LatencyMs: l.value, basis };
}
