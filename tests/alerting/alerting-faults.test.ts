// The alert router's scenarios (routing.ts) behind the fault proxy with AMBIGUOUS_FAULTS: 20% of
// calls refused and 5% ambiguous (applied, then the answer lost or held past the SDK's timeout).
import { AMBIGUOUS_FAULTS } from '../support/emulator.ts';
import { describeRouting } from './routing.ts';

describeRouting('alert routing with 20% refused and 5% ambiguous faults', AMBIGUOUS_FAULTS);
