/**
 * Nearest-rank quantile, the engine's sensing's rule: the ⌈p·n⌉-th smallest. Shared by the simulator's sensing and
 * its metrics so that the p99 the regulator is fed and the p99 the table reports cannot drift apart again (`floor(p·n)`
 * as an index is one rank higher: for 100 samples, the maximum).
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.min(sorted.length, Math.ceil(p * sorted.length)) - 1)]!;
}
