import { describeRouting } from './routing.ts';

describeRouting('alert routing on the emulator');
