/**
 * One scene's control step: read its goals, let the most conservative proposal move the cost allowance, then walk
 * the ladder until the gears fit the allowance and the limits (floors, caps, pins, the process-wide ladder, boost).
 * Also drives the scene's tidal boost (boost.ts) and shedding (shedding.ts); its reports' state is scene-state.ts.
 * Runs on the regulator's tick only.
 */
import type { RegulatorMode } from '../config/schema-regulate.js';
import { Allowance, type AllowanceLimits, HELD_DWELLS } from './allowance.js';
import { TidalBoost } from './boost.js';
import type { ChangeReason, GearChange, GoalReport, SceneReport, ServedState } from './events.js';
import { type Goal, readScene } from './goals.js';
import type { Ladder } from './ladder.js';
import { LiveScene } from './live.js';
import { carriedByKind, GoalLoop, isTight, type LawOptions, readingsClear, type Terms } from './pid.js';
import { costOf, type Point, valueOf } from './points.js';
import { SceneState } from './scene-state.js';
import { type ShedOptions, Shedding } from './shedding.js';
import type { SceneSignals } from './signals.js';
import { TransientCut, type TransientOptions } from './transient.js';

export interface StepContext {
  readonly now: number;
  readonly wall: number;
  readonly mode: RegulatorMode;
  readonly law: LawOptions;
  readonly limits: AllowanceLimits;
  readonly fast: boolean;
  /** Counts fast-recovery windows, so a scene can leave the current one alone. */
  readonly fastEpoch: number;
  readonly fastMaxUp: number;
  readonly boost: { readonly enabled: boolean; readonly holdMs: number; readonly maxCost: number };
  readonly shed: ShedOptions;
  readonly transients: TransientOptions;
  /** Per point id: the highest gear the process-wide ladder allows (null without process goals). */
  readonly processLimit: Int32Array | null;
  /** A process goal is in its band or over it: no scene may raise. */
  readonly processHold: boolean;
  /** A process goal is in the top quarter of its band or over it: boosts end. */
  readonly processTight: boolean;
  /** The least factor by which the process's load may grow before a process goal leaves its headroom. */
  readonly processRoom: number;
  /** Process goals are violated, and not yet easing, with every scene at its floor: shed what may be shed. */
  readonly processShed: boolean;
  /** The process gave back a cut made for a transient this tick: what its limit took is the scene's to give back. */
  readonly processGaveBack: boolean;
  readonly change: (c: GearChange) => void;
  readonly event: (kind: 'boost' | 'shed', scene: string, engaged: boolean, share: number) => void;
}

export class SceneLoop {
  readonly live: LiveScene;
  /** The gears the loop controls: the live ones, except in shadow mode. */
  readonly gears: Int32Array;
  readonly lower: Int32Array;
  readonly upper: Int32Array;
  /** Operator caps (max gear) and pins (−1 = none). */
  readonly caps: Int32Array;
  readonly pins: Int32Array;
  readonly topCost: number;
  readonly topValue: number;
  loops: GoalLoop[];
  /** The most samples any of its goals needs: what a tick asks its signal source for. */
  minSamples = 1;
  allowance: Allowance;
  readonly boost = new TidalBoost();
  private readonly transient = new TransientCut();
  readonly shedding = new Shedding();
  /**
   * The allowance something took from the scene (a cap, the process ladder, a boost's end, a template, its own goals'
   * cuts), NaN when nothing is owed. Given back at the careful rate while no goal of the scene has data: its goals
   * would raise it on headroom, but a scene with too few requests to read never sees any, and stayed cut for good.
   */
  private owed = NaN;
  /** The allowance before the process's limit last cut it, until it is back there (NaN: none): see TransientCut. */
  private processFrom = NaN;
  /**
   * No request in its window at its last control step (or none read yet): cutting its gears saves the process
   * nothing, so the process loop's cuts pass over its steps (scene-set.ts, `heldPosition`).
   */
  idle = true;
  /** The fast-recovery window this scene left: a cut inside the window means the peak is not over here. */
  private fastLeft = -1;
  private readonly boostCost: number;
  private readonly state: SceneState;

