/**
 * Host-given times checked against the engine's clock. A host may stamp a request's start (`route`) and report its
 * RT (`complete`) so that the engine reads no clock per request; a wrong unit or clock there misleads the regulator
 * (an RT in nanoseconds makes every request a timeout and drives the gears to the floor; one in seconds hides every
 * timeout), and it is a common mistake: `process.hrtime` gives nanoseconds, nginx's `$upstream_response_time` seconds.
 *
 * - **Ahead.** A series rolls its window to the latest end it has seen, so one end far in the future froze the
 *   series' window until the clock caught up (83 minutes for a 5 ms request reported in nanoseconds, never for
 *   1e308), and every request in between piled into one slot. An end up to `AHEAD_TOLERANCE_MS` past the last clock
 *   read passes on one compare; past that the clock is read (about once a tolerance when ends are honest), and an end
 *   still ahead of it is placed at the clock's now and counted.
 * - **Short.** One host RT in `SHORT_SAMPLE_EVERY` is compared with the clock: if the engine saw the request take
 *   longer than the host says by more than the scene's RT budget, the host's RT turned a timeout into an answer in
 *   time. Counted; the RT is recorded as given.
 *
 * Each is reported once per engine as a process warning (`HostTimeError`). Neither rewrites the host's RT: a wrong
 * unit and a host that measures differently (from before `route`, or only its upstream's part) look alike, and which
 * it is is the host's to find out.
 */
import type { Clock } from '../clock.js';
import { HostTimeError } from '../errors.js';

/** How far past the clock's now a request may claim to have ended: one slot of the default windows. */
export const AHEAD_TOLERANCE_MS = 1000;
/** One host-reported RT in this many is checked against the clock. */
export const SHORT_SAMPLE_EVERY = 64;

export class HostTimeCheck {
  /** The latest end that passes unchecked. */
  limit: number;
  /** Records whose end was past the clock's now by more than the tolerance. */
  ahead = 0;
  /** Sampled host RTs shorter than the clock's by more than the scene's budget. */
  short = 0;
  private countdown = SHORT_SAMPLE_EVERY;
  private readonly warned = { ahead: false, short: false };

  constructor(private readonly clock: Clock) {
    this.limit = clock.now() + AHEAD_TOLERANCE_MS;
  }

  /** For an end past `limit`: reads the clock, moves the limit, and returns where the record goes. */
  place(end: number): number {
    const now = this.clock.now();
    this.limit = now + AHEAD_TOLERANCE_MS;
    if (end <= this.limit) return end;
    this.ahead++;
    this.warn('ahead', end - now);
    return now;
  }

  /** Called for every host-reported RT; reads the clock for one in `SHORT_SAMPLE_EVERY`. */
  sample(startedAt: number, rtMs: number, budgetMs: number): void {
    if (--this.countdown > 0) return;
    this.countdown = SHORT_SAMPLE_EVERY;
    const missing = this.clock.now() - startedAt - rtMs;
    if (budgetMs > 0 && missing > budgetMs) {
      this.short++;
      this.warn('short', missing);
    }
  }

  private warn(kind: 'ahead' | 'short', ms: number): void {
    if (this.warned[kind]) return;
    this.warned[kind] = true;
    process.emitWarning(new HostTimeError(kind, ms));
  }
}
