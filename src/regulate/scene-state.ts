/**
 * A scene's state as reports, the status page and the metrics show it: its gears by point name and what derives from
 * them (value and cost against the normal top, degraded, at the floor), with its shedding. Built from a gear vector:
 * the computed one for a tick's report, the live one for what requests get.
 */
import type { ServedState } from './events.js';
import { costOf, type Point, valueOf } from './points.js';

export class SceneState {
  /** The last report's state, and what it was built from (see `reported`). */
  private last: { state: ServedState; gears: Int32Array; lower: Int32Array; boosted: boolean; shedShare: number; shedLoadTest: boolean } | null = null;

  constructor(
    private readonly points: readonly Point[],
    private readonly topValue: number,
    private readonly topCost: number,
  ) {}

  of(gears: Int32Array, lower: Int32Array, boosted: boolean, shedShare: number, shedLoadTest: boolean): ServedState {
    // A scene without points is at its top, with nothing to cut: 1, where the shares of a zero top read 0 ("cut to
    // nothing") beside `degraded: false`, and an alert on value below 1 fired for good for every such scene.
    const top = this.points.length === 0;
    const points = this.points;
    return {
      gears: Object.fromEntries(points.map((p, i) => [p.name, gears[i]!])),
      value: top ? 1 : valueOf(points, gears) / this.topValue, cost: top ? 1 : costOf(points, gears) / this.topCost,
      degraded: points.some((p, i) => gears[i]! < p.top), atFloor: points.every((_, i) => gears[i]! <= lower[i]!), boosted, shedShare, shedLoadTest,
    };
  }

  /**
   * `of` for a tick's report, built again only when the gears, the lower limits or shedding moved: most scenes, most
   * ticks, did not, and at 10,000 scenes building it anew was a tenth of the tick. Its `gears` object is frozen,
   * being shared by the reports of the ticks that reuse it.
   */
  reported(gears: Int32Array, lower: Int32Array, boosted: boolean, shedShare: number, shedLoadTest: boolean): ServedState {
    const r = this.last;
    if (r && r.boosted === boosted && r.shedShare === shedShare && r.shedLoadTest === shedLoadTest && same(r.gears, gears) && same(r.lower, lower)) return r.state;
    const state = this.of(gears, lower, boosted, shedShare, shedLoadTest);
    Object.freeze(state.gears);
    this.last = { state, gears: Int32Array.from(gears), lower: Int32Array.from(lower), boosted, shedShare, shedLoadTest };
    return state;
  }
}

const same = (a: Int32Array, b: Int32Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};
