import { describe, expect, it } from 'vitest';
import { BucketRanges } from '../src/route/ranges.js';

describe('bucket ranges', () => {
  it('gives each share its buckets in order, skips empty shares, and the rest to the rest owner', () => {
    const r = new BucketRanges([{ owner: 7, buckets: 500 }, { owner: 9, buckets: 0 }, { owner: 3, buckets: 1000 }], 1);
    const owners = Array.from({ length: 10_000 }, (_, b) => r.ownerOf(b));
    expect(owners.slice(0, 500).every((o) => o === 7)).toBe(true);
    expect(owners.slice(500, 1500).every((o) => o === 3)).toBe(true);
    expect(owners.slice(1500).every((o) => o === 1)).toBe(true);
    expect(owners).not.toContain(9);
  });

  it('is ramp-safe: growing the first share keeps every bucket it had', () => {
    const before = new BucketRanges([{ owner: 1, buckets: 500 }], 0);
    const after = new BucketRanges([{ owner: 1, buckets: 1000 }], 0);
    for (let b = 0; b < 10_000; b++) if (before.ownerOf(b) === 1) expect(after.ownerOf(b)).toBe(1);
  });

  it('refuses shares that leave buckets without an owner', () => {
    expect(() => new BucketRanges([{ owner: 0, buckets: 9_999 }])).toThrow(RangeError);
  });
});
