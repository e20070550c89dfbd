/**
 * A cut made for a transient, given back at once. A stall of the whole process (a garbage-collection pause, a
 * synchronous `require`, the host taking the CPU away for half a second) makes one reading of timeouts at a load the
 * gears had been serving, and the goals cut, as they must: one reading cannot tell a stall from an overload. The
 * readings after it can. When the load has not grown since the calm before (not by a third, the shift the dwell
 * reads too) and the next clean reading shows every goal below its band, the gears before the cut are given back in
 * one move instead of climbing back a step a tick after the dwell (in the simulator a 400-ms stall at normal load took
 * the feed scene's cost from 1.0 to 0.47 and left it there 17 s).
 *
 * The give-back is a raise like any other: should the gears before the cut not fit after all (a dependency that
 * became slow and stayed slow, at the same load), the next cut fails it as a probe, undoes it to the cut level and
 * doubles the dwell (see Allowance). One give-back per episode, and only for a level that had held: a cut of a probe
 * is the probe failing, not a transient.
 */
import { loadGrew } from './allowance.js';

/** Weight of the newest calm reading in the calm request rate. */
const CALM_SMOOTHING = 0.3;

export class TransientCut {
  /** The allowance before the episode's first cut (NaN: no episode under way). */
  private from = NaN;
  /** When the episode's first cut was made. */
  private since = -Infinity;
  /** The request rate of the calm readings (no goal violated, no episode), smoothed (NaN: none yet). */
  private calmRate = NaN;

  /** A reading with no goal violated: outside an episode, its rate is the load the gears serve. */
  calm(rate: number): void {
    if (!Number.isNaN(this.from) || !(rate >= 0)) return;
    this.calmRate = Number.isNaN(this.calmRate) ? rate : this.calmRate + CALM_SMOOTHING * (rate - this.calmRate);
  }

  /**
   * The goals cut the allowance from `level`, on a reading at `rate`. Opens an episode when that level had held
   * (`held`: not a probe, no cut just before) at a known calm load the reading has not outgrown by a third (that cut
   * is an overload's); a cut inside an episode keeps its start.
   */
  cut(level: number, now: number, held: boolean, rate: number): void {
    if (!Number.isNaN(this.from) || !held || Number.isNaN(this.calmRate) || loadGrew(rate, this.calmRate)) return;
    [this.from, this.since] = [level, now];
  }

  /**
   * The level to go back to now, or NaN. `clear`: every goal that reads is below its band on this reading alone (not
   * its smoothed pressure, which still holds the spike). The caller ends the episode once the give-back is made (a
   * process goal in its band may veto it for a while); it ends here when the load has grown by a third (an overload:
   * a lull in it is no sign of a transient), when the allowance is back anyway, and past `horizonMs`, when the
   * ordinary climb has had its time.
   */
  due(u: number, now: number, rate: number, clear: boolean, horizonMs: number): number {
    if (Number.isNaN(this.from)) return NaN;
    if (u >= this.from || now - this.since > horizonMs || loadGrew(rate, this.calmRate)) return this.end();
    return clear ? this.from : NaN;
  }

  /** Ends the episode: given back, or forgotten. */
  end(): number {
    this.from = NaN;
    return NaN;
  }

  /** Takes the calm load of the loop this one replaces (a reload), not its episode. */
  carryFrom(old: TransientCut): void {
    this.calmRate = old.calmRate;
  }
}
