/**
 * The control loops one config compiles to: a loop per scene, in config order (the router's scene index, by which
 * requests read their gears), found by id too, and the process ladder over all their points. A reload builds a new set
 * and the regulator swaps it whole, so a tick that kept the set it started with can tell that a reload came (the
 * twenty-seventh session's split of regulator.ts).
 */
import type { GearSet } from '../config/schema-regulate.js';
import type { GearshiftConfig } from '../config/schema.js';
import { sceneGoals } from './goals.js';
import { Ladder } from './ladder.js';
import { compilePoints, type Point } from './points.js';
import { SceneLoop } from './scene-loop.js';
import type { Settings } from './settings.js';

export class SceneSet {
  readonly loops: readonly SceneLoop[];
  readonly points: readonly Point[];
  readonly ladder: Ladder;
  private readonly byId: ReadonlyMap<string, SceneLoop>;

  /** `goalSet`: the goal set in force (null: the configured goals). */
  constructor(config: GearshiftConfig, s: Settings, goalSet: string | null) {
    const r = config.regulator;
    const sheddable = new Set(r?.shedding?.priorities ?? ['low']);
    const points: Point[] = [];
    const perScene = Object.entries(config.scenes).map(([id, sc]) => {
      const pts = compilePoints(id, sc, points.length);
      points.push(...pts);
      return [id, sc, pts] as const;
    });
    this.points = points;
    this.ladder = new Ladder(points);
    this.loops = perScene.map(([id, sc, pts]) => {
      const loop = new SceneLoop(id, pts, sc.rtBudgetMs ?? 200, sheddable.has(sc.priority ?? 'normal'), sceneGoals(id, sc.goals, r, goalSet), this.ladder, s.limits.dwellMs);
      [loop.live.retryAfterS, loop.live.extraGears] = [s.shed.retryAfterS, r?.dcaf?.extraGears ?? 1];
      return loop;
    });
    this.byId = new Map(this.loops.map((l) => [l.id, l]));
  }

  get(id: string): SceneLoop | undefined {
    return this.byId.get(id);
  }

  /** The points of a scene, by id (for checking an operator's gear set). */
  readonly pointsOf = (scene: string): readonly Point[] | undefined => this.byId.get(scene)?.points;

  /** Calls `fn` for every point of `set` that exists here (scenes and points it names that do not, are passed over). */
  forEachPoint(set: GearSet, fn: (sc: SceneLoop, slot: number, gear: number) => void): void {
    for (const [scene, points] of Object.entries(set)) {
      const sc = this.byId.get(scene);
      if (!sc) continue;
      for (const [point, gear] of Object.entries(points)) {
        const slot = sc.points.findIndex((p) => p.name === point);
        if (slot >= 0) fn(sc, slot, gear);
      }
    }
  }

  /** Replaces every cap (max gear per point) with `set`; `{}` leaves only the boost tops. */
  replaceCaps(set: GearSet): void {
    for (const sc of this.loops) sc.caps.set(sc.points.map((p) => p.boostTop));
    this.forEachPoint(set, (sc, slot, gear) => (sc.caps[slot] = gear));
  }

  /** Replaces every pin with `set`; `{}` clears them. */
  replacePins(set: GearSet): void {
    for (const sc of this.loops) sc.pins.fill(-1);
    this.forEachPoint(set, (sc, slot, gear) => (sc.pins[slot] = gear));
  }

  /** Every scene's goals, from the config, under a goal set (null: the configured goals). */
  setGoals(config: GearshiftConfig, goalSet: string | null): void {
    for (const [id, sc] of Object.entries(config.scenes)) this.byId.get(id)!.setGoals(sceneGoals(id, sc.goals, config.regulator, goalSet));
  }

  /**
   * The lowest process ladder position that keeps the gears of every scene that has traffic (of every scene, when
   * none has): a process cut starts from there, so it takes a gear that carries load. Steps of idle scenes above it
   * go at once, and save nothing; walking them one position a tick left a saturated process uncut for 21 s.
   */
  heldPosition(): number {
    const busy = this.positionKeeping((sc) => !sc.idle);
    return busy >= 0 ? busy : Math.max(0, this.positionKeeping(() => true));
  }

  /** The lowest ladder position that keeps the gears of these scenes (−1 when there are none). */
  positionKeeping(which: (sc: SceneLoop) => boolean): number {
    let position = -1;
    for (const sc of this.loops) if (which(sc)) position = Math.max(position, this.ladder.positionOf(sc.points, sc.gears));
    return position;
  }
}
