/**
 * A scene's shedding, the last resort: with every point at its floor and a goal still violated and not yet easing
 * (or the process's goals so, with every scene at its floor), load-test traffic is refused first, then a growing share
 * of the scene's own traffic if its priority may be shed. It drains only on headroom: the goals' band is its dead band.
 * Runs on the regulator's tick; requests read the result through the scene's LiveScene.
 */

/** The config's `regulator.shedding`, as a tick reads it. */
export interface ShedOptions {
  readonly enabled: boolean;
  readonly step: number;
  readonly maxShare: number;
  readonly retryAfterS: number;
}

/** What a scene's step knows when it updates its shedding. */
export interface ShedReading {
  /** Every point is at its lower limit. */
  readonly atFloor: boolean;
  /** A violated goal of the scene's has not yet eased. */
  readonly worsening: boolean;
  /** The process's goals are violated and not easing, with every scene at its floor. */
  readonly processShed: boolean;
  /** Every goal that reads shows headroom. */
  readonly calm: boolean;
  /** A process goal is in its band or over it. */
  readonly processHold: boolean;
  /** How far the admitted load may grow (the room of the scene's goals and the process's), asked only to drain. */
  readonly room: () => number;
}

export class Shedding {
  /** The share of the scene's own traffic refused. */
  share = 0;
  /** Load-test traffic is refused. */
  loadTest = false;

  get active(): boolean {
    return this.share > 0 || this.loadTest;
  }

  /**
   * One tick: sheds more while `press`, drains on headroom, holds in between; true when something changed. Until the
   * twentieth session it drained on any tick that was not violated, so the share sawed between 0 and 0.35 and load
   * tests flipped in and out every few seconds (84 shed steps a minute beyond the floor in the simulator).
   */
  update(r: ShedReading, sheddable: boolean, o: ShedOptions): boolean {
    if (!o.enabled) return this.stop(); // switched off (a reload): at once, not drained
    const [was, wasLoadTest] = [this.share, this.loadTest];
    if (!sheddable) this.share = 0; // its priority may no longer be shed (a reload)
    if (r.atFloor && (r.worsening || r.processShed)) {
      // Load-test traffic goes first; a scene's own traffic only if its priority may be shed, and only if that was not enough.
      if (!this.loadTest) this.loadTest = true;
      else if (sheddable) this.share = Math.min(o.maxShare, toMillionths(this.share + o.step));
    } else if (r.calm && !r.processHold) {
      // At least half a step a tick, and as much as the headroom says the admitted load may grow: with the process
      // idle and the load a fifth of what it was, the share drained 0.05 a tick and refused most requests for 10 s
      // more (found over real HTTP, twentieth session). Below a millionth is float dust from the steps, not a share:
      // it would keep `shedding` true for a tick.
      if (this.share > 0) {
        const next = Math.min(this.share - o.step / 2, 1 - (1 - this.share) * r.room());
        this.share = next > 1e-6 ? toMillionths(next) : 0;
      } else this.loadTest = false;
    }
    return was !== this.share || wasLoadTest !== this.loadTest;
  }

  /**
   * Brings the share down to what may still be shed: `maxShare` (a reload lowered it), or nothing for a priority
   * that may not be shed. Only a tick that presses again clamped it, and while a goal held in its band it stayed
   * above the new maximum. True when something changed.
   */
  bound(sheddable: boolean, maxShare: number): boolean {
    const most = sheddable ? maxShare : 0;
    if (this.share <= most) return false;
    this.share = most;
    return true;
  }

  /** Sheds nothing from now on; true if it was shedding. */
  stop(): boolean {
    if (!this.active) return false;
    [this.share, this.loadTest] = [0, false];
    return true;
  }
}

/** A share to the millionth: steps of 0.1 added up read 0.30000000000000004 in the `shed` event and the metrics. */
const toMillionths = (share: number): number => Math.round(share * 1e6) / 1e6;
