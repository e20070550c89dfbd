/**
 * The cost allowance of one loop (a scene, or the process): the integrator the goals' proposals move, with the
 * asymmetric rate limits (down fast, up carefully, faster inside fast recovery) and the dwell that stops a loop from
 * probing the same edge again and again: after a cut, no raise for `dwell`; a cut within four dwells of a raise
 * (a failed probe) doubles the dwell, a raise that holds four dwells halves it back, and a real drop of the offered load (a
 * third below what it was at the last cut) resets it: the conditions that made the cut are gone.
 *
 * A failed probe is undone, and only undone: the cut goes back to the level before the raise that did not fit, and the
 * echo of that raise (the backlog it left, draining for seconds after the undo while the goal still reads over) is not
 * cut on for one `dwellMs`, unless the load grows by a third meanwhile: that is a new overload's. Both loops, a
 * scene's and the process's, undo their probes here; until the twenty-sixth session each wrote its own undo, and only
 * the scene's held the echo.
 */
export interface AllowanceLimits {
  readonly maxDown: number;
  readonly maxUp: number;
  readonly dwellMs: number;
  readonly maxDwellMs: number;
}

/** Dwells a raise must hold to count as held rather than as a probe that may yet fail. */
export const HELD_DWELLS = 4;
/**
 * A real change of the offered load: a third. A drop that size resets the back-off, and a rise that size since a raise
 * makes the cut that follows a new overload's, not a failed probe's.
 */
const LOAD_SHIFT = 1 / 3;
/** The load (`rate`) has grown by a third since `since` (false when either is unknown): a new overload. */
export const loadGrew = (rate: number, since: number): boolean => rate > since + LOAD_SHIFT * since;
/** Levels this close are one: a cut of 0.1 from 0.8 lands on 0.7000000000000001. */
const LEVEL_EPSILON = 1e-9;
/** Weight of the newest reading in the smoothed request rate. */
const RATE_SMOOTHING = 0.3;

export class Allowance {
  lastCutAt = -Infinity;
  lastRaiseAt = -Infinity;
  /** Direction of the last gear change: −1, 0, +1. */
  lastMove = 0;
  dwell: number;
  /** Request rate when the last cut was made (NaN: unknown). */
  private cutRate = NaN;
  /** Request rate when the gears last went up (NaN: unknown). */
  private raiseRate = NaN;
  /** Request rate smoothed over the ticks (NaN: none seen yet). */
  private rateAvg = NaN;
  /** When the dwell was last halved for a raise that held. */
  private heldSince = -Infinity;
  /** The level before the last raise that may be undone (NaN: none): where a failed probe goes back to. */
  private probeFrom = NaN;
  /** When a failed probe was last undone, and the request rate then: its echo is not cut on. */
  private undoneAt = -Infinity;
  private undoneRate = NaN;
  constructor(public u: number, dwellMs: number) {
    this.dwell = dwellMs;
  }

  /**
   * Takes another allowance's dwell bookkeeping (not its level): the same loop, carried across a reload. The dwell is
   * kept within the new `[dwellMs, maxDwellMs]`: a reload that lowered maxDwellMs left a backed-off wait at the old
   * maximum, and one that raised dwellMs let the next cut wait the old, shorter dwell.
   */
  carryFrom(old: Allowance, lim: AllowanceLimits): void {
    const dwell = Math.max(lim.dwellMs, Math.min(lim.maxDwellMs, old.dwell));
    [this.lastCutAt, this.lastRaiseAt, this.lastMove, this.dwell, this.cutRate] = [old.lastCutAt, old.lastRaiseAt, old.lastMove, dwell, old.cutRate];
    [this.rateAvg, this.heldSince, this.raiseRate] = [old.rateAvg, old.heldSince, old.raiseRate];
    [this.probeFrom, this.undoneAt, this.undoneRate] = [old.probeFrom, old.undoneAt, old.undoneRate];
  }

  /** The level a failed probe would go back to is not this loop's any more (the process's ladder after a reload). */
  forgetProbe(): void {
    this.probeFrom = NaN;
  }

