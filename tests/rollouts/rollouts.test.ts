// Blue/green rollouts on the emulator (issue 5 acceptance), from the synthesized definition.
import { describeRollouts } from './suite.ts';

describeRollouts('blue/green rollouts on the emulator');