  constructor(
    readonly id: string,
    readonly points: readonly Point[],
    readonly rtBudgetMs: number,
    readonly sheddable: boolean,
    goals: readonly Goal[],
    private readonly ladder: Ladder,
    dwellMs: number,
  ) {
    this.live = new LiveScene(id, points);
    this.gears = Int32Array.from(this.live.gears);
    this.lower = Int32Array.from(points, (p) => p.floor);
    this.upper = Int32Array.from(points, (p) => p.top);
    this.caps = Int32Array.from(points, (p) => p.boostTop);
    this.pins = new Int32Array(points.length).fill(-1);
    this.topCost = costOf(points, this.upper) || 1;
    this.topValue = valueOf(points, this.upper) || 1;
    this.boostCost = costOf(points, Int32Array.from(points, (p) => p.boostTop));
    this.state = new SceneState(points, this.topValue, this.topCost);
    this.loops = goals.map((g) => new GoalLoop(g));
    this.minSamples = goals.reduce((m, g) => Math.max(m, g.minSamples), 1);
    this.allowance = new Allowance(costOf(points, this.gears) / this.topCost, dwellMs);
  }

  /**
   * Takes the control state of the loop this one replaces in a reload (the same scene): what the snapshot does not
   * hold. Without it every reload restarted the dwell after a cut, the boost's hold and what a cap owes back, so a
   * service that reloads every minute never boosted and a cap lifted after a reload left a quiet scene at its floor.
   */
  carryFrom(old: SceneLoop, limits: AllowanceLimits): void {
    // `idle` too: the process step runs before the scenes read their traffic, and a new loop counted idle made the
    // first process cut after every reload pass over the busy scenes (a cut that saved nothing). Whether it left the
    // fast-recovery window is in the snapshot (`fastLeft`), which the reload restores.
    [this.owed, this.idle, this.processFrom] = [old.owed, old.idle, old.processFrom];
    this.boost.carryFrom(old.boost);
    this.transient.carryFrom(old.transient, true);
    this.allowance.carryFrom(old.allowance, limits);
    carriedByKind(this.loops, old.loops);
  }

  /** New goals keep the smoothed reading of a goal of the same kind. */
  setGoals(goals: readonly Goal[]): void {
    this.minSamples = goals.reduce((m, g) => Math.max(m, g.minSamples), 1);
    const old = new Map(this.loops.map((l) => [l.goal.kind, l]));
    this.loops = goals.map((g) => {
      const l = new GoalLoop(g);
      const prev = old.get(g.kind);
      if (prev && !Number.isNaN(prev.pressure)) l.restore(prev.pressure);
      return l;
    });
  }

  /** Whether a cut inside the fast-recovery window `epoch` took this scene out of it (for snapshots). */
  leftFast(epoch: number): boolean {
    return this.fastLeft === epoch;
  }

  /** Restores `leftFast` for the window `epoch` (a restored window is a new epoch: no stale one can match it). */
  restoreFastLeft(left: boolean, epoch: number): void {
    this.fastLeft = left ? epoch : -1;
  }

  get boosted(): boolean {
    return this.boost.engaged;
  }

  atTop(): boolean {
    for (let i = 0; i < this.points.length; i++) if (this.gears[i]! < Math.min(this.points[i]!.top, this.upper[i]!)) return false;
    return true;
  }

  /** Sets a gear directly (templates, restore), keeping the allowance in step so control resumes from there. */
  setGear(slot: number, gear: number, reason: ChangeReason, ctx: Pick<StepContext, 'wall' | 'mode' | 'change'>, applied: boolean): void {
    const p = this.points[slot]!;
    const to = Math.max(0, Math.min(p.boostTop, gear));
    if (to === this.gears[slot]) return;
    this.emit(slot, to, reason, undefined, undefined, ctx, applied);
    const before = this.allowance.u;
    this.allowance.u = this.allowanceOfGears();
    // A template is a limit too: what it took is owed back to a scene whose goals cannot read (see `owed`).
    if (reason === 'template') this.oweBack(before);
  }

  /** Remembers that the allowance stood at `level` before something cut it, unless more is owed already. */
  private oweBack(level: number): void {
    if (this.allowance.u < level && !(this.owed >= level)) this.owed = level;
  }

  /** The allowance the current gears take: control resumes from it after gears were set from outside. */
  allowanceOfGears(): number {
    return (costOf(this.points, this.gears) - this.pinnedExtra()) / this.topCost;
  }

  /**
   * What pins above a normal top add to the scene's cost. The operator chose it, so it lies outside the allowance: a
   * point pinned to a boost gear does not make the scene's other points pay for it (they were cut, and with no goal
   * reading never climbed back).
   */
  private pinnedExtra(): number {
    let extra = 0;
    for (let i = 0; i < this.points.length; i++) {
      const p = this.points[i]!;
      const pin = this.pins[i]!;
      if (pin > p.top) extra += p.cost[pin]! - p.cost[p.top]!;
    }
    return extra;
  }

