/**
 * A cut made for a transient is given back in one move (regulate/transient.ts): one reading over the goal at the load
 * the gears had been serving, then a clean one. Driven with a manual clock and scripted signals, and through the
 * simulator's stalls.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import { validateConfig } from '../src/config/validate.js';
import type { GearChange, TickReport } from '../src/regulate/events.js';
import type { SceneSignals } from '../src/regulate/signals.js';
import { Regulator } from '../src/regulate/regulator.js';
import { metricsOf } from '../src/simulate/metrics.js';
import { runScenario } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { scenarios } from '../src/simulate/scenarios.js';
import { feedPoints } from '../src/simulate/model.js';
import { OneSceneSource, sig } from './regulate-helpers.js';

/** The simulator's feed scene (normal-top cost 1), its timeout goal only unless `regulator` sets process goals. */
function rig(regulator: RegulatorConfig = {}) {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const src = new OneSceneSource();
  const config = validateConfig({
    scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() } },
    regulator: { goals: {}, boost: { enabled: false }, ...regulator },
  });
  const reg = new Regulator({ config, clock, signals: src });
  const changes: GearChange[] = [];
  reg.on('change', (c) => changes.push(c));
  let cost = 1;
  const x = {
    clock, src, reg, changes,
    /**
     * The scene's reading when none is scripted: the calm service at 1,000 req/s, its response times in proportion
     * to the cost of the gears that served it (p50 20 ms and p99 80 ms at the top).
     */
    serve: (c: number): SceneSignals | undefined => sig(0.4 * c),
    /** One tick on `signals`, or on what `serve` gives for the gears of the last tick. */
    tick(signals?: SceneSignals): TickReport['scenes'][number] {
      src.signals = signals ?? x.serve(cost);
      clock.advance(1000);
      const r = reg.tick().scenes[0]!;
      cost = r.cost;
      return r;
    },
    /** Ticks `n` times (on `signals` if given); returns the last report. */
    run(n: number, signals?: SceneSignals) {
      let r = x.tick(signals);
      for (let i = 1; i < n; i++) r = x.tick(signals);
      return r;
    },
  };
  return x;
}

const reasons = (changes: readonly GearChange[]) => [...new Set(changes.map((c) => c.reason))];

describe('a cut made for a transient', () => {
  it('is given back in one move on the first clean reading at the same load, and the spike is not cut on again', () => {
    const x = rig();
    expect(x.run(30).cost).toBe(1); // the top has held at 1,000 req/s
    const cut = x.run(2, sig(3)); // a stall: two readings far over at the same load (its window is read twice)
    expect(cut.cost).toBeLessThan(1);
    x.changes.length = 0;
    expect(x.run(1).cost).toBe(1); // the next reading is clean: back at once, past the 5-s dwell
    expect(reasons(x.changes)).toEqual(['transient']);
    x.changes.length = 0;
    expect(x.run(30).cost).toBe(1);
    expect(x.changes).toEqual([]); // the smoothed pressure forgot the spike with the cut: no second cut
  });

  it('forgets the spike with the cut: a slowly smoothed pressure still reading over does not cut the give-back again', () => {
    const x = rig({ control: { smoothing: 0.05 } }); // the slowest smoothing a config takes
    x.run(30);
    x.run(8, sig(3)); // smoothed 0.4 → 1.18: over from the sixth reading
    x.changes.length = 0;
    expect(x.run(1).cost).toBe(1); // smoothed alone would read 1.14, then 1.10: still over, and cut again
    expect(x.run(10).cost).toBe(1);
    expect(reasons(x.changes)).toEqual(['transient']);
  });

  it('waits while the reading is in its band, and past four dwells leaves it to the ordinary climb', () => {
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5));
    x.changes.length = 0;
    x.run(3, sig(0.85)); // in the band: not yet clean
    expect(x.changes).toEqual([]);
    expect(x.run(1).cost).toBe(1);
    expect(reasons(x.changes)).toEqual(['transient']);

    const y = rig();
    y.run(30);
    y.run(1, sig(1.5));
    y.changes.length = 0;
    y.run(21, sig(0.85)); // past the episode's 20 s (4 × dwellMs)
    expect(y.run(1).cost).toBeLessThan(1);
    expect(y.run(1).cost).toBeLessThan(1); // the allowance climbs 0.04 a tick to the step it took (0.12)
    y.run(20);
    expect(reasons(y.changes)).toEqual(['headroom']);
  });

  it('is no transient on a load grown by a third, at the cut or after it', () => {
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5, 1400)); // the cut's own reading: 1,400 req/s against 1,000 calm
    x.changes.length = 0;
    x.run(4);
    expect(x.changes).toEqual([]); // the dwell holds: an overload's cut
    x.run(20);
    expect(reasons(x.changes)).toEqual(['headroom']);

    const y = rig();
    y.run(30);
    y.run(1, sig(1.5));
    y.changes.length = 0;
    y.run(1, sig(0.85, 1400)); // the load grows after the cut: the episode ends
    y.run(3); // back at 1,000 and clean, inside the dwell: nothing
    expect(y.changes).toEqual([]);
  });

  it('is undone when the gears before it do not fit after all, the dwell doubles, and nothing is given back twice', () => {
    const x = rig();
    x.run(30);
    const low = x.run(1, sig(1.5)).cost;
    expect(x.run(1).cost).toBe(1);
    x.changes.length = 0;
    expect(x.run(1, sig(1.5)).cost).toBeCloseTo(low, 9); // a slow dependency, say: the give-back fails as a probe and is undone
    x.changes.length = 0;
    const at = x.clock.now();
    for (let i = 0; i < 30 && x.changes.length === 0; i++) x.run(1);
    expect(x.changes[0]!.reason).toBe('headroom');
    expect(x.clock.now() - at).toBeGreaterThanOrEqual(10_000); // the dwell backed off from 5 s to 10 s
  });

  it('is no transient when the requests after the cut run slower for their cost than the calm ones did (a dependency that stays slow)', () => {
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5));
    x.serve = (c) => sig(0.4 * c * 1.8); // clean, but 1.8 times as slow per unit of cost
    x.changes.length = 0;
    x.run(4);
    expect(x.changes).toEqual([]);
    x.run(20);
    expect(reasons(x.changes)).toEqual(['headroom']);
    const y = rig();
    y.run(30);
    y.run(1, sig(1.5));
    y.serve = (c) => sig(0.4 * c * 1.4); // 1.4 times: within the half again a stall's backlog leaves
    y.changes.length = 0;
    y.run(1);
    expect(reasons(y.changes)).toEqual(['transient']);
  });

  it('is not opened by the cut of a probe: a raise that did not hold failed, it was no transient', () => {
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5, 1400)); // an overload's cut
    for (let i = 0; i < 60 && x.tick().cost < 1; i++);
    x.changes.length = 0;
    x.run(1, sig(1.5)); // just after the climb back: the probe fails
    x.run(4);
    expect(x.changes.filter((c) => c.reason === 'transient')).toEqual([]);
  });

  it('waits for a process goal in its band, as every raise does', () => {
    const x = rig({ goals: { elu: { target: 0.8, band: 0.25 } } });
    x.src.proc = { elu: 0.3 };
    x.run(30);
    x.src.proc = { elu: 0.7 }; // in the process goal's band (once smoothed): no scene raises
    x.run(5);
    x.run(1, sig(1.5));
    x.changes.length = 0;
    x.run(3);
    expect(x.changes).toEqual([]);
    x.src.proc = { elu: 0.3 };
    x.run(3);
    expect(reasons(x.changes)).toEqual(['transient']);
  });
});

