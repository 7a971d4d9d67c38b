// Every event the control plane consumes, delivered twice and out of order (scenarios in
// duplicates.ts), on a clean rig.
import { describeDuplicates } from './duplicates.ts';

describeDuplicates('reliability: every event delivered twice and out of order');
