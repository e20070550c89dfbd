/**
 * How many units a new config moves between code versions, per scene: the two splits are compared bucket by bucket.
 * This is what makes a ramp reviewable: raising `up` from 5% to 10% must show 5% moving base → up and nothing else.
 */
import type { SplitMove } from '../config/release.js';
import { BUCKETS } from '../config/validate.js';
import type { RouteTables } from './tables.js';

/** Per scene present in both: buckets (of 10,000) whose version changed, and "from → to" counts. */
export function splitMoves(before: RouteTables, after: RouteTables): SplitMove[] {
  const out: SplitMove[] = [];
  for (const s of after.sceneList) {
    const old = before.sceneList.find((o) => o.id === s.id);
    if (!old) continue;
    if (old.seed !== s.seed) {
      out.push({ scene: s.id, buckets: 10_000, flows: { 'seed changed: every unit re-bucketed': 10_000 } });
      continue;
    }
    const flows: Record<string, number> = {};
    let buckets = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const from = old.versions[old.split.ownerOf(b)]!.name;
      const to = s.versions[s.split.ownerOf(b)]!.name;
      if (from === to) continue;
      buckets++;
      const key = `${from} → ${to}`;
      flows[key] = (flows[key] ?? 0) + 1;
    }
    if (buckets > 0) out.push({ scene: s.id, buckets, flows });
  }
  return out;
}