describe('the simulator: a stall every 30 s', () => {
  it('a 400-ms stall every 30 s at normal load: each cut is back within 3 s, and the quality lost stays under 1%', () => {
    const sc: Scenario = scenarios().find((s) => s.name === 'stalls')!;
    const run = runScenario(sc, 'gearshift');
    for (const { atS } of sc.stalls!) {
      const k = Math.floor(atS);
      expect(run.seconds.slice(k - 2, k).every((s) => s.cost === 1)).toBe(true); // at the top before it
      expect(run.seconds.slice(k, k + 3).some((s) => s.cost! < 1)).toBe(true); // the stall's timeouts cut
      expect(run.seconds[k + 3]!.cost).toBe(1); // and the cut is back
    }
    const m = metricsOf(run, sc.disturbAt, sc.dropAt);
    expect(m.qualityLost).toBeLessThan(0.01); // 3.8% before the give-back (the 17 s climb back after every stall)
    const none = metricsOf(runScenario(sc, 'none'), sc.disturbAt, sc.dropAt);
    expect(m.goodput).toBeGreaterThan(none.goodput - 0.002); // the stalls' own timeouts: nothing more
  });
});

describe('a process cut made for a transient', () => {
  /** Process samples numbered as sensing numbers them: each value set is a new sample. */
  const proc = (x: ReturnType<typeof rig>) => {
    let taken = 0;
    return (elu: number) => void (x.src.proc = { elu, taken: { elu: ++taken } });
  };
  /** A rig whose process has read 30 samples at ELU 0.5 (the top held), and its sampler. */
  const settled = (o: { serve?: (cost: number) => SceneSignals | undefined; goals?: RegulatorConfig['goals'] } = {}) => {
    const x = rig({ goals: o.goals ?? { elu: { target: 0.85, band: 0.25 } } });
    if (o.serve) x.serve = o.serve;
    const sample = proc(x);
    for (let i = 0; i < 30; i++) {
      sample(0.5);
      x.tick();
    }
    return { x, sample };
  };

  it('is given back at the first new sample below its band, and the scenes take their gears back in the same tick', () => {
    const { x, sample } = settled();
    sample(1); // a stall saturates one sample
    expect(x.tick().cost).toBeLessThan(1);
    expect(reasons(x.changes.splice(0))).toEqual(['process']);
    expect(x.tick().cost).toBeLessThan(1); // the same sample, read again: nothing moves
    sample(0.45);
    expect(x.tick().cost).toBe(1);
    expect(reasons(x.changes.splice(0))).toEqual(['transient']);
    for (let i = 0; i < 20; i++) {
      sample(0.5);
      x.tick();
    }
    expect(x.changes).toEqual([]);
  });

  it('gives a scene too quiet for its goals to read its gears back on the word of the process', () => {
    const { x, sample } = settled({ serve: () => sig(0.4, 50) }); // 50 requests: under the timeout goal's 100
    sample(1);
    expect(x.tick().cost).toBeLessThan(1);
    sample(0.45);
    expect(x.tick().cost).toBe(1);
  });

  it('leaves the room of a process goal without data out of the give-back: a fast-recovery window stays finite', () => {
    const { x, sample } = settled({ goals: { elu: { target: 0.85, band: 0.25 }, cpu: { target: 0.9 } } }); // no CPU sample ever comes
    sample(1);
    x.tick();
    x.reg.setFastRecovery(true);
    sample(0.45);
    const r = x.tick();
    expect(r.allowance).toBe(1); // NaN when the goal without data lent its NaN room to the scene's fast-recovery step
    expect(r.cost).toBe(1);
  });

  it('is no transient when the load grew by a third, and a give-back that does not fit is undone', () => {
    const { x, sample } = settled();
    sample(1);
    x.serve = (c) => sig(0.4 * c, 1400); // the scenes' requests grew by 40%: an overload
    x.tick();
    sample(0.45);
    x.tick();
    expect(x.changes.filter((c) => c.reason === 'transient')).toEqual([]);

    const { x: y, sample: next } = settled();
    next(1);
    const low = y.tick().cost;
    next(0.45);
    expect(y.tick().cost).toBe(1);
    next(1); // the gears before it did not fit after all
    expect(y.tick().cost).toBeCloseTo(low, 9);
    y.changes.length = 0;
    for (let i = 0; i < 5; i++) {
      next(0.45);
      y.tick();
    }
    expect(y.changes).toEqual([]); // undone, and the dwell holds: no second give-back
  });
});

