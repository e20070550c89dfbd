import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { resolveSense, SENSE_DEFAULTS } from '../src/config/schema-sense.js';
import { validateConfig } from '../src/config/validate.js';
import { createGearshift } from '../src/engine.js';
import { HistogramLayout } from '../src/sense/layout.js';
import { classify, Outcome, outcomeOf } from '../src/sense/outcome.js';
import { maxOfMeans, meanOf, SampleWindow } from '../src/sense/samples.js';
import { Series, SeriesShape } from '../src/sense/series.js';
import { Stats, StatsReader } from '../src/sense/stats.js';
import type { GearshiftConfig } from '../src/config/schema.js';

/** A deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Log-normal RTs around ~20 ms with a long tail, in ms. */
const lognormal = (r: () => number) => () => Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));

const shapeOf = (o = SENSE_DEFAULTS) =>
  new SeriesShape(o.outcomes.slots, o.outcomes.slotMs, o.rt.slots, o.rt.slotMs, new HistogramLayout(o.rt.precisionBits, o.rt.maxMs));
const read = (shape: SeriesShape, list: Series[], now: number, lastSlots = 0) => {
  for (const s of list) s.advance(now);
  return new StatsReader(shape).read(list, lastSlots, now, new Stats());
};
const refQuantile = (sorted: number[], q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;

describe('histogram layout', () => {
  it('puts every value in a bucket that contains it, no wider than 1/2^bits of its lower edge', () => {
    for (const bits of [1, 2, 4, 6, 8]) {
      const l = new HistogramLayout(bits, 60_000);
      let prev = -1;
      for (let us = 0; us < 2_000_000; us = us < 5000 ? us + 1 : Math.ceil(us * 1.003)) {
        const i = l.index(us / 1000);
        expect(i).toBeGreaterThanOrEqual(prev);
        prev = i;
        expect(l.lowerUnits(i)).toBeLessThanOrEqual(us);
        expect(us).toBeLessThan(l.lowerUnits(i) + l.widthUnits(i));
        if (i >= 2 * l.half) expect(l.widthUnits(i) / l.lowerUnits(i)).toBeLessThanOrEqual(1 / l.half);
      }
    }
  });

  it('clamps hostile values instead of throwing', () => {
    const l = new HistogramLayout(4, 60_000);
    expect(l.index(NaN)).toBe(0);
    expect(l.index(-5)).toBe(0);
    expect(l.index(Infinity)).toBe(l.buckets - 1);
    expect(l.index(1e12)).toBe(l.buckets - 1);
    expect(l.buckets).toBe(365); // 32 exact + 16 per octave up to 60 s in µs
  });

  it('reads percentiles within the stated precision of a sorted-array reference', () => {
    for (const bits of [1, 2, 3, 4, 5, 6, 8]) {
      const shape = new SeriesShape(10, 1000, 10, 1000, new HistogramLayout(bits, 60_000));
      const next = lognormal(rng(bits));
      for (const n of [1, 2, 7, 100, 10_000]) {
        const values = Array.from({ length: n }, next).map((v) => Math.min(v, 59_000));
        const s = new Series(shape, 0);
        values.forEach((v, i) => s.record(Outcome.Success, v, (i * 9000) / n));
        const sorted = [...values].sort((a, b) => a - b);
        const st = read(shape, [s], 9500);
        expect(st.max).toBe(sorted[n - 1]);
        for (const [q, got] of [[0.5, st.p50], [0.9, st.p90], [0.99, st.p99], [0.999, st.p999]] as const) {
          const ref = refQuantile(sorted, q);
          // Midpoint of a bucket at most 1/2^bits wide, plus the 1 µs of integer truncation.
          expect(Math.abs(got - ref)).toBeLessThanOrEqual(ref / 2 ** (bits + 1) + 0.001);
        }
      }
    }
  });
});

describe('rolling windows', () => {
  const o = SENSE_DEFAULTS; // 10 × 1 s for both windows

  it('rotates by time: each slot holds its second, the window forgets the oldest', () => {
    const clock = new ManualClock(0);
    const shape = shapeOf(o);
    const s = new Series(shape, 0);
    for (let sec = 0; sec < 12; sec++) {
      for (let k = 0; k <= sec; k++) s.record(Outcome.Success, 10, clock.now());
      if (sec < 11) clock.advance(1000);
    }
    // Slots 2..11 remain (seconds 0 and 1 rotated out): 3+4+…+12 requests.
    clock.advance(500);
    const all = read(shape, [s], clock.now());
    expect(all.count).toBe(75);
    expect(read(shape, [s], clock.now(), 1).count).toBe(12);
    expect(read(shape, [s], clock.now(), 3).count).toBe(12 + 11 + 10);
    expect(all.rtCount).toBe(75);
  });

  it('clears every elapsed slot after an idle gap, and everything after a gap longer than the window', () => {
    const clock = new ManualClock(0);
    const shape = shapeOf(o);
    const s = new Series(shape, 0);
    for (let sec = 0; sec < 10; sec++) {
      s.record(Outcome.Success, 5, sec * 1000 + 1);
      s.record(Outcome.Error, 5, sec * 1000 + 2);
    }
    // A 3-slot gap: seconds 10, 11, 12 pass idle; at 13 s the slots of seconds 0–3 are gone, 4–9 remain.
    clock.set(13_100);
    s.record(Outcome.Success, 5, clock.now());
    const st = read(shape, [s], clock.now());
    expect(st.count).toBe(6 * 2 + 1);
    expect(st.error).toBe(6);
    expect(st.rtCount).toBe(13);
    // A gap longer than the window: nothing survives, in either window.
    clock.set(40_000);
    const empty = read(shape, [s], clock.now());
    expect(empty.count).toBe(0);
    expect(empty.rtCount).toBe(0);
    expect(empty.p99).toBe(0);
    expect(empty.max).toBe(0);
  });

  it('keeps the whole-window histogram row equal to the sum of the slot rows through any rotation', () => {
    const r = rng(7);
    const shape = shapeOf({ ...o, rt: { ...o.rt, slots: 5, slotMs: 100 } });
    const s = new Series(shape, 0);
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      now += r() < 0.001 ? 700 * r() : r() * 3;
      s.record(Outcome.Success, r() * 500, now);
    }
    s.advance(now);
    const nb = shape.layout.buckets;
    const h = s.hist!;
    for (let b = 0; b < nb; b++) {
      let sum = 0;
      for (let slot = 0; slot < 5; slot++) sum += h[slot * nb + b]!;
      expect(h[5 * nb + b]).toBe(sum);
    }
  });

  it('merges series slot by slot and reads percentiles over the whole window or the last slots', () => {
    const shape = shapeOf(o);
    const a = new Series(shape, 0);
    const b = new Series(shape, 0);
    const values: number[] = [];
    const next = lognormal(rng(3));
    for (let i = 0; i < 5000; i++) {
      const v = next();
      values.push(v);
      (i % 2 ? a : b).record(Outcome.Success, v, Math.floor(i / 1000) * 1000 + 1);
    }
    const st = read(shape, [a, b], 4500);
    const sorted = [...values].sort((x, y) => x - y);
    expect(st.count).toBe(5000);
    expect(st.max).toBe(sorted[4999]);
    expect(st.mean).toBeCloseTo(values.reduce((x, y) => x + y, 0) / 5000, 6);
    for (const [q, got] of [[0.5, st.p50], [0.9, st.p90], [0.99, st.p99], [0.999, st.p999]] as const) {
      const ref = refQuantile(sorted, q);
      expect(Math.abs(got - ref)).toBeLessThanOrEqual(ref / 16 + 0.001);
    }
    const last = read(shape, [a, b], 4500, 1);
    const lastSorted = values.slice(4000).sort((x, y) => x - y);
    expect(last.count).toBe(1000);
    expect(Math.abs(last.p99 - refQuantile(lastSorted, 0.99))).toBeLessThanOrEqual(refQuantile(lastSorted, 0.99) / 16 + 0.001);
  });

  it('divides the rate by the time the window covers, never by time before the series existed', () => {
    const shape = shapeOf(o);
    const s = new Series(shape, 2000);
    for (let i = 0; i < 300; i++) s.record(Outcome.Success, 1, 2000 + i * 10);
    expect(read(shape, [s], 5000).rate).toBeCloseTo(100, 6); // 300 in the 3 s since birth
    expect(read(shape, [s], 20_000).rate).toBe(0);
  });

  it('counts shed and rejected requests without letting their instant answers into the RT figures', () => {
    const shape = shapeOf(o);
    const s = new Series(shape, 0);
    s.record(Outcome.Shed, 0.01, 1);
    s.record(Outcome.Rejected, 0.01, 1);
    s.record(Outcome.Timeout, 250, 1);
    const st = read(shape, [s], 2);
    expect([st.count, st.shed, st.rejected, st.timeout, st.rtCount, st.timeoutRate]).toEqual([3, 1, 1, 1, 1, 1 / 3]);
    expect(Math.abs(st.p50 - 250)).toBeLessThanOrEqual(250 / 16);
  });

  it('keeps a series that only counts answers without service time small, and all of a timed one in one buffer', () => {
    const shape = shapeOf(o);
    const s = new Series(shape, 0);
    s.record(Outcome.Rejected, 0.01, 1);
    s.record(Outcome.Shed, 0.01, 2);
    expect(s.hist).toBeNull(); // counters only: no histogram for a series of rejections
    s.record(Outcome.Success, 20, 3);
    // one buffer for counters, RT sums and both histograms (fewer memory pages per record), counts carried over
    expect([s.rt!.buffer, s.coarse!.buffer, s.hist!.buffer].every((b) => b === s.counts!.buffer)).toBe(true);
    const st = read(shape, [s], 4);
    expect([st.count, st.rejected, st.shed, st.rtCount]).toEqual([3, 1, 1, 1]);
  });
});

