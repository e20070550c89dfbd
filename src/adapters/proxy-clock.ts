/**
 * How far each front proxy's clock is from this host's, learnt from the stamps themselves: the base delay of LEDBAT
 * (RFC 6817), which measures one-way delay between hosts whose clocks are not synchronised.
 *
 * A stamp gives `now − stamp` = the request's wait + the two clocks' offset. The wait is often near zero (some
 * request in a minute meets no queue), so the least reading over the last ten minutes is the offset, plus the least
 * transit. Read against it, a proxy whose clock runs 300 ms behind no longer makes every request 300 ms late (with
 * `late: 'reject'`, every one refused).
 *
 * Only an offset of a clock behind is learnt (it is never below 0). A stamp ahead of this host's clock is also what a
 * client's forged header looks like, passed on by a proxy that does not replace it: learnt, one such stamp 50 s ahead
 * would have made every request 50 s late for ten minutes. An old forged stamp cannot raise the least reading while
 * real requests flow. So a wait read against the offset is never longer than `now − stamp`.
 *
 * Per proxy address, since each proxy host has a clock of its own. Minima are kept per minute, so a reading ages out
 * after ten minutes: a clock that was stepped forward, or an offset that shrank, is followed within that time; one
 * that grows (a lower reading) at once. The cost is LEDBAT's: a queue that never once empties for ten minutes would be
 * taken for an offset. No estimate is used until a proxy's first reading is a minute old: one old stamp is a late
 * request, not yet a clock.
 */

const MINUTE_MS = 60_000;
/** Minutes of minima kept (LEDBAT's BASE_HISTORY). */
const HISTORY = 10;
/** Proxies followed at once; a further one replaces the one first seen (it relearns if it comes back). */
const MAX_PROXIES = 64;

/** One proxy's minima: the least reading of each of the last `HISTORY` minutes. */
class BaseDelay {
  private readonly minima = new Float64Array(HISTORY).fill(Infinity);
  private readonly minuteOf = new Float64Array(HISTORY).fill(-Infinity);
  /** `base` as of the minute `leastMinute`: a reading within that minute only lowers it, so it is kept, not recounted. */
  private least = Infinity;
  private leastMinute = -Infinity;
  constructor(readonly firstAt: number) {}

  /** Takes in a reading, and returns the least of the last `HISTORY` minutes, this one included. */
  add(reading: number, now: number): number {
    const minute = Math.floor(now / MINUTE_MS);
    const slot = minute % HISTORY;
    if (this.minuteOf[slot] !== minute) [this.minuteOf[slot], this.minima[slot]] = [minute, reading];
    else if (reading < this.minima[slot]!) this.minima[slot] = reading;
    if (minute === this.leastMinute) return reading < this.least ? (this.least = reading) : this.least;
    return this.base(now);
  }

  /** The least reading of the last `HISTORY` minutes (Infinity: none). */
  base(now: number): number {
    const minute = Math.floor(now / MINUTE_MS);
    let base = Infinity;
    for (let i = 0; i < HISTORY; i++) if (this.minuteOf[i]! > minute - HISTORY && this.minima[i]! < base) base = this.minima[i]!;
    [this.least, this.leastMinute] = [base, minute];
    return base;
  }
}

/** A proxy's learnt offset: `peer` is its address ('' for a gateway's hints trusted without one). */
export interface ProxyOffset {
  readonly peer: string;
  /**
   * What is subtracted from its readings, ms: the least `now − stamp` of the last ten minutes (its clock's lag behind
   * this host's, plus the least transit), or 0 when that is below 0.
   */
  readonly offsetMs: number;
}

export class ProxyClocks {
  private readonly byPeer = new Map<string, BaseDelay>();

  /**
   * Takes in one reading (`now − stamp`, ms, any sign) from `peer` and returns the offset to subtract from it: the
   * least reading of the last ten minutes, never below 0, or 0 while the proxy has been seen for less than a minute.
   */
  offset(peer: string, reading: number, now: number): number {
    let b = this.byPeer.get(peer);
    if (b === undefined) {
      if (this.byPeer.size >= MAX_PROXIES) this.byPeer.delete(this.byPeer.keys().next().value!);
      this.byPeer.set(peer, (b = new BaseDelay(now)));
    }
    const base = b.add(reading, now);
    return now - b.firstAt < MINUTE_MS ? 0 : Math.max(0, base);
  }

  /** Each proxy's offset as it stands (ms; positive: its clock runs behind), once it has been seen for a minute. */
  offsets(now: number): ProxyOffset[] {
    const out: ProxyOffset[] = [];
    for (const [peer, b] of this.byPeer) {
      const base = b.base(now);
      if (now - b.firstAt >= MINUTE_MS && base < Infinity) out.push({ peer, offsetMs: Math.max(0, base) });
    }
    return out;
  }
}
