import type { Clock } from '../functions/shared/clock.ts';

/** Real time plus every wait a compressed workflow run skipped. */
export class VirtualClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}
