// A scaling decision's outcome metric: changed, nothing to change, or refused by a guardrail.
import type { ScalePlan } from '../../events/scale-input.ts';
import type { OutcomeMetric } from '../shared/metric-names.ts';

export function scaleMetrics(action: string, plan: Pick<ScalePlan, 'decision'>): OutcomeMetric[] {
  if (action !== 'decide') return [];
  switch (plan.decision) {
    case 'scale':
    case 'set-limits':
      return [{ name: 'ScaleChanged', value: 1 }];
    case 'refused':
      return [{ name: 'ScaleRefused', value: 1 }];
    default:
      return [{ name: 'ScaleUnchanged', value: 1 }];
  }
}
