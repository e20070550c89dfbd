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
  const tick = (): TickReport['scenes'][number] => {
    clock.advance(1000);
    return reg.tick().scenes[0]!;
  };
  /** Ticks `n` times on `signals`; returns the last report. */
  const run = (n: number, signals = sig(0.4)) => {
    src.signals = signals;
    let r = tick();
    for (let i = 1; i < n; i++) r = tick();
    return r;
  };
  return { clock, src, reg, changes, tick, run };
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

  it('is not opened by the cut of a probe: a raise that did not hold failed, it was no transient', () => {
    const x = rig();
    x.run(30);
    x.run(1, sig(1.5, 1400)); // an overload's cut
    for (let i = 0; i < 60 && x.tick().cost < 1; i++) x.src.signals = sig(0.4);
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
