/**
 * Time, injectable. Everything that depends on time (windows, schedules, the regulator) takes a Clock, so tests and
 * the simulator drive time by hand and nothing sleeps.
 */
import { performance } from 'node:perf_hooks';
import { UsageError } from './errors.js';

export interface Clock {
  /** Monotonic milliseconds (fractional), for durations and windows. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for schedules. */
  wallNow(): number;
}

const hrtime = process.hrtime;
/**
 * Monotonic milliseconds from the same source as `performance.now()` (libuv's hrtime). Not `performance.now()` itself:
 * on Node 20 it first runs a brand check through a varargs wrapper that TurboFan does not inline, and with two reads
 * per request that was a sixth of gearshift's CPU in a Fastify server (README, Performance). `hrtime` is small enough
 * to be inlined here, and then its [seconds, nanoseconds] array is never allocated.
 */
const hrMs = (): number => {
  const t = hrtime();
  return t[0] * 1e3 + t[1] * 1e-6;
};
/**
 * Aligns `systemClock.now()` with `performance.now()` (milliseconds since the process started), to within half the
 * time one `performance.now()` call takes: hosts may stamp a request with either.
 */
const origin = ((): number => {
  let best = Infinity;
  let at = 0;
  for (let i = 0; i < 20; i++) {
    const before = hrMs();
    const p = performance.now();
    const after = hrMs();
    if (after - before < best) {
      best = after - before;
      at = (before + after) / 2 - p;
    }
  }
  return at;
})();

export const systemClock: Clock = {
  now: () => hrMs() - origin,
  wallNow: () => Date.now(),
};

/** The clock a constructor was given, or the system clock; anything without both reads is refused, naming `where`. */
export function clockOf(clock: unknown, where: string): Clock {
  if (clock === undefined) return systemClock;
  if (clock === null || typeof clock !== 'object' || typeof (clock as Clock).now !== 'function' || typeof (clock as Clock).wallNow !== 'function') {
    throw new UsageError(`${where}: clock must have now() (monotonic ms) and wallNow() (epoch ms)`);
  }
  return clock as Clock;
}

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
    if (!(ms >= 0)) throw new UsageError(`ManualClock.advance: expected ms >= 0, got ${String(ms)}`);
    this.mono += ms;
  }
  set(ms: number): void {
    if (!(ms >= this.mono)) throw new UsageError(`ManualClock.set: time only moves forward (${String(ms)} < ${this.mono})`);
    this.mono = ms;
  }
}
