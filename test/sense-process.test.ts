import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProcessLoad } from '../src/sense/process-load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: ProcessLoad[] = [];
afterEach(() => started.splice(0).forEach((p) => p.stop()));

/** A sampler, every metric every `periodMs` over 3 samples, with the delay monitor's resolution `resolutionMs`. */
const loadWith = (o: { enabled?: boolean; sampled?: boolean; periodMs: number; resolutionMs?: number; cpuPeriodMs?: number }) =>
  new ProcessLoad({
    enabled: o.enabled ?? true,
    eventLoopDelay: { sampled: o.sampled ?? true, periodMs: o.periodMs, samples: 3, resolutionMs: o.resolutionMs ?? 5 },
    eventLoopUtilization: { periodMs: o.periodMs, samples: 3 },
    cpu: { periodMs: o.cpuPeriodMs ?? o.periodMs, samples: 3 },
  });

describe('process load', () => {
  it('sees a deliberately blocked event loop within one sampling interval, then forgets it', async () => {
    const period = 100;
    const load = loadWith({ periodMs: period });
    started.push(load);
    load.start();
    await sleep(period * 3.5); // a few quiet samples first
    const quiet = load.stats();
    expect(quiet.eventLoopDelayP99.samples).toBeGreaterThan(0);
    expect(quiet.eventLoopDelayP99.max).toBeLessThan(150);

    const until = performance.now() + 300; // bounded: 300 ms of busy loop
    while (performance.now() < until);
    await sleep(period * 1.2); // within one interval of unblocking

    const busy = load.stats();
    expect(busy.eventLoopDelayP99.max).toBeGreaterThan(200);
    expect(busy.eventLoopUtilization.max).toBeGreaterThan(0.6); // the sample holding the block: >= 300 / (300 + one period)
    expect(busy.cpu.max).toBeGreaterThan(0.3); // loose: the machine is shared

    await sleep(period * 4.5); // the 3-sample windows have rolled past the block: per interval, never cumulative
    expect(load.stats().eventLoopDelayP99.max).toBeLessThan(150);
  });

  it('keeps no timer alive and samples nothing when disabled', () => {
    const load = loadWith({ enabled: false, periodMs: 10 });
    load.start();
    load.sampleEventLoopDelay();
    load.sampleCpu();
    expect(load.stats().cpu.samples).toBe(0);
  });

  it('wakes once per distinct period: samplers with the same period share a timer', () => {
    const intervals = vi.spyOn(globalThis, 'setInterval');
    try {
      const same = loadWith({ periodMs: 1000, resolutionMs: 20 });
      started.push(same);
      same.start();
      expect(intervals).toHaveBeenCalledTimes(1);
      intervals.mockClear();
      const mixed = loadWith({ sampled: false, periodMs: 1000, cpuPeriodMs: 500 });
      started.push(mixed);
      mixed.start();
      expect(intervals.mock.calls.map((c) => c[1] as number).sort((a, b) => a - b)).toEqual([500, 1000]);
    } finally {
      intervals.mockRestore();
    }
  });

  it('leaves the event-loop delay monitor off unless it is sampled, and samples the rest', async () => {
    const load = loadWith({ sampled: false, periodMs: 10 });
    started.push(load);
    load.start();
    await sleep(60);
    load.sampleEventLoopDelay(); // no monitor to read: nothing is pushed
    const s = load.stats();
    expect(s.eventLoopDelayP99.samples).toBe(0);
    expect(s.eventLoopDelayMean.samples).toBe(0);
    expect(s.eventLoopUtilization.samples).toBeGreaterThan(0);
    expect(s.cpu.samples).toBeGreaterThan(0);
  });
});