  step(s: SceneSignals | undefined, ctx: StepContext): SceneReport {
    const applied = ctx.mode !== 'shadow';
    const control = ctx.mode === 'auto' || ctx.mode === 'shadow';
    const terms: Terms[] = [];
    let win = -1;
    if (control) {
      this.idle = !(s !== undefined && s.count > 0);
      for (let g = 0; g < this.loops.length; g++) {
        const loop = this.loops[g]!;
        const t = loop.step(readScene(loop.goal, s, this.rtBudgetMs), ctx.law, this.allowance.lastMove);
        terms.push(t);
        if (t.status !== 'no_data' && (win < 0 || t.delta < terms[win]!.delta)) win = g;
      }
    }
    const known = terms.filter((t) => t.status !== 'no_data');
    const violated = known.some((t) => t.status === 'violated');
    // Every goal that reads shows headroom (none in its band or over it): shedding drains; with every goal reading, a boost may engage.
    const calm = known.every((t) => t.status === 'headroom');
    const allHeadroom = calm && known.length > 0 && known.length === terms.length;
    if (control) this.updateBoost(terms, allHeadroom, ctx);
    this.updateLimits(ctx.processLimit, ctx.boost.maxCost);

    let fast = ctx.fast && this.fastLeft !== ctx.fastEpoch;
    let givenBack = false;
    if (control) {
      const lo = (costOf(this.points, this.lower) - this.pinnedExtra()) / this.topCost;
      const hi = this.ceiling(ctx.boost.maxCost);
      const rate = s?.rate ?? NaN;
      let delta = win < 0 ? 0 : terms[win]!.delta;
      // No goal reads (too few requests): what a limit or the goals took is given back at the careful rate; the dwell
      // after a cut still gates it, and a process hold vetoes it below.
      if (win < 0 && this.owed > this.allowance.u) delta = Math.min(ctx.limits.maxUp, this.owed - this.allowance.u);
      // How slowly the gears serve: the median response time per unit of their cost (the cost they had while the
      // reading's requests were served, before this tick moves them).
      const slowness = (s?.p50 ?? NaN) / this.allowanceOfGears();
      if (known.length > 0 && !violated) this.transient.calm(rate, slowness);
      // The scenes climb under a process limit at their own pace: after the process's give-back, one move as well,
      // to where its limit took them from (not what their own goals cut: that is theirs to judge).
      if (ctx.processGaveBack && this.processFrom > this.allowance.u) this.transient.adopt(this.processFrom, ctx.now);
      if (ctx.processGaveBack || !(this.processFrom > this.allowance.u)) this.processFrom = NaN;
      // Clear: every goal that reads is below its band on this reading alone; a scene too quiet to read takes the
      // process's word for it.
      const clear = known.length > 0 ? readingsClear(this.loops, terms, ctx.law, this.allowance.lastMove) : ctx.processGaveBack;
      const back = this.transient.due(this.allowance.u, ctx.now, rate, clear, HELD_DWELLS * ctx.limits.dwellMs, ctx.transients, known.length > 0 ? slowness : NaN);
      if (back > this.allowance.u) [delta, givenBack] = [back - this.allowance.u, true];
      if (fast && delta < 0) [fast, this.fastLeft] = [false, ctx.fastEpoch];
      // A give-back is one move, past the dwell (see TransientCut).
      const lim = givenBack ? { ...ctx.limits, maxUp: delta } : fast ? { ...ctx.limits, maxUp: ctx.fastMaxUp } : ctx.limits;
      // Fast recovery raises by what the headroom says the load can take (this scene's goals and the process's, on a
      // plant whose pressure grows with cost), up to its larger step, and never by less than the careful rate. It
      // added its full step on any headroom until the twentieth session: at 20:01 in the preset scenario, under 10x
      // load, the process at 0.57 of its 0.6375 edge, it took the scene's cost from 0.12 to 0.32 and ran 2 s over budget.
      if (fast && delta > 0) delta = Math.max(Math.min(delta, ctx.limits.maxUp), Math.min(lim.maxUp, this.allowance.u * (this.room(terms, ctx) - 1)));
      // Most conservative wins across levels too: a process goal in its band or over it vetoes every raise, and so
      // does shedding: it is the last resort, undone before any gear climbs (until the nineteenth session gears
      // climbed while it drained, refusing requests with every point above its floor).
      if ((ctx.processHold || this.shedding.active) && delta > 0) delta = 0;
      // A cut starts from what the gears take: an allowance left up to a step above them by a climb that stalled
      // must not be integrated away first (it held a sustained violation for 10 ticks instead of 2).
      if (delta < 0) this.allowance.u = Math.min(this.allowance.u, Math.max(lo, this.allowanceOfGears()));
      const before = this.allowance.u;
      // Whether the level the goals cut from had held: no probe under way, and no cut of the loop's own just before.
      const held = this.allowance.held(ctx.now, rate);
      const moved = this.allowance.propose(delta, ctx.now, lim, fast || givenBack, rate, lo, hi);
      if (moved < 0 && violated) this.transient.cut(before, ctx.now, held, rate);
      givenBack &&= moved > 0; // or held, by a process goal in its band or by shedding: the episode waits
      if (givenBack) this.transient.given(this.loops);
      // A cut by the goals is owed back too, should the scene go quiet (traffic below its goals' minSamples): until
      // the nineteenth session a scene cut in a burst whose traffic then fell that low stayed cut for good.
      if (win >= 0) this.oweBack(before);
      if (this.allowance.u >= this.owed) this.owed = NaN;
    }
    this.enforceLimits(ctx, applied);
    // Only the loop's own walk counts as its move for the dwell: a cut a limit made (a cap, the process ladder, a
    // boost's end) is no failed probe of the scene's edge. Until the twentieth session it was counted, and after the
    // process had probed its own edge for a few minutes the scene's dwell stood at its 60-s maximum.
    const before = this.direction();
    const costBefore = this.allowanceOfGears();
    if (control) this.follow(ctx, givenBack ? 'transient' : fast ? 'fast_recovery' : 'headroom', applied, win < 0 ? undefined : this.loops[win]!.goal, win < 0 ? undefined : terms[win]);
    const moved = this.direction() - before;
    if (moved !== 0) this.allowance.moved(Math.sign(moved), ctx.now, ctx.limits, s?.rate ?? NaN, costBefore);
    if (control) this.updateShedding(calm, terms, ctx);
    else this.stopShedding(ctx); // fixed and frozen ignore the goals, and so shed nothing
    if (applied) this.publish(ctx);
    return this.report(terms);
  }

