/**
 * The regulator's state as plain JSON: gears by name (not by slot), so a snapshot survives a config change; and a
 * scene's state to and from it.
 */
import type { RegulatorMode } from '../config/schema-regulate.js';
import type { SceneLoop, StepContext } from './scene-loop.js';

export const SNAPSHOT_VERSION = 1;

export interface SceneSnapshot {
  /** Controlled gears (differ from `live` only in shadow mode). */
  readonly gears: Readonly<Record<string, number>>;
  readonly live: Readonly<Record<string, number>>;
  readonly caps: Readonly<Record<string, number>>;
  readonly pins: Readonly<Record<string, number>>;
  readonly allowance: number;
  readonly boosted: boolean;
  /** How many `boost.holdMs` the next boost waits (1–8: doubled by each boost that did not hold). Missing: 1. */
  readonly boostBackoff?: number;
  /** A cut inside the fast-recovery window in force took the scene out of it (the peak is not over there). Missing: false. */
  readonly fastLeft?: boolean;
  readonly shedShare: number;
  readonly shedLoadTest: boolean;
  readonly pressures: Readonly<Record<string, number>>;
}

export interface RegulatorSnapshot {
  readonly version: number;
  /** Wall-clock ms when taken. */
  readonly at: number;
  readonly mode: RegulatorMode;
  readonly goalSet: string | null;
  readonly fastRecoveryLeftMs: number;
  readonly processAllowance: number;
  readonly scenes: Readonly<Record<string, SceneSnapshot>>;
}

/** A scene's state as a snapshot holds it. `fastLeft`: a cut took it out of the fast-recovery window in force. */
export function sceneSnapshot(sc: SceneLoop, fastLeft: boolean): SceneSnapshot {
  return {
    gears: Object.fromEntries(sc.points.map((p, i) => [p.name, sc.gears[i]!])),
    live: Object.fromEntries(sc.points.map((p, i) => [p.name, sc.live.gears[i]!])),
    caps: Object.fromEntries(sc.points.flatMap((p, i) => (sc.caps[i]! < p.boostTop ? [[p.name, sc.caps[i]!]] : []))),
    pins: Object.fromEntries(sc.points.flatMap((p, i) => (sc.pins[i]! >= 0 ? [[p.name, sc.pins[i]!]] : []))),
    allowance: sc.allowance.u, boosted: sc.boosted, boostBackoff: sc.boost.backoff, fastLeft,
    shedShare: sc.shedding.share, shedLoadTest: sc.shedding.loadTest,
    pressures: Object.fromEntries(sc.loops.map((l) => [l.goal.kind, l.pressure])),
  };
}

/**
 * Puts a checked snapshot's state into a scene: points it does not name keep theirs, gears are clamped to what
 * exists. `applied`: the mode is not shadow, so what it restores reaches requests; `fastEpoch`: the restored window's.
 */
export function restoreScene(sc: SceneLoop, s: SceneSnapshot, ctx: Pick<StepContext, 'wall' | 'mode' | 'change'>, applied: boolean, fastEpoch: number): void {
  sc.points.forEach((p, i) => {
    const clamp = (g: number | undefined, dflt: number) => (g === undefined ? dflt : Math.max(0, Math.min(p.boostTop, g)));
    sc.caps[i] = clamp(s.caps[p.name], p.boostTop);
    sc.pins[i] = s.pins[p.name] === undefined ? -1 : clamp(s.pins[p.name], -1);
    sc.live.gears[i] = clamp(s.live[p.name], sc.live.gears[i]!);
    const g = clamp(s.gears[p.name], sc.gears[i]!);
    if (g !== sc.gears[i]) sc.setGear(i, g, 'restore', ctx, applied);
  });
  // The allowance is a share of the points' top cost when it was taken: with points since renamed, added or
  // re-costed (a reload, or a restart under a newer config) it may sit below what the restored gears cost, and
  // the next tick would cut them as if a goal had asked.
  sc.allowance.u = Math.max(s.allowance, sc.allowanceOfGears());
  sc.boost.restore(s.boosted, s.boostBackoff);
  sc.restoreFastLeft(s.fastLeft === true, fastEpoch);
  [sc.shedding.share, sc.shedding.loadTest] = [s.shedShare, s.shedLoadTest];
  // A snapshot taken in shadow mode holds what shadow computed, which never reached requests.
  if (applied) {
    sc.live.shedShare = s.shedShare;
    sc.live.shedLoadTest = s.shedLoadTest;
  }
  for (const l of sc.loops) {
    const pr = s.pressures[l.goal.kind];
    if (typeof pr === 'number') l.restore(pr);
  }
}
