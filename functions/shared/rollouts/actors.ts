// Who journals a rollout: the task-set controller's workflow, or the lifecycle hook of an ECS
// deployment. The journal's actor is `<kind>/<rollout id>`; readers (reports, DORA figures) tell
// a rollout's records by it. No I/O.

/**
 * Who is rolling out: the task-set controller's workflow (the default), or ECS itself with this
 * project's lifecycle hook judging it (`execution` is then the service deployment's ARN).
 */
export type RolloutController = 'external' | 'ecs';

const KINDS = { external: 'blue-green-rollout', ecs: 'ecs-deployment-hook' } as const;

/** The journal's trigger kind and actor prefix for a rollout of this controller. */
export const rolloutActorKind = (controller: RolloutController | undefined): string =>
  KINDS[controller ?? 'external'];

const ROLLOUT_ACTOR = new RegExp(`^(${Object.values(KINDS).join('|')})/(.+)$`);

/** The rollout id a journal actor names, when a rollout of either controller wrote the record. */
export const rolloutIdOfActor = (actor: string): string | undefined => ROLLOUT_ACTOR.exec(actor)?.[2];
