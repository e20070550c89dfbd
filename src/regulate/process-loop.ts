/**
 * The process-wide loop: goals on shared resources (event-loop delay and utilisation, CPU) move one position on the
 * ladder of every scene's steps, so the lowest marginal benefit anywhere goes first. The position becomes per-point
 * upper limits the scene loops respect; while a process goal is at or over its limit, no scene may raise.
 */
import { Allowance, type AllowanceLimits, HELD_DWELLS } from './allowance.js';
import type { GoalReport } from './events.js';
import { type Goal, readProcess } from './goals.js';
import type { Ladder } from './ladder.js';
import { carriedByKind, GoalLoop, isTight, type LawOptions, readingsClear } from './pid.js';
import type { Point } from './points.js';
import type { ProcessSignals } from './signals.js';
import { TransientCut, type TransientOptions } from './transient.js';

export interface ProcessStep {
  readonly goals: GoalReport[];
  readonly violated: boolean;
  /**
   * A goal is violated, and none took in a new reading that did not lower its pressure: the cuts and shedding already
   * made are showing, or there is no new sample to act on. Shedding waits.
   */
  readonly easing: boolean;
  /** A goal in its band or over it: scenes hold their raises. */
  readonly hold: boolean;
  /** A goal in the top quarter of its band or over it: boosts end. */
  readonly tight: boolean;
  /** The least factor by which a goal's load may grow before it leaves its headroom (Infinity: no reading). */
  readonly room: number;
  /** This tick gave back a cut made for a transient: scenes may give back in one move what it took from them. */
  readonly gaveBack: boolean;
}

/** Without process goals (or outside auto and shadow): nothing holds the scenes. */
export const NO_GOALS: ProcessStep = { goals: [], violated: false, easing: false, hold: false, tight: false, room: Infinity, gaveBack: false };

export class ProcessLoop {
  loops: GoalLoop[];
  readonly allowance: Allowance;
  private readonly transient = new TransientCut();
  /** Per point id: the highest gear the process allows (null without process goals). */
  limit: Int32Array | null;

  /** The ladder's normal steps: the positions a full allowance spans (at least 1). */
  private readonly normalSteps: number;

  constructor(goals: readonly Goal[], private readonly points: readonly Point[], private readonly ladder: Ladder, dwellMs: number) {
    this.normalSteps = ladder.steps.filter((s) => !s.boost).length || 1;
    this.loops = goals.map((g) => new GoalLoop(g));
    this.allowance = new Allowance(1, dwellMs);
    this.limit = this.loops.length > 0 ? Int32Array.from(points, (p) => p.boostTop) : null;
  }

  /**
   * New goals keep the state of a goal of the same kind (smoothed pressure, last sample taken in): a goal-set switch
   * to a set with the same process goal re-integrated the sample the last tick had already cut on, and cut again.
   */
  setGoals(goals: readonly Goal[]): void {
    this.loops = carriedByKind(goals.map((g) => new GoalLoop(g)), this.loops);
    this.limit = this.loops.length > 0 ? (this.limit ?? Int32Array.from(this.points, (p) => p.boostTop)) : null;
  }

  /**
   * Takes the control state of the loop this one replaces in a reload (as `SceneLoop.carryFrom`): the allowance's
   * dwell bookkeeping and the goals' state by kind. Without it every reload forgot the cut it had just made: the
   * sample already acted on was taken in again and cut a second time, and the dwell and hysteresis after a cut were
   * gone, so a cut made a second before a reload was given back at once. The level (`allowance.u`) is the snapshot's.
   */
  carryFrom(old: ProcessLoop, limits: AllowanceLimits): void {
    this.allowance.carryFrom(old.allowance, limits);
    // Where a climb started is a share of the old ladder: on the new one it falls elsewhere, and undoing to it would
    // set gears no goal asked for.
    this.allowance.forgetProbe();
    this.transient.carryFrom(old.transient, false); // its episode's level is a share of the old ladder, as the probe's
    carriedByKind(this.loops, old.loops);
  }

  /**
   * The per-point limits of the allowance as it stands, before a tick computes them: after a reload or a restore
   * set the allowance, requests (a high-value request's DCAF bound) must not see gears the process had cut.
   */
  refreshLimit(): void {
    if (!this.limit) return;
    for (const p of this.points) this.limit[p.id] = p.floor;
    this.ladder.limitsAt(this.position(), this.limit);
  }

