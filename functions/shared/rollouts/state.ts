// The blue-green-rollout workflow's state, as each rollout function reads it from its request.
import { type RolloutState, RolloutStateSchema } from '../../../events/rollout-state.ts';
import { parseOrThrow } from '../validation.ts';

export const parseState = (raw: unknown): RolloutState => parseOrThrow(RolloutStateSchema, raw, 'state');
