// The races behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls refused and 5% applied with
// the answer lost or held past the SDK's timeout. The end state must be as consistent and as
// explained as on the clean rig. Seed 3 forces one remediation to hold the lease while its
// runbook acts; under faults the concurrent scale can act first (its lock, then its cooldown), so
// that runbook's scale-out does not act, it escalates, and the others run after it: an explained
// outcome, but not the order the seed forces, so that seed runs on the clean rig only.
import { AMBIGUOUS_FAULTS } from '../support/emulator.ts';
import { describeRaces, SCHEDULES } from './races.ts';

describeRaces(
  'reliability: rollout, remediation, scaling and a spot storm on one service at once, with 20% refused and 5% ambiguous faults',
  AMBIGUOUS_FAULTS,
  SCHEDULES.filter((s) => s.order !== 'a-remediation-holds-the-lease'),
);
