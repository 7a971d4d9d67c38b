// What the ECS lifecycle hook does at each stage of a service deployment, and the weights the
// stage should have left on the listener rules. Pure: no I/O.

import type { HookDetails, HookStage, LifecycleHookPayload } from '../../events/ecs-lifecycle-hook.ts';
import { serviceOfArn as serviceOfServiceArn } from '../shared/ecs-arns.ts';
import { InvalidInputError } from '../shared/errors.ts';

/** The docs give a 30 s default and no upper bound: a bake is waited out in calls of at most this. */
const MAX_CALLBACK_DELAY_SECONDS = 900;
/** How often an open gate looks for its answer: an approval acts within a minute. */
export const GATE_POLL_SECONDS = 60;

export type Gate = 'before-traffic' | 'before-finalize';

export type StageAction =
  /** Nothing to judge here: check the weights and go on. */
  | { kind: 'continue' }
  /** Bake, then judge green at this weight; a pass may still wait at a gate. */
  | { kind: 'analyse'; weight: number; bakeSeconds: number; gate?: Gate };

/** cluster and service of `arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`. */
export function serviceOfArn(serviceArn: string): { cluster: string; service: string } {
  const found = serviceOfServiceArn(serviceArn);
  if (!found)
    throw new InvalidInputError('executionDetails.serviceArn', 'names no cluster and service', serviceArn);
  return found;
}

/**
 * Green's share of production traffic the stage should have left on the listener rule, or
 * undefined when the stage does not say (a traffic-shift step that sent no weights).
 */
export function expectedProductionWeight(payload: LifecycleHookPayload): number | undefined {
  const { productionTrafficWeights: weights, targetServiceRevisionArn: green } = payload.executionDetails;
  if (green in weights) return weights[green];
  switch (payload.lifecycleStage) {
    case 'PRODUCTION_TRAFFIC_SHIFT':
      return undefined;
    case 'POST_PRODUCTION_TRAFFIC_SHIFT':
      return 100;
    default:
      return 0;
  }
}

/**
 * Green's share of the test listener rule's traffic the stage should have left, when it says:
 * all of it once the test traffic shift is complete (AWS documents nothing for later stages).
 */
export function expectedTestWeight(payload: LifecycleHookPayload): number | undefined {
  const { testTrafficWeights: weights, targetServiceRevisionArn: green } = payload.executionDetails;
  if (green in weights) return weights[green];
  return payload.lifecycleStage === 'POST_TEST_TRAFFIC_SHIFT' ? 100 : undefined;
}

/**
 * What to do at a stage, given green's production weight now and what the service's config asks.
 * (ECS's rollback calls, with green at 0, are answered before this is asked.)
 */
export function stageAction(
  stage: HookStage,
  greenWeight: number,
  details: HookDetails,
  approval: Gate | 'none',
): StageAction {
  const gate = (wanted: Gate) => (approval === wanted ? { gate: wanted } : {});
  switch (stage) {
    case 'POST_TEST_TRAFFIC_SHIFT':
      return { kind: 'analyse', weight: 0, bakeSeconds: details.testBakeSeconds, ...gate('before-traffic') };
    case 'PRODUCTION_TRAFFIC_SHIFT':
      // The last step's analysis is the POST_PRODUCTION_TRAFFIC_SHIFT one, with its gate.
      if (greenWeight <= 0 || greenWeight >= 100) return { kind: 'continue' };
      return { kind: 'analyse', weight: greenWeight, bakeSeconds: details.bakeSeconds };
    case 'POST_PRODUCTION_TRAFFIC_SHIFT':
      return { kind: 'analyse', weight: 100, bakeSeconds: details.bakeSeconds, ...gate('before-finalize') };
    default:
      return { kind: 'continue' };
  }
}

/** The key of one bake on the deployment's record: a linear deployment runs PRODUCTION_TRAFFIC_SHIFT per step. */
export const bakeKeyOf = (stage: HookStage, weight: number): string => `${stage}@${weight}`;

/** Seconds until ECS should call again: the rest of the bake, in calls of at most the maximum. */
export function callBackDelay(remainingMs: number, most = MAX_CALLBACK_DELAY_SECONDS): number {
  return Math.max(1, Math.min(most, Math.ceil(remainingMs / 1000)));
}
