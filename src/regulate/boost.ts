/**
 * A scene's tidal boost: after `holdMs` of headroom everywhere at the normal top, the scene may climb into its boost
 * gears; the boost ends at once when headroom shrinks. Two thresholds make the hysteresis: a boost engages only
 * while every goal, the process's too, reads below its band, and ends only when one enters the top quarter of its
 * band (or is violated). And a boost that cannot hold through one `holdMs` was too much for the load: the next one
 * waits twice as long, up to `MAX_BACKOFF` holds, until a boost holds again.
 *
 * Until the twentieth session the process goal ended a boost as soon as it entered its band, the very band the boost
 * had been allowed to grow into: at the simulator's normal load (ELU 0.5 of 0.85) a boost adding a fifth to the load
 * engaged every 2 minutes and was dropped 11–15 s later.
 */
export const MAX_BACKOFF = 8;

export class TidalBoost {
  engaged = false;
  /** When the conditions for a boost began to hold without a break (NaN: they do not hold). */
  private since = NaN;
  /** When the current boost engaged (−∞ when unknown, as after a restore: it counts as one that held). */
  private engagedAt = -Infinity;
  /** The wait before the next boost, in multiples of `holdMs` (1 to MAX_BACKOFF). */
  backoff = 1;

  /** The same scene across a reload: the hold under way, the boost and its back-off carry over. */
  carryFrom(old: TidalBoost): void {
    [this.engaged, this.since, this.engagedAt, this.backoff] = [old.engaged, old.since, old.engagedAt, old.backoff];
  }

  /**
   * A snapshot says whether the scene was boosted and how long the next boost waits; how long it has been boosted, it
   * does not. (Until the twenty-first session the back-off was not in it: a restart, or a restore, let a boost that
   * had failed eight times in a row try again after one hold.)
   */
  restore(engaged: boolean, backoff = 1): void {
    [this.engaged, this.since, this.engagedAt, this.backoff] = [engaged, NaN, -Infinity, backoff];
  }

  /**
   * Ends a boost the config no longer allows (switched off, or the scene's boost gears gone), and any hold under way:
   * a hold resumed after the boost is switched back on would count the time it was off. Not a failed boost, so the
   * back-off stays. Returns whether a boost was engaged.
   */
  cancel(): boolean {
    const was = this.engaged;
    [this.engaged, this.since] = [false, NaN];
    return was;
  }

  /**
   * @param ready  every goal shows headroom, every point is at its normal top and the process is below its band
   * @param tight  a goal (the scene's or the process's) is in the top quarter of its band or violated
   * @returns +1 when the boost engages, −1 when it ends, 0 otherwise
   */
  update(ready: boolean, tight: boolean, now: number, holdMs: number): number {
    if (!this.engaged) {
      if (!ready) {
        this.since = NaN;
        return 0;
      }
      if (Number.isNaN(this.since)) this.since = now;
      if (now - this.since < holdMs * this.backoff) return 0;
      [this.engaged, this.engagedAt] = [true, now];
      return 1;
    }
    if (!tight) return 0;
    this.backoff = now - this.engagedAt < holdMs ? Math.min(MAX_BACKOFF, this.backoff * 2) : 1;
    [this.engaged, this.since] = [false, NaN];
    return -1;
  }
}
