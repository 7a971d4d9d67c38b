// The rollout's rules, with no I/O: which step comes next, what an operator's abort says, what a
// gate asks and what its answer (or its timeout) decides, what an answer inside the rollback
// window decides, and why a window never opened. The steps modules carry them out.
import { strategyText } from '../../events/rollout-input.ts';
import type { GateAnswer, RolloutPlan, RolloutState, Stop } from '../../events/rollout-state.ts';
import { describeVerdict } from '../shared/rollouts/notify.ts';
import { causeText } from './step-deps.ts';

type Gate = NonNullable<RolloutState['gate']>;
type Outcome = NonNullable<RolloutState['outcome']>;

/** The step a shift moves to, or why there is none. */
export function nextStep(
  plan: RolloutPlan,
  progress: RolloutState['progress'],
): { index: number; step: RolloutPlan['steps'][number] } | { problem: string } {
  const index = progress.index + 1;
  const step = plan.steps[index];
  return step ? { index, step } : { problem: `no step ${index + 1} in a plan of ${plan.steps.length}` };
}

/** How an operator's abort request is reported. */
export const abortReason = (aborted: { by: string; reason?: string }): string =>
  `aborted by ${aborted.by}${aborted.reason ? `: ${aborted.reason}` : ''}`;

/** The question a gate puts to the operator. */
export function gateQuestion(state: RolloutState, kind: Gate['kind']): string {
  const plan = state.rollout;
  switch (kind) {
    case 'before-traffic':
      return `Green (${plan.image ?? plan.taskDefinition}) is running with healthy targets and no traffic. Send it production traffic (${strategyText(plan)})?`;
    case 'inconclusive':
      return `The analysis of step ${state.progress.index + 1} (${state.progress.weight}% green) is inconclusive: ${state.verdict ? describeVerdict(state.verdict) : 'no verdict'}. Continue?`;
    case 'before-finalize':
      return 'Green serves 100% of traffic and passed every analysis. Make it primary and retire blue?';
  }
}

/**
 * Which gate an approval alert asks about: its kind and green's weight when it opened (weights
 * only grow, so two gates of one rollout never share it). Each gate is its own alert episode: the
 * router would take a second gate's alert under the rollout's key as a repeat and not send it.
 */
export const gateEpisode = (state: RolloutState, kind: Gate['kind']): string =>
  `${kind}@${state.progress.weight}%`;

/**
 * What a gate decides: the operator's answer, else (timed out) the gate's default action. Anything
 * but an approval stops the rollout, with the cause saying whether a person or the clock did.
 */
export function gateOutcome(
  gate: Gate,
  answer: GateAnswer | undefined,
  timedOut: boolean,
): { decision: GateAnswer['decision']; by: string; outcome: Outcome; stop?: Stop } {
  const decision = answer?.decision ?? gate.defaultAction;
  const by = answer?.by ?? `timeout after ${gate.timeoutSeconds}s (default: ${gate.defaultAction})`;
  const outcome: Outcome = { decision: decision === 'rollback' ? 'reject' : decision, by, timedOut };
  if (decision === 'approve') return { decision, by, outcome };
  const stop: Stop =
    decision === 'abort'
      ? { cause: 'abort', reason: `aborted by ${by} at the ${gate.kind} gate` }
      : timedOut
        ? {
            cause: 'approval-timeout',
            reason: `the ${gate.kind} gate timed out after ${gate.timeoutSeconds}s; default action: ${gate.defaultAction}`,
          }
        : {
            cause: 'approval-rejected',
            reason: `${by} rejected the rollout at the ${gate.kind} gate${answer?.reason ? `: ${answer.reason}` : ''}`,
          };
  return { decision, by, outcome, stop };
}

/**
 * An answer inside the rollback window: a rollback flips traffic back, an abort stops; anything
 * else (no answer) lets the window close and the release finalize.
 */
export function windowAnswerOutcome(
  answer: GateAnswer | undefined,
): { outcome: Outcome; stop: Stop } | undefined {
  if (answer?.decision !== 'rollback' && answer?.decision !== 'abort') return undefined;
  const revert = answer.decision === 'rollback';
  return {
    outcome: { decision: revert ? 'revert' : 'abort', by: answer.by, timedOut: false },
    stop: {
      cause: revert ? 'operator-rollback' : 'abort',
      reason: `${answer.by} ${revert ? 'rolled back' : 'aborted'} inside the rollback window${answer.reason ? `: ${answer.reason}` : ''}`,
    },
  };
}

/** Why the rollback window task failed, unless it simply timed out (its normal end). */
export function windowFailure(caught: unknown): string | undefined {
  if (!caught || typeof caught !== 'object') return undefined;
  const { Error: error, Cause: cause } = caught as { Error?: unknown; Cause?: unknown };
  if (typeof error !== 'string' || error === 'States.HeartbeatTimeout' || error === 'States.Timeout')
    return undefined;
  const text = causeText(typeof cause === 'string' ? cause : undefined);
  return `${error}${text ? `: ${text}` : ''}`;
}
