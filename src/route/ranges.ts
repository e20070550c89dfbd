/**
 * The 10,000 buckets of a split or a layer, cut into consecutive ranges in config order, each owned by a version or
 * an arm. Order is what makes a ramp safe: raising the first share from 5% to 10% extends its range over buckets that
 * belonged to the next owner, and every bucket it had stays with it.
 *
 * Kept as the ranges' ends, not as a 10,000-slot table: a split has a handful of owners, so the search reads one
 * cache line, where a table of 20 KB per split and per layer was a cache miss on most requests (measured: the split
 * table's load was the router's single hottest instruction).
 */
import { BUCKETS } from '../config/validate.js';

export class BucketRanges {
  /** Exclusive end of each range; the last is BUCKETS, so a scan for any bucket below it stops in range. */
  private readonly ends: Int32Array;
  private readonly owners: Int32Array;

  /** `shares` take the first buckets in order; `rest` (if given) owns whatever they leave. */
  constructor(shares: readonly { owner: number; buckets: number }[], rest: number | null = null) {
    const ends: number[] = [];
    const owners: number[] = [];
    let at = 0;
    for (const { owner, buckets } of shares) {
      if (buckets <= 0) continue;
      at = Math.min(BUCKETS, at + buckets);
      ends.push(at);
      owners.push(owner);
    }
    if (at < BUCKETS) {
      if (rest === null) throw new RangeError(`bucket shares cover ${at} of ${BUCKETS} buckets`);
      ends.push(BUCKETS);
      owners.push(rest);
    }
    this.ends = Int32Array.from(ends);
    this.owners = Int32Array.from(owners);
  }

  /**
   * Walks two tables side by side: `visit(ownerInA, ownerInB, buckets)` for each stretch of buckets where neither
   * changes owner. A merge of the two range lists, so comparing two splits costs their ranges, not 10,000 look-ups.
   */
  static overlay(a: BucketRanges, b: BucketRanges, visit: (ownerInA: number, ownerInB: number, buckets: number) => void): void {
    let i = 0;
    let j = 0;
    for (let at = 0; at < BUCKETS; ) {
      const end = Math.min(a.ends[i]!, b.ends[j]!);
      visit(a.owners[i]!, b.owners[j]!, end - at);
      at = end;
      if (a.ends[i] === end) i++;
      if (b.ends[j] === end) j++;
    }
  }

  /**
   * The owner of a bucket in 0..BUCKETS-1: the first range whose end is above it. A binary search, so that a layer
   * with hundreds of arms costs a few steps more than a split of three, not hundreds.
   */
  ownerOf(bucket: number): number {
    const ends = this.ends;
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bucket < ends[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return this.owners[lo]!;
  }
}
