import type { Clock } from '../functions/shared/clock.ts';

/** Real time plus every wait a compressed workflow run skipped (and a start offset, if given). */
export class VirtualClock implements Clock {
  /** An offset below zero starts in the past, so that long compressed runs end by now. */
  constructor(private offset = 0) {}
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}
