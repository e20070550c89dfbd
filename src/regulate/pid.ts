/**
 * The control law of one goal: a discrete PID in velocity form on the goal's relative error. Velocity form because
 * each goal only *proposes* a change of the shared cost allowance and the most conservative proposal wins; the
 * allowance itself is the integrator, clamped to what the gears can do, so no goal's integral can wind up behind
 * another's back. Inside the band the error is zero and the loop holds still (no proportional kick on re-entry).
 */
import type { Goal, Reading } from './goals.js';

export interface LawOptions {
  readonly kp: number;
  readonly ki: number;
  readonly kd: number;
  readonly smoothing: number;
  readonly maxError: number;
  readonly hysteresis: number;
}

export type GoalStatus = 'violated' | 'in_band' | 'headroom' | 'no_data';

export interface Terms {
  readonly status: GoalStatus;
  /** The raw reading of this tick (a timeout rate, an RT in ms, …). */
  readonly measured: number;
  /** Smoothed pressure (measured / target). */
  readonly pressure: number;
  readonly error: number;
  readonly p: number;
  readonly i: number;
  readonly d: number;
  /** Proposed change of the cost allowance (the negated sum of the terms). */
  readonly delta: number;
}

/** Violated, or in the top quarter of its band: headroom is shrinking, and a boost ends (scene and process goals alike). */
export const isTight = (t: Terms, band: number): boolean => t.status === 'violated' || (t.status !== 'no_data' && t.pressure > 1 - band / 4);

const NO_DATA: Terms = { status: 'no_data', measured: NaN, pressure: NaN, error: 0, p: 0, i: 0, d: 0, delta: 0 };

/**
 * Whether at least one goal read on this tick (`statuses[i]` is loop i's) and every one that did is below where its
 * headroom begins on its last reading alone: the clean reading a cut for a transient is given back on.
 */
export function readingsClear(loops: readonly GoalLoop[], statuses: readonly { readonly status: GoalStatus }[], law: LawOptions, lastMove: number, narrow = false): boolean {
  let read = false;
  for (let i = 0; i < loops.length; i++) {
    if (statuses[i]!.status === 'no_data') continue;
    if (!loops[i]!.clear(law, lastMove, narrow)) return false;
    read = true;
  }
  return read;
}

/** `loops`, each with the state of the loop of the same goal kind in `old` (a reload may change its target). */
export function carriedByKind(loops: GoalLoop[], old: readonly GoalLoop[]): GoalLoop[] {
  const byKind = new Map(old.map((l) => [l.goal.kind, l]));
  for (const l of loops) {
    const prev = byKind.get(l.goal.kind);
    if (prev) l.carryFrom(prev);
  }
  return loops;
}

export class GoalLoop {
  private smoothed = NaN;
  private e1 = 0;
  private e2 = 0;
  /** The `sample` of the last reading taken in (NaN: none, or a source that does not number them). */
  private lastSample = NaN;
  /** The value the last reading taken in measured. */
  private measured = NaN;
  /** The pressure of the last reading taken in, clipped as it is before smoothing (NaN: none). */
  raw = NaN;
  /**
   * The last reading taken in lowered the smoothed pressure: what was done before it is already showing (read by
   * `worsening`, which shedding acts on).
   */
  easing = false;
  /**
   * This tick took in a new reading, violated, that did not lower the smoothed pressure: what shedding acts on. Not on
   * a tick that re-reads a sample already taken in: at a 200-ms period on 1-s ELU samples every such tick shed
   * another step, half the maximum share per sample, until the twenty-sixth session.
   */
  worsening = false;
  constructor(readonly goal: Goal) {}

  /** Takes the state of the loop this one replaces (a reload: the same goal, perhaps with a new target). */
  carryFrom(old: GoalLoop): void {
    [this.smoothed, this.e1, this.e2] = [old.smoothed, old.e1, old.e2];
    [this.lastSample, this.measured, this.easing, this.raw] = [old.lastSample, old.measured, old.easing, old.raw];
  }

