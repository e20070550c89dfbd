/**
 * Host-given times checked against the engine's clock. A host may stamp a request's start (`route`) and report its
 * RT (`complete`) so that the engine reads no clock per request; a wrong unit or clock there misleads the regulator
 * (an RT in nanoseconds makes every request a timeout and drives the gears to the floor; one in seconds hides every
 * timeout), and it is a common mistake: `process.hrtime` gives nanoseconds, nginx's `$upstream_response_time` seconds.
 *
 * Sensing keeps a horizon `AHEAD_TOLERANCE_MS` past its last clock read. A record's end (start plus RT) within it
 * passes on one compare. The first end past it reads the clock (about once a tolerance when ends are honest) and is
 * checked both ways:
 * - **Ahead**: still more than the tolerance past the clock's now. A series rolls its window to the latest end it has
 *   seen, so such an end froze the series' window until the clock caught up (83 minutes for a 5 ms request reported
 *   in nanoseconds, never for 1e308), and every request in between piled into one slot. It is placed at now.
 * - **Short**: behind the clock's now by more than the scene's RT budget. `complete` runs when the request ends, so
 *   the host's RT left out more than a budget of it: a timeout reported as an answer in time. An end the engine read
 *   from its own clock is never short.
 *
 * Both are counted and reported once per engine and kind as a process warning (`HostTimeError`). Neither rewrites
 * the host's RT: a wrong unit and a host that measures another span (from before `route`, only its upstream's part,
 * or a completion reported late) look alike, and which it is is the host's to find out. Checking one end a second
 * costs the request path nothing; a count per host RT to sample them made `complete` too big for TurboFan to inline
 * into its caller (~130 instructions more per completion).
 */
import type { Clock } from '../clock.js';
import { HostTimeError } from '../errors.js';

/** How far past the clock's last read a request may claim to have ended unchecked: one slot of the default windows. */
export const AHEAD_TOLERANCE_MS = 1000;

export class HostTimeCheck {
  /** The latest end that passes unchecked. */
  limit: number;
  /** Records whose end was past the clock's now by more than the tolerance. */
  ahead = 0;
  /** Checked records whose end was behind the clock's now by more than their scene's RT budget. */
  short = 0;
  private readonly warned = { ahead: false, short: false };

  constructor(private readonly clock: Clock) {
    this.limit = clock.now() + AHEAD_TOLERANCE_MS;
  }

  /** For an end past `limit`: reads the clock, moves the limit, checks the end, and returns where the record goes. */
  place(end: number, budgetMs: number): number {
    const now = this.clock.now();
    this.limit = now + AHEAD_TOLERANCE_MS;
    if (end > this.limit) {
      this.ahead++;
      this.warn('ahead', end - now);
      return now;
    }
    if (budgetMs > 0 && now - end > budgetMs) {
      this.short++;
      this.warn('short', now - end);
    }
    return end;
  }

  private warn(kind: 'ahead' | 'short', ms: number): void {
    if (this.warned[kind]) return;
    this.warned[kind] = true;
    process.emitWarning(new HostTimeError(kind, ms));
  }
}