  /**
   * Applies a proposal; returns the change made (0 when held by the dwell or by a failed probe's echo). `lo` and `hi`
   * bound the level; a cut starts from the level the caller set (what the gears take).
   */
  propose(delta: number, now: number, lim: AllowanceLimits, fast: boolean, rate: number, lo: number, hi: number): number {
    if (rate >= 0) this.rateAvg = Number.isNaN(this.rateAvg) ? rate : this.rateAvg + RATE_SMOOTHING * (rate - this.rateAvg);
    const loadDropped = rate < this.cutRate - LOAD_SHIFT * this.cutRate;
    if (loadDropped) [this.dwell, this.lastCutAt, this.cutRate] = [lim.dwellMs, -Infinity, NaN];
    // A raise that holds halves the dwell, and so does every further 4 dwells it holds: a loop that got back to its
    // top makes no further raise, and until the nineteenth session a dwell backed off to its maximum stayed there.
    if (this.lastMove > 0 && this.dwell > lim.dwellMs && now - Math.max(this.lastRaiseAt, this.heldSince) > HELD_DWELLS * this.dwell) {
      this.dwell = Math.max(lim.dwellMs, this.dwell / 2);
      this.heldSince = now;
    }
    const failedProbe = delta < 0 && this.probing(now, rate);
    if (delta < 0 && !failedProbe && now - this.undoneAt < lim.dwellMs && !loadGrew(rate, this.undoneRate)) delta = 0;
    if (delta > 0 && !fast && now - this.lastCutAt < this.dwell) delta = 0;
    delta = Math.max(-lim.maxDown, Math.min(lim.maxUp, delta));
    const before = this.u;
    this.u = Math.max(lo, Math.min(hi, this.u + delta));
    // The last raise was the step that did not fit: one reading over the edge cut by the goal's whole proposal, and
    // again on the echo, and the climb back made 6–10 changes a minute at a constant 2x load where 2 are allowed. A
    // cut that lands on the level before the raise (within rounding) is its undo too, and its echo is held as well.
    if (failedProbe && this.u <= this.probeFrom + LEVEL_EPSILON && this.probeFrom < before) [this.u, this.undoneAt, this.undoneRate] = [this.probeFrom, now, rate];
    return this.u - before;
  }

  /**
   * The gears last went up (a raise, or a climb it allowed), have not yet held four dwells, and the load (`rate`, NaN:
   * unknown) has not grown by a third since: a cut now fails the probe. A cut under a load grown that much (the
   * sawtooth's 150 → 350 req/s just after a climb) is a new overload's: it neither backs the dwell off nor is undone.
   */
  probing(now: number, rate = NaN): boolean {
    return this.lastRaiseAt > this.lastCutAt && now - this.lastRaiseAt < HELD_DWELLS * this.dwell && !loadGrew(rate, this.raiseRate);
  }

  /** The level has held: no probe under way, and no cut of this loop's own within the dwell (see TransientCut). */
  held(now: number, rate = NaN): boolean {
    return !this.probing(now, rate) && now - this.lastCutAt >= this.dwell;
  }

  /**
   * A loop whose raise is a permission (the process's: scenes climb under its limit, later and at their own pace)
   * dates its probe from the climb: a probe fails when the gears that went up break a goal. Timed from the permission
   * the failure came after four dwells and was taken for a held raise (a constant 2x load cut every 20 s), and a
   * scene's own climb under a limit it never reached was no probe at all.
   */
  climbed(now: number, rate = NaN, from = NaN): void {
    [this.lastRaiseAt, this.raiseRate, this.probeFrom] = [now, rate, from];
  }

  /**
   * Records an actual gear move of this loop (dwell bookkeeping works on gears, not on the continuous allowance).
   * @param from  for a raise, the level before it, where its failed probe goes back to (NaN: not undone, as the
   *   process's raise of its limit, a permission whose probe is the climb that follows)
   */
  moved(direction: number, now: number, lim: AllowanceLimits, rate = NaN, from = NaN): void {
    if (direction < 0) {
      // The rate is of completions: at a cut a backlog draining inflates it, and a later reading at the same offered
      // load then looked like a drop of a third and reset the back-off (waits of 6, 12, 21, then 11 s at a constant
      // 2x load). The smoothed rate, when lower, stands for the offered load.
      this.cutRate = this.rateAvg < rate ? this.rateAvg : rate;
      // A raise is a probe until it has held four dwells (when it halves the dwell back); a cut before then failed
      // it. Until the twenty-fourth session only a cut within two dwells did, and a probe one step past a critical
      // load, whose queue grows slowly, failed after 13 s with the dwell at 5 s and let the next probe come sooner.
      if (this.probing(now, rate)) this.dwell = Math.min(lim.maxDwellMs, Math.max(lim.dwellMs, this.dwell * 2));
      this.lastCutAt = now;
    } else if (direction > 0) {
      if (now - this.lastCutAt > HELD_DWELLS * this.dwell) this.dwell = Math.max(lim.dwellMs, this.dwell / 2);
      [this.lastRaiseAt, this.raiseRate, this.probeFrom] = [now, rate, from];
    }
    this.lastMove = direction;
  }
}
