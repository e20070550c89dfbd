/**
 * Host-given times checked against the engine's clock. A host may stamp a request's start (`route`) and report its
 * RT (`complete`) so that the engine reads no clock per request; a wrong unit or clock there misleads the regulator
 * (an RT in nanoseconds makes every request a timeout and drives the gears to the floor; one in seconds hides every
 * timeout; a start in seconds hid every request), and it is a common mistake: `process.hrtime` gives nanoseconds,
 * nginx's `$upstream_response_time` seconds.
 *
 * The band is `TOLERANCE_MS` either side of the last clock read (this check's own, or a read of sensing's figures).
 * An end that `complete` computes from host times (start plus RT) within it passes on two compares; an end outside it reads the clock (about once a tolerance when
 * ends are honest: the first past the band's top) and is checked both ways:
 * - **Ahead**: still more than the tolerance past the clock's now. A series rolls its window to the latest end it has
 *   seen, so such an end froze the series' window until the clock caught up (83 minutes for a 5 ms request reported
 *   in nanoseconds, never for 1e308), and every request in between piled into one slot. It is placed at now.
 * - **Short**: behind the clock's now by more than the scene's RT budget. `complete` runs when the request ends, so
 *   the host's RT left out more than a budget of it: a timeout reported as an answer in time.
 * - An end more than the tolerance behind is placed at now as well: with every end far behind (a start in seconds),
 *   a series never rolled into the clock's present, and every read of it came back empty.
 *
 * Ahead and short are counted and reported once per engine and kind as a process warning (`HostTimeError`). Neither
 * rewrites the host's RT: a wrong unit and a host that measures another span (from before `route`, only its
 * upstream's part, or a completion reported late) look alike, and which it is is the host's to find out.
 *
 * Only `complete`'s host-RT branch calls it: an end read from the clock needs no check. Where the check sits is a
 * matter of TurboFan's inlining budget, measured with cachegrind per completion: in `Sensing.record`, whose bytecode
 * it took from 177 to 236 bytes, it made `complete` too big to inline into its caller (+92 instructions on every
 * path); a count per host RT to sample one in 64 did the same (+130). In the host-RT branch it measures nothing.
 */
import type { Clock } from '../clock.js';
import { HostTimeError } from '../errors.js';

/** How far either side of the clock's last read a request may claim to have ended unchecked: a default slot. */
export const TOLERANCE_MS = 1000;

export class HostTimeCheck {
  /** The latest end that passes unchecked. */
  limit = 0;
  /** The earliest end that passes unchecked. */
  floor = 0;
  /** Starts and ends past the clock's now by more than the tolerance. */
  aheadCount = 0;
  /** Checked ends behind the clock's now by more than their scene's RT budget. */
  shortCount = 0;
  private readonly warned = { ahead: false, short: false };

  constructor(private readonly clock: Clock) {
    this.read();
  }

  /** For an end outside [floor, limit]: reads the clock, moves the band, checks the end, returns where it goes. */
  place(end: number, budgetMs: number): number {
    const now = this.read();
    if (end > this.limit) return this.ahead(end, now);
    if (budgetMs > 0 && now - end > budgetMs) {
      this.shortCount++;
      this.warn('short', now - end);
    }
    return end < this.floor ? now : end;
  }

  /**
   * A host's start for `route`. One more than the tolerance past the clock's now (a start from `Date.now()` against
   * the engine's monotonic clock) is impossible: the clock's now replaces it, counted as ahead, or every RT the engine
   * then read from its clock came out negative and every request counted as instant.
   */
  start(startedAt: number): number {
    if (startedAt <= this.limit) return startedAt;
    const now = this.read();
    return startedAt > this.limit ? this.ahead(startedAt, now) : startedAt;
  }

  /** Reads the clock and centres the band on it. */
  private read(): number {
    const now = this.clock.now();
    this.observe(now);
    return now;
  }

  /** Centres the band on a clock read made elsewhere (sensing's reads), at no cost to the request path. */
  observe(now: number): void {
    this.limit = now + TOLERANCE_MS;
    this.floor = now - TOLERANCE_MS;
  }

  /** A time past the band: counted, reported once, replaced by the clock's now. */
  private ahead(t: number, now: number): number {
    this.aheadCount++;
    this.warn('ahead', t - now);
    return now;
  }

  private warn(kind: 'ahead' | 'short', ms: number): void {
    if (this.warned[kind]) return;
    this.warned[kind] = true;
    process.emitWarning(new HostTimeError(kind, ms));
  }
}