  /**
   * The operator's limits changed (caps, pins): gears that break them move now, as a tick would move them, so that a
   * cap set in an emergency holds from the next request, not from the next tick.
   */
  applyLimits(ctx: StepContext): void {
    const applied = ctx.mode !== 'shadow';
    this.updateLimits(ctx.processLimit, ctx.boost.maxCost);
    this.enforceLimits(ctx, applied);
    if (applied) this.publish(ctx);
  }

  /** The least room of the scene's goals that read and the process's: how far the scene's load may grow. */
  private room(terms: readonly Terms[], ctx: StepContext): number {
    let room = ctx.processRoom;
    for (let i = 0; i < terms.length; i++) if (terms[i]!.status !== 'no_data') room = Math.min(room, this.loops[i]!.room(ctx.law, this.allowance.lastMove));
    return room;
  }

  /** Sum of gears: its change over a tick tells the net direction of the moves. */
  private direction(): number {
    let n = 0;
    for (let i = 0; i < this.gears.length; i++) n += this.gears[i]!;
    return n;
  }

  private updateBoost(terms: readonly Terms[], allHeadroom: boolean, ctx: StepContext): void {
    // A boost engaged before a reload switched it off or took the scene's boost gears away ends here (the gear goes
    // with `boost_release` in updateLimits/enforceLimits): until the twenty-second session it stayed engaged for good,
    // in its boost gear, and came back engaged with the boost gears of a later reload.
    if (!ctx.boost.enabled || this.boostCost <= this.topCost) {
      if (this.boost.cancel()) ctx.event('boost', this.id, false, 0);
      return;
    }
    const ready = allHeadroom && !ctx.processHold && this.points.every((p, i) => this.gears[i]! >= p.top);
    // Headroom shrinking (into the top quarter of a band) drops the boost at once: boost gears are the first to go.
    // Not earlier: a thin night window's p99 is noisy, and a boost that flaps is no boost.
    const tight = ctx.processTight || terms.some((t, i) => isTight(t, this.loops[i]!.goal.band));
    const moved = this.boost.update(ready, tight, ctx.now, ctx.boost.holdMs);
    if (moved !== 0) ctx.event('boost', this.id, moved > 0, 0);
  }

