/**
 * Time, injectable. Everything that depends on time (windows, schedules, the regulator) takes a Clock, so tests and
 * the simulator drive time by hand and nothing sleeps.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Monotonic milliseconds (fractional), for durations and windows. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for schedules. */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

/** A clock that moves only when told: for tests and the simulator. */
export class ManualClock implements Clock {
  private mono: number;
  private readonly wallOffset: number;
  constructor(start = 0, wallStart = Date.UTC(2026, 0, 1)) {
    this.mono = start;
    this.wallOffset = wallStart - start;
  }
  now(): number {
    return this.mono;
  }
  wallNow(): number {
    return this.mono + this.wallOffset;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: expected ms >= 0, got ${ms}`);
    this.mono += ms;
  }
  set(ms: number): void {
    if (!(ms >= this.mono)) throw new RangeError(`ManualClock.set: time only moves forward (${ms} < ${this.mono})`);
    this.mono = ms;
  }
}