describe('outcome classes', () => {
  it('follows the documented precedence: shed > rejected > timeout > client abort > error > degraded > success', () => {
    const budget = 200;
    expect(classify(Outcome.Success, false, false, 1, budget)).toBe(Outcome.Rejected);
    expect(classify(Outcome.Shed, false, false, 1, budget)).toBe(Outcome.Shed);
    expect(classify(Outcome.Shed, true, true, 500, budget)).toBe(Outcome.Shed);
    expect(classify(Outcome.Error, true, false, 201, budget)).toBe(Outcome.Timeout);
    expect(classify(Outcome.ClientAbort, true, false, 300, budget)).toBe(Outcome.Timeout);
    expect(classify(Outcome.ClientAbort, true, false, 50, budget)).toBe(Outcome.ClientAbort);
    expect(classify(Outcome.Timeout, true, false, 50, budget)).toBe(Outcome.Timeout);
    expect(classify(Outcome.Error, true, true, 50, budget)).toBe(Outcome.Error);
    expect(classify(Outcome.Success, true, true, 50, budget)).toBe(Outcome.Degraded);
    expect(classify(Outcome.Success, true, false, 200, budget)).toBe(Outcome.Success);
  });

  it('takes codes or names, and counts anything else as an error', () => {
    expect(outcomeOf('clientAbort')).toBe(Outcome.ClientAbort);
    expect(outcomeOf(Outcome.Shed)).toBe(Outcome.Shed);
    for (const bad of [7, -1, 1.5, NaN, 'ok', null, undefined]) expect(outcomeOf(bad)).toBe(Outcome.Error);
  });
});

