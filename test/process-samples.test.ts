import { describe, expect, it } from 'vitest';
import type { Goal } from '../src/regulate/goals.js';
import { type LawOptions, GoalLoop } from '../src/regulate/pid.js';
import { setup } from './regulate-helpers.js';

const LAW: LawOptions = { kp: 0.15, ki: 0.12, kd: 0, smoothing: 0.6, maxError: 2, hysteresis: 0.05 };
const elu: Goal = { kind: 'elu', target: 0.8, band: 0.25, minSamples: 1 };
const eld: Goal = { kind: 'eventLoopDelayMs', target: 40, band: 0.25, minSamples: 1 };

describe('a process sample is taken in once', () => {
  it('a reading of a sample already taken keeps its status and proposes nothing', () => {
    const loop = new GoalLoop(elu);
    const first = loop.step({ measured: 0.96, pressure: 1.2, samples: 1, sample: 7 }, LAW, 0);
    expect(first.status).toBe('violated');
    expect(first.delta).toBeLessThan(0);
    const again = loop.step({ measured: 0.96, pressure: 1.2, samples: 1, sample: 7 }, LAW, -1);
    expect([again.status, again.delta, again.pressure, again.measured]).toEqual(['violated', 0, first.pressure, 0.96]);
    const next = loop.step({ measured: 1.2, pressure: 1.5, samples: 1, sample: 8 }, LAW, -1);
    expect(next.delta).toBeLessThan(0);
    expect(next.pressure).toBeGreaterThan(first.pressure); // smoothed on towards 1.5: a new sample is taken in
  });

  it('a source that does not number its samples has every reading taken in (the simulator, a custom source)', () => {
    const loop = new GoalLoop(elu);
    loop.step({ measured: 1.2, pressure: 1.5, samples: 1 }, LAW, 0);
    expect(loop.step({ measured: 1.2, pressure: 1.5, samples: 1 }, LAW, -1).delta).toBeLessThan(0);
  });

  it('a regulator five times faster than the ELU sampling cuts once per sample, as fast as one at the sampling period', () => {
    const cutsOver = (periodMs: number, perSample: number) => {
      const { script, tick, reg } = setup({ periodMs, goals: { elu: { target: 0.8, band: 0.2 } } });
      const seen: number[] = [];
      for (let i = 0; i < 3 * perSample; i++) {
        script.proc = { elu: 0.9, taken: { elu: 1 + Math.floor(i / perSample) } };
        tick(periodMs);
        seen.push(reg.snapshot().processAllowance);
      }
      return seen.filter((u, i) => i % perSample === perSample - 1);
    };
    const slow = cutsOver(1000, 1);
    const fast = cutsOver(200, 5);
    expect(slow[0]).toBeLessThan(1);
    expect(fast).toEqual(slow); // before: each sample integrated five times, the allowance fell five times as fast
  });
});

describe('an event-loop delay counts once the next sample confirms it', () => {
  it('one stall is not read as overload: the goal reads the lesser of its last two samples', () => {
    const loop = new GoalLoop(eld);
    expect(loop.step({ measured: 5, pressure: 5 / 40, samples: 1, sample: 1 }, LAW, 0).status).toBe('no_data'); // one sample alone
    const stall = loop.step({ measured: 150, pressure: 150 / 40, samples: 1, sample: 2 }, LAW, 0);
    expect([stall.status, stall.measured]).toEqual(['headroom', 5]);
    expect(stall.delta).toBeGreaterThanOrEqual(0);
    expect(loop.step({ measured: 6, pressure: 6 / 40, samples: 1, sample: 3 }, LAW, 0).status).toBe('headroom');
  });

  it('a delay that lasts two samples is overload, read at the lesser of the two', () => {
    const loop = new GoalLoop(eld);
    loop.step({ measured: 5, pressure: 5 / 40, samples: 1, sample: 1 }, LAW, 0);
    expect(loop.step({ measured: 120, pressure: 3, samples: 1, sample: 2 }, LAW, 0).status).toBe('headroom');
    const confirmed = loop.step({ measured: 80, pressure: 2, samples: 1, sample: 3 }, LAW, 0);
    expect([confirmed.status, confirmed.measured]).toEqual(['violated', 80]);
    expect(confirmed.delta).toBeLessThan(0);
  });

  it('over a regulator: a single 150-ms stall moves no gear; two periods of delay cut', () => {
    const run = (delays: number[]) => {
      const { script, tick, changes } = setup({ periodMs: 200, goals: { eventLoopDelayMs: { target: 40 } } });
      delays.forEach((d, i) => {
        script.proc = { eventLoopDelayMs: d, taken: { eventLoopDelayMs: i + 1 } };
        tick(200);
      });
      return changes.length;
    };
    expect(run([5, 5, 150, 5, 5, 5, 5, 5])).toBe(0); // before: two ticks of cuts, six gears to two over HTTP
    expect(run([5, 5, 150, 150, 150, 5, 5])).toBeGreaterThan(0);
  });
});
