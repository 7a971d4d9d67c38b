// What every rollout step takes (clients, clock, environment), and what the steps share: the
// record's phase, an operator's abort request, and how a stop and a cause are put in words.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { RolloutPlan, RolloutState, Stop } from '../../events/rollout-state.ts';
import { OpsError } from '../shared/errors.ts';
import type { RolloutEnv } from '../shared/rollouts/config.ts';
import type { EvidenceDeps } from '../shared/rollouts/notify.ts';
import { getRolloutRecord, type RolloutPhase, updateRolloutRecord } from '../shared/rollouts/record.ts';

export interface StepDeps extends EvidenceDeps {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  /** Only validation reads alarms here (analysis has its own function). */
  cloudwatch: () => CloudWatchClient;
  env: RolloutEnv;
}

/** `ops abort` was asked for this rollout. */
export class RolloutAbortedError extends OpsError {
  override readonly name = 'RolloutAborted';
}

/** Extra time on the lease beyond the longest the plan can take. */
export const LEASE_MARGIN_SECONDS = 3600;

// ------------------------------------------------------------------------------------------

export function stepText(state: RolloutState): string {
  return state.progress.index < 0
    ? 'not yet receiving traffic'
    : `at step ${state.progress.index + 1} of ${state.rollout.steps.length} (${state.progress.weight}% of traffic)`;
}

export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

export function stopFromFailure(failure: RolloutState['failure']): Stop {
  const error = failure?.Error ?? 'UnknownError';
  const cause = causeText(failure?.Cause);
  if (error === 'RolloutAborted') return { cause: 'abort', reason: cause };
  return { cause: 'error', reason: `${error}${cause ? `: ${cause}` : ''}` };
}

export const recordKey = (plan: RolloutPlan) => ({
  cluster: plan.cluster,
  service: plan.service,
  execution: plan.execution,
});

export async function setPhase(deps: StepDeps, plan: RolloutPlan, phase: RolloutPhase): Promise<void> {
  await updateRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, deps.clock, recordKey(plan), {
    set: { phase },
  });
}

export async function abortRequest(deps: StepDeps, plan: RolloutPlan) {
  const record = await getRolloutRecord(deps.db, deps.env.OPERATIONS_TABLE, plan.cluster, plan.service);
  return record?.execution === plan.execution ? record.abortRequested : undefined;
}
