import { describe, expect, it } from 'vitest';
import type { Goal } from '../src/regulate/goals.js';
import { type LawOptions, GoalLoop } from '../src/regulate/pid.js';
import { ManualClock } from '../src/clock.js';
import { sensingSource } from '../src/regulate/sensing-source.js';
import { ProcessLoad } from '../src/sense/process-load.js';
import { resolveSense } from '../src/config/schema-sense.js';
import { Outcome } from '../src/sense/outcome.js';
import { Sensing } from '../src/sense/sensing.js';
import { setup } from './regulate-helpers.js';

const LAW: LawOptions = { kp: 0.15, ki: 0.12, kd: 0, smoothing: 0.6, maxError: 2, hysteresis: 0.05 };
const elu: Goal = { kind: 'elu', target: 0.8, band: 0.25, minSamples: 1 };

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

describe('shedding on a process sample already taken in', () => {
  // Every gear at its floor, ELU saturated: shedding presses. A tick that re-reads a sample already taken in shed
  // another step until the twenty-sixth session: at a 200-ms period on 1-s samples the low-priority scene's share
  // went 0.1 → 0.9 (the maximum) in 2 s, five steps a sample, where a 1-s regulator sheds one.
  const shareOver = (periodMs: number, perSample: number) => {
    const { script, tick, reg } = setup({ periodMs, goals: { elu: { target: 0.85, band: 0.25 } }, boost: { enabled: false } });
    const shares: number[] = [];
    reg.on('shed', (e) => e.scene === 'tail' && shares.push(e.share));
    for (let i = 0; i < 12 * perSample; i++) {
      script.proc = { elu: 1, count: 10, taken: { elu: 1 + Math.floor(i / perSample) } };
      tick(periodMs);
    }
    expect(reg.gears()).toEqual({ feed: { a: 0, b: 0 }, tail: { c: 0 } });
    return shares;
  };

  it('sheds one step a sample, not one a tick: a 200-ms regulator on 1-s samples sheds as a 1-s one does', () => {
    const slow = shareOver(1000, 1);
    expect(slow.length).toBeGreaterThan(1);
    expect(shareOver(200, 5)).toEqual(slow); // before: [0, 0.1, 0.2, …, 0.9] within ten ticks of 200 ms
  });

  it('reports shares to the millionth: 0.3, not the 0.30000000000000004 that three steps of 0.1 add up to', () => {
    const shares = shareOver(1000, 1);
    expect(shares.slice(0, 5)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
  });
});

describe('an event-loop delay period without a sample', () => {
  it('is no sample, not a delay of 0 ms: a loop blocked through a whole period is not idle', () => {
    const load = new ProcessLoad({
      enabled: true,
      eventLoopDelay: { sampled: true, periodMs: 1000, samples: 3, resolutionMs: 20 },
      eventLoopUtilization: { periodMs: 1000, samples: 3 },
      cpu: { periodMs: 1000, samples: 3 },
    });
    load.start();
    try {
      const until = performance.now() + 60;
      while (performance.now() < until); // blocked: the monitor's timer cannot fire until this returns
      load.sampleEventLoopDelay();
      load.sampleEventLoopDelay();
      const s = load.stats();
      expect([s.eventLoopDelayP99.taken, s.eventLoopDelayMean.taken]).toEqual([0, 0]); // before: two samples of 0 ms
    } finally {
      load.stop();
    }
  });

  it('over a regulator: a delay goal holds its cut while the loop stays blocked, and cuts again on the next sample', () => {
    const { script, tick, reg } = setup({ periodMs: 200, goals: { eventLoopDelayMs: { target: 40 } } });
    script.proc = { eventLoopDelayMs: 300, taken: { eventLoopDelayMs: 1 } };
    tick(200);
    const cut = reg.snapshot().processAllowance;
    expect(cut).toBeLessThan(1);
    tick(200); // no new sample: the same one, which moves nothing and keeps the goal violated
    expect(reg.status()!.process[0]!.status).toBe('violated');
    expect(reg.snapshot().processAllowance).toBe(cut);
    script.proc = { eventLoopDelayMs: 300, taken: { eventLoopDelayMs: 2 } };
    tick(200);
    expect(reg.snapshot().processAllowance).toBeLessThan(cut);
  });
});

describe('sample counts across new sampling settings', () => {
  it('a reload that restarts the samplers counts on: a sample the regulator has read is never numbered again', () => {
    const sensing = new Sensing(resolveSense({ process: { eventLoopUtilization: { periodMs: 1000 } } }), new ManualClock(0));
    for (let i = 0; i < 3; i++) sensing.sampler.eventLoopUtilization.push(0.5);
    const source = sensingSource(sensing);
    // A request has completed and the regulator has read it: the source gives the process's figures from then on.
    const feed = { id: 'feed', index: 0, versions: [] };
    sensing.bind([feed]);
    sensing.record(feed, null, false, Outcome.Success, 10, 0);
    expect(source.scene('feed', 1)).toBeDefined();
    expect(source.process()!.taken!.elu).toBe(3);
    sensing.reconfigure(resolveSense({ process: { eventLoopUtilization: { periodMs: 500 } } }));
    sensing.sampler.eventLoopUtilization.push(0.9);
    // before: the new sampler counted from 0, and its third sample would have read as the one already taken in
    expect(source.process()!.taken!.elu).toBe(4);
    sensing.close();
  });
});
