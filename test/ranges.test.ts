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

  it('overlays two tables stretch by stretch, agreeing with a look-up of every bucket', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let round = 0; round < 50; round++) {
      const table = () => new BucketRanges(Array.from({ length: 1 + rand(6) }, (_, i) => ({ owner: i, buckets: rand(4000) })), 9);
      const [a, b] = [table(), table()];
      const overlaid = new Map<string, number>();
      BucketRanges.overlay(a, b, (x, y, n) => overlaid.set(`${x}>${y}`, (overlaid.get(`${x}>${y}`) ?? 0) + n));
      const looked = new Map<string, number>();
      for (let k = 0; k < 10_000; k++) looked.set(`${a.ownerOf(k)}>${b.ownerOf(k)}`, (looked.get(`${a.ownerOf(k)}>${b.ownerOf(k)}`) ?? 0) + 1);
      expect(overlaid).toEqual(looked);
    }
  });
});
