/**
 * The live gears of one scene, as requests read them: a typed array the regulator overwrites on its tick and a
 * name → slot map built once. A handler's `decision.gear('recall')` is one Map look-up with a literal (interned) key
 * and one array read. Also the shedding state the engine consults in `route`, and the per-request value rule (DCAF).
 */
import type { JsonValue } from '../config/shape.js';
import type { Point } from './points.js';

export class LiveScene {
  /** @internal the regulator writes it on its tick: read gears with `gear(point)` / `gearIndex(point)` */
  readonly gears: Int32Array;
  /** @internal Highest gear a high-value request may take (normal top, or the boost top while boosted). */
  readonly upper: Int32Array;
  private readonly slots: Map<string, number>;
  /** @internal True when any point serves below its normal top gear. */
  degraded = false;
  /** @internal Shed load-test traffic of this scene (read it in `status()`). */
  shedLoadTest = false;
  /** @internal Share of this scene's business traffic to shed (read it in `status()`). */
  shedShare = 0;
  /** @internal */
  retryAfterS = 0;
  /** @internal Price of cost in value units: the benefit of the scene's least valuable step still on. */
  lambda = 0;
  /** @internal */
  extraGears = 1;
  private shedAcc = 0;

  constructor(readonly sceneId: string, readonly points: readonly Point[]) {
    this.gears = Int32Array.from(points, (p) => p.start);
    this.upper = Int32Array.from(points, (p) => p.top);
    this.slots = new Map(points.map((p) => [p.name, p.slot]));
  }

  gearIndex(point: string): number {
    const i = this.slots.get(point);
    return i === undefined ? -1 : this.gears[i]!;
  }

  gear(point: string): JsonValue | undefined {
    const i = this.slots.get(point);
    return i === undefined ? undefined : this.points[i]!.gears[this.gears[i]!];
  }

  /**
   * DCAF: the gear maximising value·score − λ·cost. A request of score ≤ 1 may get less than the regulated gear,
   * one above 1 up to `extraGears` more (never past the current upper limit): within the regulator's allowance,
   * compute goes where it is worth most, and the feedback loop corrects the aggregate.
   */
  gearIndexFor(point: string, score: number): number {
    const i = this.slots.get(point);
    return i === undefined ? -1 : this.bestGear(i, score);
  }

  gearFor(point: string, score: number): JsonValue | undefined {
    const i = this.slots.get(point);
    return i === undefined ? undefined : this.points[i]!.gears[this.bestGear(i, score)];
  }

  private bestGear(i: number, score: number): number {
    const p = this.points[i]!;
    const g = this.gears[i]!;
    // A request worth the average gets the regulated gear, one worth more never less: λ prices the pooled benefit of
    // a step, and against a single gear's raw value it could pick lower on a point whose values are not concave.
    // Below the regulated gear only down to the floor, or to the gear itself when a cap or pin holds it lower.
    if (score === 1) return g;
    const lo = score > 1 ? g : Math.min(p.floor, g);
    const hi = score > 1 ? Math.min(g + this.extraGears, this.upper[i]!) : g;
    let best = lo;
    let bestU = -Infinity;
    for (let k = lo; k <= hi; k++) {
      const u = score * p.value[k]! - this.lambda * p.cost[k]!;
      if (u >= bestU) {
        best = k;
        bestU = u;
      }
    }
    return best;
  }

  /** Whether to shed this request: load-test traffic first, then a share of business traffic (evenly spread). */
  shouldShed(loadTest: boolean): boolean {
    if (loadTest) return this.shedLoadTest;
    if (this.shedShare <= 0) return false;
    this.shedAcc += this.shedShare;
    if (this.shedAcc < 1) return false;
    this.shedAcc -= 1;
    return true;
  }

  get shedding(): boolean {
    return this.shedLoadTest || this.shedShare > 0;
  }
}