  /**
   * @param held  the lowest ladder position that keeps every scene's current gears (`Ladder.positionOf`), asked only
   *   for a cut: before one the allowance comes down to it, so the cut takes a gear that is on. Scene goals may have cut below the
   *   process's position, and a cut spent on positions already off moved nothing for up to 27 ticks of a violated
   *   process goal (the allowance is the integrator: it must not wind up past what the gears do).
   * @param transients  whether, and how, a cut made for a transient is given back (the config's `regulator.transients`)
   * @param rate  the scenes' requests per second together (NaN: unknown), for the dwell's reset on a real load drop
   */
  step(sig: ProcessSignals | undefined, now: number, law: LawOptions, limits: AllowanceLimits, transients: TransientOptions, fast: boolean, held: () => number, rate = NaN): ProcessStep {
    if (!this.limit) return NO_GOALS;
    let delta = Infinity;
    let violated = false;
    let worsening = false;
    let hold = false;
    let tight = false;
    let room = Infinity;
    const lastMove = this.allowance.lastMove;
    const narrow = this.allowance.u < 1;
    const goals = this.loops.map((l) => {
      const t = l.step(readProcess(l.goal, sig), law, lastMove, narrow);
      if (t.status !== 'no_data') [delta, room] = [Math.min(delta, t.delta), Math.min(room, l.room(law, lastMove, narrow))];
      violated ||= t.status === 'violated';
      worsening ||= l.worsening;
      hold ||= t.status === 'violated' || t.status === 'in_band';
      tight ||= isTight(t, l.goal.band);
      return { goal: l.goal.kind, status: t.status, measured: t.measured, pressure: t.pressure, target: l.goal.target, band: l.goal.band };
    });
    // A cut made for a transient (a stall saturates a sample) is given back in one move at the first new sample
    // below the band, at a load not a third above the calm one: see TransientCut. The goals' state is that sample's.
    const known = goals.some((g) => g.status !== 'no_data');
    if (known && !violated) this.transient.calm(rate);
    const back = this.transient.due(this.allowance.u, now, rate, readingsClear(this.loops, goals, law, lastMove, narrow), HELD_DWELLS * limits.dwellMs, transients);
    const gaveBack = back > this.allowance.u;
    if (gaveBack) {
      this.transient.given(this.loops);
      [delta, violated, worsening, hold, tight, room] = [back - this.allowance.u, false, false, false, false, Infinity];
      // The room of the goals that read (a goal without data has none to give: its NaN made every scene's fast-recovery step NaN).
      this.loops.forEach((l, i) => goals[i]!.status !== 'no_data' && (room = Math.min(room, l.room(law, lastMove, narrow))));
    }
    if (delta < 0) this.allowance.u = Math.min(this.allowance.u, held() / this.normalSteps);
    const before = this.position();
    const level = this.allowance.u;
    const wasHeld = this.allowance.held(now, rate);
    // A failed probe (a climb that broke a goal) is undone first, and its echo (ELU stays high while the backlog the
    // climb left drains) is held for a dwell: see Allowance.
    this.allowance.propose(delta === Infinity ? 0 : delta, now, gaveBack ? { ...limits, maxUp: delta } : limits, fast || gaveBack, rate, 0, 1);
    if (this.allowance.u < level && violated) this.transient.cut(level, now, wasHeld, rate);
    const position = this.position();
    if (position !== before) this.allowance.moved(Math.sign(position - before), now, limits, rate);
    this.refreshLimit();
    return { goals, violated, easing: violated && !worsening, hold, tight, room, gaveBack };
  }

  /** Gears went up in this tick from `from` (the position that held them before): the probe of this loop's goals. */
  climbed(now: number, from: number, rate: number): void {
    this.allowance.climbed(now, rate, from / this.normalSteps);
  }

  /**
   * Raises a cut allowance to `position` when it would take steps the gears have on: the allowance is a share of the
   * ladder's normal steps, and on another ladder (a reload that adds, removes or re-costs scenes or points, a
   * snapshot of another config) the same share fell elsewhere, and the next tick cut gears no goal had asked for.
   */
  keep(position: number): void {
    if (this.allowance.u < 1 && this.position() < position) this.allowance.u = Math.min(1, position / this.normalSteps);
  }

  /** Steps on. At a full allowance the boost steps stay reachable too: the scenes' own boost logic gates them. */
  private position(): number {
    return this.allowance.u >= 1 ? this.ladder.steps.length : Math.round(this.allowance.u * this.normalSteps);
  }
}