  private updateLimits(processLimit: Int32Array | null, boostMaxCost: number): void {
    let processBinds = false;
    for (let i = 0; i < this.points.length; i++) {
      const p = this.points[i]!;
      let hi = Math.min(this.boosted ? p.boostTop : p.top, this.caps[i]!);
      if (processLimit && processLimit[p.id]! < hi) [hi, processBinds] = [processLimit[p.id]!, true];
      let lo = Math.min(p.floor, hi);
      if (this.pins[i]! >= 0) lo = hi = this.pins[i]!;
      this.lower[i] = lo;
      this.upper[i] = hi;
    }
    // The allowance never sits above what the limits allow (anti-windup when a cap or the process binds); what they
    // took is owed back to the loop (see `owed`).
    const ceiling = this.ceiling(boostMaxCost);
    if (this.allowance.u > ceiling) {
      if (!(this.owed >= this.allowance.u)) this.owed = this.allowance.u;
      if (processBinds && !(this.processFrom >= this.allowance.u)) this.processFrom = this.allowance.u;
      this.allowance.u = ceiling;
    }
  }

  /** Highest allowance: what the upper limits cost, and never past the boost ceiling (or the normal top unboosted). */
  private ceiling(boostMaxCost: number): number {
    return Math.min((costOf(this.points, this.upper) - this.pinnedExtra()) / this.topCost, this.boosted ? boostMaxCost : 1);
  }

  private enforceLimits(ctx: StepContext, applied: boolean): void {
    for (let i = 0; i < this.points.length; i++) {
      const g = this.gears[i]!;
      if (g > this.upper[i]!) this.emit(i, this.upper[i]!, this.limitReason(i), undefined, undefined, ctx, applied);
      else if (g < this.lower[i]!) this.emit(i, this.lower[i]!, this.pins[i]! >= 0 ? 'pin' : 'cap', undefined, undefined, ctx, applied);
    }
  }

  private limitReason(i: number): ChangeReason {
    if (this.pins[i]! >= 0) return 'pin';
    if (this.upper[i] === this.caps[i]) return 'cap';
    if (!this.boosted && this.gears[i]! > this.points[i]!.top) return 'boost_release';
    return 'process';
  }

  /** Walks the ladder: down while over the allowance, up while the next step fits, a raise given `up` as its reason. */
  private follow(ctx: StepContext, up: 'headroom' | 'fast_recovery' | 'transient', applied: boolean, goal: Goal | undefined, t: Terms | undefined): void {
    const budget = (this.allowance.u * this.topCost + this.pinnedExtra()) * (1 + 1e-9);
    let cost = costOf(this.points, this.gears);
    while (cost > budget) {
      const i = this.ladder.nextDown(this.points, this.gears, this.lower);
      if (i < 0) break;
      const p = this.points[i]!;
      cost -= p.cost[this.gears[i]!]! - p.cost[this.gears[i]! - 1]!;
      // A boost gear walked down while the scene is still boosted: no goal asked (a violated or tight goal would have
      // ended the boost first), the boost ceiling did (a reload that lowered boost.maxCost).
      if (this.gears[i]! > p.top) this.emit(i, this.gears[i]! - 1, 'boost_release', undefined, undefined, ctx, applied);
      else this.emit(i, this.gears[i]! - 1, 'violated', goal, t, ctx, applied);
    }
    for (;;) {
      const i = this.ladder.nextUp(this.points, this.gears, this.upper);
      if (i < 0) break;
      const p = this.points[i]!;
      const step = p.cost[this.gears[i]! + 1]! - p.cost[this.gears[i]!]!;
      if (cost + step > budget) break;
      cost += step;
      const to = this.gears[i]! + 1;
      this.emit(i, to, to > p.top ? 'boost' : up, goal, t, ctx, applied);
    }
  }

  private updateShedding(calm: boolean, terms: readonly Terms[], ctx: StepContext): void {
    let atFloor = true;
    for (let i = 0; i < this.points.length; i++) if (this.gears[i]! > this.lower[i]!) atFloor = false;
    // A violated goal whose pressure already falls sheds no more: the backlog the last steps left drains for a few
    // seconds, and until the twenty-fourth session every such tick shed another step (beyond the floor: 0.4 where
    // 0.2 did, then held by the band).
    const worsening = this.loops.some((l) => l.worsening);
    const reading = { atFloor, worsening, processShed: ctx.processShed, calm, processHold: ctx.processHold, room: () => this.room(terms, ctx) };
    if (this.shedding.update(reading, this.sheddable, ctx.shed)) this.shedEvent(ctx);
  }

