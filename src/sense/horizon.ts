/**
 * Keeps records out of the future. A request's end may come from the host (`route`'s start plus `complete`'s RT, no
 * clock read), and a series rolls its window to the latest end it has seen: one end far ahead (an RT in nanoseconds
 * taken for milliseconds, a start from `Date.now()` against the engine's monotonic clock) froze the series' window
 * until the clock caught up (83 minutes for a 5 ms request reported in nanoseconds, never for 1e308), and every
 * request in between piled into one slot.
 *
 * An end up to `AHEAD_TOLERANCE_MS` past the last clock read passes on one compare. Past that, the clock is read
 * (about once a tolerance when ends are honest), and an end still ahead of it is placed at the clock's now, counted,
 * and reported once as a process warning: which of the two is wrong is the host's to find out.
 */
import type { Clock } from '../clock.js';
import { HostTimeError } from '../errors.js';

/** How far past the clock's now a request may claim to have ended: one slot of the default windows. */
export const AHEAD_TOLERANCE_MS = 1000;

export class Horizon {
  /** The latest end that passes unchecked. */
  limit: number;
  /** Records whose end was past the clock's now by more than the tolerance. */
  ahead = 0;
  private warned = false;

  constructor(private readonly clock: Clock) {
    this.limit = clock.now() + AHEAD_TOLERANCE_MS;
  }

  /** For an end past `limit`: reads the clock, moves the limit, and returns where the record goes. */
  place(end: number): number {
    const now = this.clock.now();
    this.limit = now + AHEAD_TOLERANCE_MS;
    if (end <= this.limit) return end;
    this.ahead++;
    if (!this.warned) {
      this.warned = true;
      process.emitWarning(new HostTimeError(end - now));
    }
    return now;
  }
}
