// A remediation's outcome metric: decided to change nothing (no runbook, a guard, noise), or, at
// its end, remediated, or failed and escalated.
import type { RemediationPlan } from '../../events/remediation-input.ts';
import type { OutcomeMetric } from '../shared/metric-names.ts';

/** Decisions that end the remediation without a runbook running. */
const NOTHING_TO_RUN = new Set(['resolved', 'unknown-alarm', 'skipped', 'refused', 'dry-run']);

export function remediationMetrics(action: string, plan: RemediationPlan): OutcomeMetric[] {
  if (action === 'decide') {
    return plan.decision && NOTHING_TO_RUN.has(plan.decision)
      ? [{ name: 'RemediationsUnchanged', value: 1 }]
      : [];
  }
  if (action !== 'finish' && action !== 'abort') return [];
  switch (plan.outcome) {
    case 'remediated':
      return [{ name: 'RemediationsChanged', value: 1 }];
    case 'rejected':
      return [{ name: 'RemediationsUnchanged', value: 1 }];
    case 'escalated':
    case 'failed':
      return [{ name: 'RemediationsFailed', value: 1 }];
    default:
      return [];
  }
}
