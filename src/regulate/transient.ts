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
import type { GoalLoop } from './pid.js';

/** Weight of the newest calm reading in the calm request rate, and in the calm slowness when it is lower. */
const CALM_SMOOTHING = 0.3;
/**
 * Weight of a calm reading slower than the calm slowness: a slowdown that builds over a few readings before its first
 * cut (a dependency getting slow) must not raise the baseline it is judged against, and a lasting one still does.
 */
const SLOWER_SMOOTHING = 0.05;
/** The config's `regulator.transients`. */
export interface TransientOptions {
  /** Off: every cut climbs back at the careful rate after its dwell, as before the twenty-ninth session. */
  readonly giveBack: boolean;
  /**
   * How much slower than the calm readings the clean reading's requests may run, for their cost, for the cut to be a
   * transient's (1.5 by default). In the simulator the reading after a stall ran 1.39× the calm slowness (a window
   * that still held some of the stall's backlog), the reading after a cut for a slow dependency 1.8×. A service with a
   * large fixed cost per request (its service time does not shrink with its gears) reads slower after any cut, and
   * may need more.
   */
  readonly maxSlower: number;
}

export class TransientCut {
  /** The allowance before the episode's first cut (NaN: no episode under way). */
  private from = NaN;
  /** When the episode's first cut was made. */
  private since = -Infinity;
  /** The request rate of the calm readings (no goal violated, no episode), smoothed (NaN: none yet). */
  private calmRate = NaN;
  /** The calm readings' median response time per unit of cost, smoothed (NaN: none, or not measured). */
  private calmSlowness = NaN;

  /**
   * A reading with no goal violated: outside an episode, its rate is the load the gears serve, and `slowness` (its
   * median response time over the gears' cost; NaN for the process, which has no response time) how fast they serve it.
   */
  calm(rate: number, slowness = NaN): void {
    if (!Number.isNaN(this.from)) return;
    if (rate >= 0) this.calmRate = Number.isNaN(this.calmRate) ? rate : this.calmRate + CALM_SMOOTHING * (rate - this.calmRate);
    if (slowness >= 0 && slowness < Infinity) {
      const w = slowness > this.calmSlowness ? SLOWER_SMOOTHING : CALM_SMOOTHING;
      this.calmSlowness = Number.isNaN(this.calmSlowness) ? slowness : this.calmSlowness + w * (slowness - this.calmSlowness);
    }
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
   * The process gave back its cut for a transient, and its limit had taken the allowance down from `level`: an
   * episode of this loop's own, whatever its goals did (the process judged the load and the transient).
   */
  adopt(level: number, now: number): void {
    if (!(this.from >= level)) [this.from, this.since] = [level, Number.isNaN(this.from) ? now : this.since];
  }

  /**
   * The level to go back to now, or NaN. `clear`: every goal that reads is below its band on this reading alone (not
   * its smoothed pressure, which still holds the spike); `slowness`: its median response time over the cost of the
   * gears that served it, which must be within `options.maxSlower` of the calm one (a plant whose service time grows with cost: the gears
   * before the cut would serve these requests as the calm readings were served; a dependency that stays slow fails
   * it). The caller ends the episode once the give-back is made (a
   * process goal in its band may veto it for a while); it ends here when give-backs are switched off, when the load has grown by a third (an overload:
   * a lull in it is no sign of a transient), when the allowance is back anyway, and past `horizonMs`, when the
   * ordinary climb has had its time.
   */
  due(u: number, now: number, rate: number, clear: boolean, horizonMs: number, options: TransientOptions, slowness = NaN): number {
    if (Number.isNaN(this.from)) return NaN;
    if (!options.giveBack || u >= this.from || now - this.since > horizonMs || loadGrew(rate, this.calmRate)) return this.end();
    if (!Number.isNaN(this.calmSlowness) && !(slowness <= options.maxSlower * this.calmSlowness)) return NaN;
    return clear ? this.from : NaN;
  }

  /**
   * The give-back is made: ends the episode, and `loops` forget the spike (their smoothed pressure still held it, and
   * would cut again).
   */
  given(loops: readonly GoalLoop[]): void {
    this.end();
    for (const l of loops) l.forgetSpike();
  }

  /** Ends the episode: given back, or forgotten. */
  end(): number {
    this.from = NaN;
    return NaN;
  }

  /**
   * Takes the calm readings of the loop this one replaces (a reload), and with `episode` the episode under way: a
   * scene's level is a share of its own top cost, as the level a failed probe goes back to is, which a reload carries
   * too (a give-back on gears the reload re-costed is a raise that fails as a probe if it does not fit). A service
   * that reloads every few seconds otherwise climbed back a step a tick after every stall that came before a reload.
   */
  carryFrom(old: TransientCut, episode: boolean): void {
    [this.calmRate, this.calmSlowness] = [old.calmRate, old.calmSlowness];
    if (episode) [this.from, this.since] = [old.from, old.since];
  }
}
