import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../src/clock.js';
import { UsageError } from '../src/errors.js';

describe('system clock', () => {
  it('never goes back', () => {
    let last = systemClock.now();
    for (let i = 0; i < 100_000; i++) {
      const t = systemClock.now();
      expect(t >= last).toBe(true);
      last = t;
    }
  });

  it('reads the same time as performance.now(), so a host may stamp requests with either', () => {
    for (let i = 0; i < 20; i++) {
      const before = performance.now();
      const t = systemClock.now();
      const after = performance.now();
      // aligned to within a few microseconds at start-up; 0.05 ms leaves room for a busy machine, not for a wrong origin
      expect(t).toBeGreaterThan(before - 0.05);
      expect(t).toBeLessThan(after + 0.05);
    }
  });

  it('measures elapsed time in milliseconds', async () => {
    const a = systemClock.now();
    await new Promise((r) => setTimeout(r, 30));
    const elapsed = systemClock.now() - a;
    // a timer may fire a little early against a fresh clock read (libuv schedules it from the loop's cached time), so
    // this only checks the unit: milliseconds, not seconds or microseconds
    expect(elapsed).toBeGreaterThan(20);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('manual clock', () => {
  it('moves only forward, and only when told', () => {
    const c = new ManualClock(5);
    expect(c.now()).toBe(5);
    c.advance(10);
    expect(c.now()).toBe(15);
    expect(() => c.advance(-1)).toThrow(UsageError); // a GearshiftError, as every error the package throws
    expect(() => c.advance(Number.NaN)).toThrow(/^ManualClock\.advance: expected ms >= 0, got NaN/);
    expect(() => c.set(3)).toThrow(/^ManualClock\.set: time only moves forward \(3 < 15\)/);
    expect(c.now()).toBe(15);
    c.set(20);
    expect(c.wallNow()).toBe(Date.UTC(2026, 0, 1) + 15); // wall time starts at wallStart and moves with the monotonic clock
  });
});
