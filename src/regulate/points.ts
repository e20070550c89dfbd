/**
 * Regulation points compiled from config: gear values with their cost and value as typed arrays, the normal top and
 * the boost gears above it, the floor. Pure data, built on (re)load.
 */
import type { SceneConfig } from '../config/schema.js';
import { boxedValues } from '../config/boxed-values.js';
import type { JsonValue } from '../config/shape.js';

export interface Point {
  readonly sceneId: string;
  readonly name: string;
  /** Index within its scene (the slot in the scene's live gear array). */
  readonly slot: number;
  /** Index across all scenes. */
  readonly id: number;
  readonly gears: readonly JsonValue[];
  readonly cost: Float64Array;
  readonly value: Float64Array;
  readonly floor: number;
  /** Highest normal gear; gears above it are boost gears. */
  readonly top: number;
  /** Highest gear at all. */
  readonly boostTop: number;
  readonly start: number;
  /** The scene's priority as a rank: 0 high, 1 normal, 2 low (the process ladder takes low scenes' steps first). */
  readonly priority: number;
}

const PRIORITY_RANK = { high: 0, normal: 1, low: 2 } as const;

export function compilePoints(sceneId: string, cfg: SceneConfig, firstId: number): Point[] {
  return Object.entries(cfg.points ?? {}).map(([name, p], slot) => {
    const n = p.gears.length;
    const cost = Float64Array.from(p.cost ?? Array.from({ length: n }, (_, i) => i + 1));
    const value = Float64Array.from(p.value ?? cost);
    const top = n - 1 - (p.boost ?? 0);
    const priority = PRIORITY_RANK[cfg.priority ?? 'normal'];
    return { sceneId, name, slot, id: firstId + slot, gears: boxedValues(p.gears), cost, value, floor: p.floor ?? 0, top, boostTop: n - 1, start: p.default ?? top, priority };
  });
}

/** Cost of a gear vector (points are stages of one request: their costs add up). */
export function costOf(points: readonly Point[], gears: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < points.length; i++) c += points[i]!.cost[gears[i]!]!;
  return c;
}

export function valueOf(points: readonly Point[], gears: ArrayLike<number>): number {
  let v = 0;
  for (let i = 0; i < points.length; i++) v += points[i]!.value[gears[i]!]!;
  return v;
}
