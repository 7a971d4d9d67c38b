// The rollout scenarios behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused
// (throttled or a 5xx, never applied) and 5% ambiguous (applied, then the answer lost or held
// past the SDK's timeout).
import { AMBIGUOUS_FAULTS } from '../support/emulator.ts';
import { describeRollouts } from './suite.ts';

describeRollouts('blue/green rollouts with 20% refused and 5% ambiguous faults', AMBIGUOUS_FAULTS);
