// The service's error budget at a verdict: when the service has an SLO and the rollout's analysis
// judges it (analysis.errorBudget, on by default), its burn-rate rules over blue and green
// together, up to the verdict. A budget burning too fast fails the verdict, whatever green alone did.
import type { RolloutState, Stop, Verdict } from '../../events/rollout-state.ts';
import { readServicePoints } from '../shared/slo/metrics.ts';
import {
  type BurnVerdict,
  burnReason,
  describeRule,
  judgeBurn,
  longestWindowMinutes,
  sloConfigOf,
  sloOf,
} from '../shared/slo/objectives.ts';
import type { AnalysisDeps } from './analysis.ts';

/**
 * Judges the service's error budget at the verdict and writes it on the verdict; a burning budget
 * fails a verdict (unless the rollout broke glass). Returns the cause the rollout stops for, if any.
 */
export async function judgeErrorBudget(
  deps: AnalysisDeps,
  state: RolloutState,
  verdict: Verdict,
  now: number,
  cause: Stop['cause'] | undefined,
): Promise<Stop['cause'] | undefined> {
  const budget = await burnAt(deps, state, now);
  if (!budget) return cause;
  verdict.errorBudget = { burning: budget.burning, rules: budget.rules.map(describeRule) };
  // Said, not passed over: a service that served nothing has a budget no one can judge.
  if (!budget.judged)
    verdict.reasons.push(
      `the error budget of ${budget.service} is not judged: no traffic in any rule's window`,
    );
  const why = burnReason(budget);
  if (!why) return cause;
  const plan = state.rollout;
  // A fix rolled forward by break glass is not held to the budget the problem it fixes burns.
  if (plan.breakGlass) {
    verdict.reasons.push(`${why}; not held against green: break glass (${plan.breakGlass.reason})`);
    return cause;
  }
  verdict.reasons.push(why);
  verdict.verdict = 'fail';
  return cause ?? 'analysis';
}

async function burnAt(
  deps: AnalysisDeps,
  state: RolloutState,
  now: number,
): Promise<BurnVerdict | undefined> {
  const plan = state.rollout;
  if (!plan.analysis.enabled || !plan.analysis.errorBudget) return undefined;
  const config = sloConfigOf(deps.env.SERVICE_SLOS);
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
