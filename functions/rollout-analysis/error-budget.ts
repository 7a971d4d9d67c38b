// The service's error budget at a verdict: when the service has an SLO and the rollout's analysis
// judges it (analysis.errorBudget, on by default), its burn-rate rules over blue and green
// together, up to the verdict. A budget burning too fast fails the verdict, whatever green alone did.
import type { RolloutState } from '../../events/rollout-state.ts';
import { readServicePoints } from '../shared/slo/metrics.ts';
import { type BurnVerdict, judgeBurn, longestWindowMinutes, sloOf } from '../shared/slo/objectives.ts';
import type { AnalysisDeps } from './analysis.ts';

export async function judgeErrorBudget(
  deps: AnalysisDeps,
  state: RolloutState,
  now: number,
): Promise<BurnVerdict | undefined> {
  const plan = state.rollout;
  if (!plan.analysis.enabled || !plan.analysis.errorBudget) return undefined;
  const config = deps.env.SERVICE_SLOS;
  const slo = sloOf(config, plan.cluster, plan.service);
  if (!slo) return undefined;
  const key = `${plan.cluster}/${plan.service}`;
  const { loadBalancerArn, blueTargetGroupArn, greenTargetGroupArn } = state.topology;
  const points = await readServicePoints(
    deps.cloudwatch,
    new Map([
      [
        key,
        [
          { targetGroupArn: blueTargetGroupArn, loadBalancerArn },
          { targetGroupArn: greenTargetGroupArn, loadBalancerArn },
        ],
      ],
    ]),
    { start: now - longestWindowMinutes(config.burnRates) * 60_000, end: now, periodSeconds: 60 },
  );
  return judgeBurn(slo, config.burnRates, points.get(key) ?? [], now);
}
