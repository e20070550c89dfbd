import { describe, expect, it } from 'vitest';
import { type Goal, readProcess, readScene } from '../src/regulate/goals.js';
import type { SceneSignals } from '../src/regulate/signals.js';

const timeoutGoal = (target: number): Goal => ({ kind: 'timeoutRate', target, band: 0.25, minSamples: 1 });
/** Every quantile a different multiple of the 100 ms budget, so the one read shows in the pressure. */
const signals = (timeoutRate = 0, count = 10_000): SceneSignals => ({ count, rate: count, mean: 40, p50: 50, p90: 90, p99: 99, p999: 99.9, timeoutRate });

describe('scene goal readings', () => {
  it.each([
    [0.001, 0.999],
    [0.01, 0.99],
    [0.1, 0.9],
    [0.5, 0.5],
  ])('a %s timeout-rate target reads the matching quantile against the budget (pressure %s)', (target, pressure) => {
    const r = readScene(timeoutGoal(target), signals(), 100)!;
    expect([r.measured, r.samples]).toEqual([0, 10_000]);
    expect(r.pressure).toBeCloseTo(pressure, 9);
  });

  it('lets the rate itself win when it is clearly above target, and not for one unlucky timeout', () => {
    const clearly = readScene(timeoutGoal(0.01), signals(0.05, 10_000), 100)!; // 500 timeouts: lower bound 455.3
    expect(clearly.pressure).toBeCloseTo((500 - 2 * Math.sqrt(500)) / 10_000 / 0.01, 6);
    const one = readScene(timeoutGoal(0.01), signals(1 / 50, 50), 100)!; // 1 of 50: above 1%, but the bound is 0
    expect(one.pressure).toBe(0.99);
  });

  it('reads nothing below the goal\'s sample count', () => {
    expect(readScene({ ...timeoutGoal(0.01), minSamples: 100 }, signals(0, 99), 100)).toBeUndefined();
    expect(readScene(timeoutGoal(0.01), undefined, 100)).toBeUndefined();
  });

  it('reads mean and p99 goals against their own targets', () => {
    expect(readScene({ kind: 'meanRtMs', target: 20, band: 0.25, minSamples: 1 }, signals(), 100)!.pressure).toBe(2);
    expect(readScene({ kind: 'p99RtMs', target: 198, band: 0.25, minSamples: 1 }, signals(), 100)!.pressure).toBe(0.5);
  });
});

describe('process goal readings', () => {
  const elu: Goal = { kind: 'elu', target: 0.8, band: 0.25, minSamples: 2 };
  it('reads the goal\'s own measurement, and nothing when it is missing, not finite or too thin', () => {
    expect(readProcess(elu, { elu: 0.4, count: 2 })).toEqual({ measured: 0.4, pressure: 0.5, samples: 2 });
    expect(readProcess(elu, { elu: 0.4, count: 1 })).toBeUndefined();
    expect(readProcess(elu, { cpu: 0.4, count: 5 })).toBeUndefined();
    expect(readProcess(elu, { elu: Number.NaN, count: 5 })).toBeUndefined();
    expect(readProcess(elu, undefined)).toBeUndefined();
  });
});