  /**
   * `lastMove` is the direction of the loop's last gear change: after a cut, headroom must clear the band by the
   * hysteresis margin before this goal asks to climb again (a violation always acts at once: down fast).
   */
  step(reading: Reading | undefined, law: LawOptions, lastMove: number, narrow = false): Terms {
    this.worsening = false;
    if (!reading) return NO_DATA;
    // A sample already taken in (a regulator ticking faster than the figure is sampled) keeps its status, and moves
    // nothing: integrated on every tick, one ELU sample of a 1-s period cut five times at a 200-ms period.
    if (reading.sample !== undefined) {
      if (reading.sample === this.lastSample) return this.held(law, lastMove, narrow);
      this.lastSample = reading.sample;
    }
    // A wild window (a backlog draining, 40% timeouts) is clipped before smoothing, or its echo would keep cutting
    // for several ticks after the cause is gone.
    const r = Math.min(reading.pressure, 1 + law.maxError);
    this.measured = reading.measured;
    this.raw = r;
    this.easing = r < this.smoothed;
    this.smoothed = Number.isNaN(this.smoothed) ? r : this.smoothed + law.smoothing * (r - this.smoothed);
    const [status, error] = this.classify(law, lastMove, narrow);
    this.worsening = status === 'violated' && !this.easing;
    if (error === 0) {
      this.e1 = this.e2 = 0;
      return { status, measured: reading.measured, pressure: this.smoothed, error: 0, p: 0, i: 0, d: 0, delta: 0 };
    }
    const e = Math.max(-1, Math.min(law.maxError, error));
    const p = law.kp * (e - this.e1);
    const i = law.ki * e;
    const d = law.kd * (e - 2 * this.e1 + this.e2);
    [this.e2, this.e1] = [this.e1, e];
    // A violated goal never asks for more, a goal with headroom never for less: the P and D terms may slow a move
    // down (the error is already falling) but not turn it around.
    const proposed = -(p + i + d);
    const delta = status === 'violated' ? Math.min(0, proposed) : Math.max(0, proposed);
    return { status, measured: reading.measured, pressure: this.smoothed, error: e, p, i, d, delta };
  }

  /** The status of the smoothed pressure, and its relative error (0 in band). */
  private classify(law: LawOptions, lastMove: number, narrow: boolean): [GoalStatus, number] {
    const lower = this.lowerEdge(law, lastMove, narrow);
    if (this.smoothed > 1) return ['violated', this.smoothed - 1];
    if (this.smoothed < lower) return ['headroom', this.smoothed / lower - 1];
    return ['in_band', 0];
  }

  /** A tick without a new sample: the status the last one gave (edges may have moved since), and no proposal. */
  private held(law: LawOptions, lastMove: number, narrow: boolean): Terms {
    if (Number.isNaN(this.smoothed)) return NO_DATA;
    const [status, error] = this.classify(law, lastMove, narrow);
    return { status, measured: this.measured, pressure: this.smoothed, error, p: 0, i: 0, d: 0, delta: 0 };
  }

  /** Where headroom begins: the band's lower edge, lower still by the hysteresis margin after a cut. */
  lowerEdge(law: LawOptions, lastMove: number, narrow = false): number {
    return (1 - (narrow ? this.goal.band / 2 : this.goal.band)) * (lastMove < 0 ? 1 - law.hysteresis : 1);
  }

  /**
   * How far the load behind this goal could grow before it leaves its headroom, as a factor (Infinity at zero
   * pressure, below 1 without headroom): the bound on a fast-recovery step, on a plant whose pressure grows with cost.
   */
  room(law: LawOptions, lastMove: number, narrow = false): number {
    return this.lowerEdge(law, lastMove, narrow) / this.smoothed;
  }

  /** The last reading alone, unsmoothed, is below where headroom begins. */
  clear(law: LawOptions, lastMove: number, narrow = false): boolean {
    return this.raw < this.lowerEdge(law, lastMove, narrow);
  }

  /** Forgets the smoothed history for the last reading alone (a spike whose cut was given back: see TransientCut). */
  forgetSpike(): void {
    if (!Number.isNaN(this.raw)) this.restore(this.raw);
  }

  /** The smoothed pressure, for snapshots and boost decisions. */
  get pressure(): number {
    return this.smoothed;
  }

  restore(pressure: number): void {
    this.smoothed = pressure;
    this.e1 = this.e2 = 0;
  }
}