describe('sample windows', () => {
  it('keeps the last N samples and aggregates by mean and by max of means', () => {
    const a = new SampleWindow(3);
    const b = new SampleWindow(3);
    [1, 2, 3, 4].forEach((v) => a.push(v));
    b.push(10);
    expect(a.stats()).toEqual({ last: 4, mean: 3, max: 4, samples: 3, taken: 4 });
    expect(maxOfMeans([a, b, new SampleWindow(2)])).toBe(10);
    expect(meanOf([a, b])).toBe((2 + 3 + 4 + 10) / 4);
  });
});

describe('sense config', () => {
  const doc = (sense: unknown) => ({ scenes: { s: { versions: { v: { stage: 'base' } } } }, sense });

  it('fills every default and keeps what is given', () => {
    expect(resolveSense(undefined)).toEqual(SENSE_DEFAULTS);
    const r = resolveSense(validateConfig(doc({ rt: { slots: 30 }, process: { cpu: { periodMs: 250 } } })).sense);
    expect(r.rt).toEqual({ ...SENSE_DEFAULTS.rt, slots: 30 });
    expect(r.process.cpu).toEqual({ periodMs: 250, samples: 10 });
    expect(r.process.eventLoopDelay).toEqual(SENSE_DEFAULTS.process.eventLoopDelay);
  });

  it('refuses bad settings with their path', () => {
    expect(() => validateConfig(doc({ rt: { precisionBits: 12 } }))).toThrow(/sense\.rt\.precisionBits/);
    expect(() => validateConfig(doc({ outcomes: { slots: 0 } }))).toThrow(/sense\.outcomes\.slots/);
    expect(() => validateConfig(doc({ process: { elu: {} } }))).toThrow(/sense\.process\.elu: unknown field/);
    expect(() => validateConfig(doc({ process: { eventLoopDelay: { sample: 'sometimes' } } }))).toThrow(/sense\.process\.eventLoopDelay\.sample/);
    const never = doc({ process: { eventLoopDelay: { sample: 'never' } } });
    expect(() => validateConfig(never)).not.toThrow();
    expect(() => validateConfig({ ...never, regulator: { goalSets: { peak: { process: { eventLoopDelayMs: { target: 50 } } } } } })).toThrow(
      /sense\.process\.eventLoopDelay\.sample: 'never' leaves the regulator's eventLoopDelayMs goal without a measurement/,
    );
    const off = doc({ process: { enabled: false } });
    expect(() => validateConfig(off)).not.toThrow(); // the implicit default goal just goes unmeasured
    expect(() => validateConfig({ ...off, regulator: { goals: { cpu: { target: 0.9 } } } })).toThrow(
      /sense\.process\.enabled: false leaves the regulator's cpu goal without a measurement/,
    );
  });

  it('samples event-loop delay only when asked, or (auto) when a process goal names it', () => {
    const sampled = (process: unknown, goal: boolean) => resolveSense(validateConfig(doc({ process })).sense, goal).process.eventLoopDelay.sampled;
    expect(sampled(undefined, false)).toBe(false);
    expect(sampled(undefined, true)).toBe(true);
    expect(sampled({ eventLoopDelay: { sample: 'always' } }, false)).toBe(true);
    expect(sampled({ eventLoopDelay: { sample: 'never' } }, true)).toBe(false);
    expect(sampled({ eventLoopDelay: { sample: 'auto', resolutionMs: 10 } }, true)).toBe(true);
  });

  it('turns the monitor on in the engine for an event-loop delay goal: the goals, a zone, a goal set, or by reload', () => {
    const base: GearshiftConfig = { scenes: { s: { versions: { v: { stage: 'base' } } } } };
    const sampledIn = (regulator?: GearshiftConfig['regulator']) => {
      const gs = createGearshift({ config: { ...base, regulator } });
      try {
        return gs.sensing.sampler.options.eventLoopDelay.sampled;
      } finally {
        gs.close();
      }
    };
    const eld = { eventLoopDelayMs: { target: 50 } };
    expect(sampledIn()).toBe(false); // the default goal is utilisation
    expect(sampledIn({ goals: eld })).toBe(true);
    expect(sampledIn({ goals: { elu: { target: 0.8 }, zones: { east: eld } } })).toBe(true);
    expect(sampledIn({ goalSets: { peak: { process: eld } } })).toBe(true);
    expect(sampledIn({ goals: { cpu: { target: 0.9 } } })).toBe(false);

    const gs = createGearshift({ config: base });
    try {
      const before = gs.sensing.sampler;
      gs.reload({ ...base, regulator: { goals: eld } });
      expect(gs.sensing.sampler).not.toBe(before); // the samplers restarted with the monitor on
      expect(gs.sensing.sampler.options.eventLoopDelay.sampled).toBe(true);
      expect([before.running, gs.sensing.sampler.running]).toEqual([false, true]); // the old ones stopped, the new ones run
    } finally {
      gs.close();
    }
  });
});