describe('regulator.transients', () => {
  it('giveBack: false leaves every cut to the ordinary climb after its dwell, the scene\'s and the process\'s', () => {
    const x = rig({ transients: { giveBack: false } });
    x.run(30);
    x.run(1, sig(1.5));
    x.changes.length = 0;
    x.run(4);
    expect(x.changes).toEqual([]); // the dwell holds
    x.run(20);
    expect(reasons(x.changes)).toEqual(['headroom']);

    const y = rig({ goals: { elu: { target: 0.85, band: 0.25 } }, transients: { giveBack: false } });
    let taken = 0;
    const sample = (elu: number) => void (y.src.proc = { elu, taken: { elu: ++taken } });
    for (let i = 0; i < 30; i++) {
      sample(0.5);
      y.tick();
    }
    sample(1);
    expect(y.tick().cost).toBeLessThan(1);
    sample(0.45);
    expect(y.tick().cost).toBeLessThan(1);
    expect(y.changes.filter((c) => c.reason === 'transient')).toEqual([]);
  });

  it('a reload keeps a scene\'s episode under way; one that switches give-backs off ends it', () => {
    const config = (giveBack: boolean, historySize = 1000) => validateConfig({
      scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() } },
      regulator: { goals: {}, boost: { enabled: false }, transients: { giveBack }, historySize },
    });
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5));
    x.reg.reload(config(true, 500)); // a reload between the cut and the clean reading
    x.changes.length = 0;
    expect(x.run(1).cost).toBe(1);
    expect(reasons(x.changes)).toEqual(['transient']); // until this session the reload forgot it: back after 20 s

    const y = rig();
    y.run(30);
    y.run(1, sig(1.5));
    y.reg.reload(config(false));
    y.changes.length = 0;
    y.run(1);
    y.reg.reload(config(true));
    y.run(3);
    expect(y.changes).toEqual([]); // still inside the dwell, and the episode is gone
  });

  it('maxSlower lets a service whose requests run slower after a cut (a large fixed cost per request) give back', () => {
    const run = (maxSlower: number) => {
      const x = rig({ transients: { maxSlower } });
      x.run(30);
      x.run(1, sig(1.5));
      x.serve = (c) => sig(0.4 * c * 1.8);
      x.changes.length = 0;
      x.run(1);
      return reasons(x.changes);
    };
    expect(run(1.5)).toEqual([]);
    expect(run(2)).toEqual(['transient']);
  });

  it('a maxSlower below 1 or a giveBack that is no boolean is refused with its path', () => {
    const base = { scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() } } };
    expect(() => validateConfig({ ...base, regulator: { transients: { maxSlower: 0.5 } } })).toThrow(/regulator\.transients\.maxSlower/);
    expect(() => validateConfig({ ...base, regulator: { transients: { giveBack: 'yes' } } })).toThrow(/regulator\.transients\.giveBack/);
  });
});
