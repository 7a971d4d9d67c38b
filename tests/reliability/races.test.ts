// A rollout, three remediations, a scale and a spot storm on one service at once (races.ts), on a
// clean rig.
import { describeRaces } from './races.ts';

describeRaces('reliability: rollout, remediation, scaling and a spot storm on one service at once');