  /**
   * Stops at once what may no longer be shed: after a reload that switched shedding off, lowered its maxShare
   * (`maxShare`) or made the scene's priority one that may not be, and on entering a mode that ignores the goals.
   * Until the twenty-first session that waited for the next tick, up to `periodMs`, while requests kept being refused.
   */
  settleShedding(ctx: StepContext, applied: boolean, maxShare = 1): void {
    const off = !ctx.shed.enabled || ctx.mode === 'fixed' || ctx.mode === 'frozen';
    if (off ? this.shedding.stop() : this.shedding.bound(this.sheddable, maxShare)) this.shedEvent(ctx);
    if (applied) [this.live.shedShare, this.live.shedLoadTest] = [this.shedding.share, this.shedding.loadTest];
  }

  private stopShedding(ctx: StepContext): void {
    if (this.shedding.stop()) this.shedEvent(ctx);
  }

  private shedEvent(ctx: StepContext): void {
    ctx.event('shed', this.id, this.shedding.loadTest, this.shedding.share);
  }

  /** A gear within the current limits (caps, pins, the boost gate, the process ladder). */
  withinLimits(slot: number, gear: number): number {
    return Math.max(this.lower[slot]!, Math.min(this.upper[slot]!, gear));
  }

  private publish(ctx: StepContext): void {
    this.live.upper.set(this.upper);
    this.live.shedLoadTest = this.shedding.loadTest;
    this.live.shedShare = this.shedding.share;
    this.live.retryAfterS = ctx.shed.retryAfterS;
    this.publishGears();
  }

  /** Copies the gears to the live state requests read, with what derives from them (degraded, the DCAF price). */
  publishGears(): void {
    const live = this.live;
    live.gears.set(this.gears);
    let degraded = false;
    for (let i = 0; i < this.points.length; i++) if (this.gears[i]! < this.points[i]!.top) degraded = true;
    live.degraded = degraded;
    const next = this.ladder.nextDown(this.points, this.gears, this.lower);
    live.lambda = next < 0 ? 0 : this.ladder.steps[this.ladder.rankOf(this.points[next]!, this.gears[next]!)]?.benefit ?? 0;
  }

  private emit(slot: number, to: number, reason: ChangeReason, goal: Goal | undefined, t: Terms | undefined, ctx: Pick<StepContext, 'wall' | 'mode' | 'change'>, applied: boolean): void {
    const p = this.points[slot]!;
    const from = this.gears[slot]!;
    this.gears[slot] = to;
    ctx.change({
      at: ctx.wall, scene: this.id, point: p.name, from, to, fromGear: p.gears[from], toGear: p.gears[to], reason,
      ...(goal && t ? { goal: goal.kind, measured: t.measured, target: goal.target, band: goal.band, terms: t } : {}),
      allowance: this.allowance.u, applied, mode: ctx.mode,
    });
  }

  report(terms: readonly Terms[] = []): SceneReport {
    const goals: GoalReport[] = this.loops.map((l, i) => {
      const t = terms[i];
      return { goal: l.goal.kind, status: t?.status ?? 'no_data', measured: t?.measured ?? NaN, pressure: t?.pressure ?? NaN, target: l.goal.target, band: l.goal.band };
    });
    const st = this.state.reported(this.gears, this.lower, this.boosted, this.shedding.share, this.shedding.loadTest);
    return {
      scene: this.id, goals, allowance: this.points.length === 0 ? 1 : this.allowance.u, atTop: this.atTop(), gears: st.gears, value: st.value, cost: st.cost,
      degraded: st.degraded, atFloor: st.atFloor, boosted: st.boosted, shedShare: st.shedShare, shedLoadTest: st.shedLoadTest,
    };
  }

  /**
   * What requests get now: the live gears and shedding (`boosted`: a point serves a boost gear). The same as
   * `report()`'s but in shadow mode, where the report is what was computed and never applied.
   */
  served(): ServedState {
    const g = this.live.gears;
    return this.state.of(g, this.lower, this.points.some((p, i) => g[i]! > p.top), this.live.shedShare, this.live.shedLoadTest);
  }
}
