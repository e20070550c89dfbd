/**
 * How many units a new config moves between code versions, per scene: the two splits are compared bucket by bucket.
 * This is what makes a ramp reviewable: raising `up` from 5% to 10% must show 5% moving base → up and nothing else.
 */
import type { SplitMove } from '../config/release.js';
import { BucketRanges } from './ranges.js';
import type { RouteTables } from './tables.js';

/** Per scene present in both: buckets (of 10,000) whose version changed, and "from → to" counts. */
export function splitMoves(before: RouteTables, after: RouteTables): SplitMove[] {
  const out: SplitMove[] = [];
  const beforeById = new Map(before.sceneList.map((o) => [o.id, o]));
  for (const s of after.sceneList) {
    const old = beforeById.get(s.id);
    if (!old) continue;
    if (old.seed !== s.seed) {
      out.push({ scene: s.id, buckets: 10_000, flows: { 'seed changed: every unit re-bucketed': 10_000 } });
      continue;
    }
    const flows: Record<string, number> = {};
    let buckets = 0;
    BucketRanges.overlay(old.split, s.split, (a, b, n) => {
      const from = old.versions[a]!.name;
      const to = s.versions[b]!.name;
      if (from === to) return;
      buckets += n;
      const key = `${from} → ${to}`;
      flows[key] = (flows[key] ?? 0) + n;
    });
    if (buckets > 0) out.push({ scene: s.id, buckets, flows });
  }
  return out;
}
