/**
 * The benefit-ordered gear ladder. Every step of every point (gear g−1 → g) gets a rank by marginal benefit
 * (value gained per cost spent): going down removes the on-step of lowest benefit, going up restores the off-step of
 * highest benefit. Benefits of a point are pooled where a later step is worth more than an earlier one (a point can
 * only climb in order), so the order never asks for gear 3 before gear 2. Normal steps rank before boost steps, so
 * boost gears are the last to be added and the first to go; among either, a scene's priority ranks before benefit:
 * the process takes every step of low-priority scenes before one of a normal scene, and a high scene's last. One
 * ranking serves scenes and the process: restricted to a scene (one priority) it is that scene's ladder.
 */
import type { Point } from './points.js';

export interface Step {
  readonly point: Point;
  /** The gear this step reaches. */
  readonly gear: number;
  readonly benefit: number;
  readonly boost: boolean;
}

/** Pool-adjacent-violators over a point's steps: block averages that never increase from one step to the next. */
function pooledBenefits(p: Point): number[] {
  const blocks: { dv: number; dc: number; n: number }[] = [];
  for (let g = p.floor + 1; g <= p.boostTop; g++) {
    blocks.push({ dv: p.value[g]! - p.value[g - 1]!, dc: p.cost[g]! - p.cost[g - 1]!, n: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1]!;
      const a = blocks[blocks.length - 2]!;
      if (ratio(b) <= ratio(a)) break;
      blocks.splice(-2, 2, { dv: a.dv + b.dv, dc: a.dc + b.dc, n: a.n + b.n });
    }
  }
  return blocks.flatMap((b) => Array<number>(b.n).fill(ratio(b)));
}
/** A free step (no cost) is worth taking first; a step with neither cost nor value last. */
const ratio = (b: { dv: number; dc: number }): number => (b.dc > 0 ? b.dv / b.dc : b.dv > 0 ? Number.MAX_VALUE : 0);

export class Ladder {
  /** Steps, best first. */
  readonly steps: readonly Step[];
  /** rank[point.id][gear] = position of the step reaching `gear` (−1 at or below the floor). */
  private readonly rank: Int32Array[];

  constructor(points: readonly Point[]) {
    const steps: Step[] = [];
    for (const p of points) {
      pooledBenefits(p).forEach((benefit, i) => steps.push({ point: p, gear: p.floor + 1 + i, benefit, boost: p.floor + 1 + i > p.top }));
    }
    steps.sort((a, b) => Number(a.boost) - Number(b.boost) || a.point.priority - b.point.priority || b.benefit - a.benefit || a.gear - b.gear || a.point.id - b.point.id);
    this.steps = steps;
    this.rank = points.map((p) => new Int32Array(p.boostTop + 1).fill(-1));
    steps.forEach((s, i) => (this.rank[s.point.id]![s.gear] = i));
  }

  rankOf(point: Point, gear: number): number {
    return this.rank[point.id]![gear] ?? -1;
  }

  /** The slot of the point whose current step is worth least (to go down), or −1 when all are at `lower`. */
  nextDown(points: readonly Point[], gears: ArrayLike<number>, lower: ArrayLike<number>): number {
    let best = -1;
    let bestRank = -1;
    for (let i = 0; i < points.length; i++) {
      if (gears[i]! <= lower[i]!) continue;
      const r = this.rankOf(points[i]!, gears[i]!);
      if (r > bestRank) [best, bestRank] = [i, r];
    }
    return best;
  }

  /** The slot of the point whose next step is worth most (to go up), or −1 when all are at `upper`. */
  nextUp(points: readonly Point[], gears: ArrayLike<number>, upper: ArrayLike<number>): number {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < points.length; i++) {
      if (gears[i]! >= upper[i]!) continue;
      const r = this.rankOf(points[i]!, gears[i]! + 1);
      if (r < bestRank) [best, bestRank] = [i, r];
    }
    return best;
  }

  /** The lowest position (`limitsAt`) that allows these gears: one past the worst-ranked step they have on. */
  positionOf(points: readonly Point[], gears: ArrayLike<number>): number {
    let position = 0;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      if (gears[i]! > p.floor) position = Math.max(position, this.rankOf(p, gears[i]!) + 1);
    }
    return position;
  }

  /**
   * Per point (by id), the highest gear allowed when only the first `position` steps of the whole ladder are on:
   * how a process-wide allowance becomes per-scene limits.
   */
  limitsAt(position: number, out: Int32Array): void {
    for (const s of this.steps) out[s.point.id] = s.point.floor;
    for (let i = 0; i < position && i < this.steps.length; i++) {
      const s = this.steps[i]!;
      if (s.gear > out[s.point.id]!) out[s.point.id] = s.gear;
    }
  }
}
