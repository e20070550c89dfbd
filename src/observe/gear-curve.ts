/**
 * A point's gear over the last minutes, rebuilt from the regulator's change history: the gear requests got (changes
 * applied), as a step function, newest state last. The history is bounded (`regulator.historySize`, shared by every
 * scene), so a curve starts where the history does when that is later than the span asked for.
 */
import type { GearChange } from '../regulate/events.js';

/** `[at, gear]` pairs, oldest first: from wall-clock `at` (ms) the point served gear index `gear`, until the next. */
export type GearCurve = readonly (readonly [at: number, gear: number])[];

/**
 * The curve of one point from `from` to now (wall ms): `gear` is the point's gear now, `changes` the history oldest
 * first. A move the history does not hold (a silent restore) shows as a step at the next change it does hold.
 */
export function gearCurve(changes: readonly GearChange[], scene: string, point: string, gear: number, from: number): GearCurve {
  const mine = changes.filter((c) => c.applied && c.scene === scene && c.point === point && c.at >= from);
  const curve: [number, number][] = [[from, mine.length > 0 ? mine[0]!.from : gear]];
  for (const c of mine) {
    const last = curve[curve.length - 1]!;
    if (c.at === last[0]) last[1] = c.to; // several moves in one tick: the gear it ended on
    else if (c.to !== last[1]) curve.push([c.at, c.to]);
  }
  return curve;
}

/**
 * The curve as an SVG polyline's points in a `width` × `height` box, gear 0 at the bottom and `topGear` at the top,
 * from `from` to `now` (the last gear held until now).
 */
export function curvePoints(curve: GearCurve, from: number, now: number, topGear: number, width: number, height: number): string {
  const span = Math.max(1, now - from);
  const x = (at: number): string => (((Math.min(now, Math.max(from, at)) - from) / span) * width).toFixed(1);
  const y = (g: number): string => (height - 1 - (topGear > 0 ? g / topGear : 0) * (height - 2)).toFixed(1);
  const out: string[] = [];
  for (let i = 0; i < curve.length; i++) {
    const [at, g] = curve[i]!;
    if (i > 0) out.push(`${x(at)},${y(curve[i - 1]![1])}`); // the step: the old gear up to this change
    out.push(`${x(at)},${y(g)}`);
  }
  out.push(`${x(now)},${y(curve[curve.length - 1]![1])}`);
  return out.join(' ');
}
