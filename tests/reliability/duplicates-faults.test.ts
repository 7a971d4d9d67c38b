// The duplicate and order scenarios behind the fault proxy with AMBIGUOUS_FAULTS: 20% of calls
// refused and 5% applied with the answer lost or held past the SDK's timeout. The end states
// asserted are the clean run's: one action per episode or transition, whatever the faults.
import { AMBIGUOUS_FAULTS } from '../support/emulator.ts';
import { describeDuplicates } from './duplicates.ts';

describeDuplicates(
  'reliability: every event delivered twice and out of order, with 20% refused and 5% ambiguous faults',
  AMBIGUOUS_FAULTS,
);
