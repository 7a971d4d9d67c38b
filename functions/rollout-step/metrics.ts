// A step's outcome metrics, from its action and the state it returned: a rollout started (took
// its lock), promoted, completed, rolled back or aborted (an operator, a rejected gate), and how
// long it ran.
import type { RolloutState } from '../../events/rollout-state.ts';
import type { OutcomeMetric } from '../shared/metric-names.ts';

/** Stops a person or a train asked for: the rollout did not fail. */
const ABORTS = new Set(['abort', 'operator-rollback', 'approval-rejected']);

export function rolloutMetrics(action: string, after: unknown, now: number): OutcomeMetric[] {
  const state = after as Partial<RolloutState> | undefined;
  const ran = (): OutcomeMetric[] => {
    const startedAt = Date.parse(state?.rollout?.startedAt ?? '');
    return Number.isFinite(startedAt)
      ? [{ name: 'RolloutDuration', value: Math.max(0, (now - startedAt) / 1000) }]
      : [];
  };
  switch (action) {
    case 'lock':
      // A lock refused (another rollout holds the service) ends in the workflow's failure state.
      return state?.lease ? [{ name: 'RolloutsStarted', value: 1 }] : [];
    case 'promote':
      return [{ name: 'RolloutsPromoted', value: 1 }];
    case 'finish':
      return [{ name: 'RolloutsCompleted', value: 1 }, ...ran()];
    case 'rolled-back':
      return [
        { name: ABORTS.has(state?.stop?.cause ?? '') ? 'RolloutsAborted' : 'RolloutsRolledBack', value: 1 },
        ...ran(),
      ];
    default:
      return [];
  }
}
