/**
 * The bars of issue 4, held in the deterministic simulation (virtual clock, seeded RNG) against the real regulator.
 * Each scenario runs once per controller and is shared by the assertions on it.
 */
import { describe, expect, it } from 'vitest';
import type { ControllerKind } from '../src/simulate/controllers.js';
import { type Metrics, metricsOf } from '../src/simulate/metrics.js';
import { type RunResult, runScenario } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { scenarios } from '../src/simulate/scenarios.js';
import { feedScene } from '../src/simulate/model.js';
import { UsageError } from '../src/errors.js';

const all = scenarios();
const byName = (part: string): Scenario => all.find((s) => s.name.includes(part))!;
const cache = new Map<string, { run: RunResult; m: Metrics }>();
function measure(part: string, kind: ControllerKind = 'gearshift', tweak?: (s: Scenario) => Scenario) {
  const key = `${part}/${kind}/${tweak ? 'tweaked' : ''}`;
  let hit = cache.get(key);
  if (!hit) {
    const sc = tweak ? tweak(byName(part)) : byName(part);
    const run = runScenario(sc, kind);
    hit = { run, m: metricsOf(run, sc.disturbAt, sc.dropAt, sc.phases) };
    if (!tweak) cache.set(key, hit);
  }
  return hit;
}

describe('simulator', () => {
  it('is deterministic: the same scenario and seed give the same trace', () => {
    const sc = { ...byName('2x'), durationS: 90 };
    const a = runScenario(sc, 'gearshift');
    const b = runScenario(sc, 'gearshift');
    expect(a.seconds.map((s) => [s.offered, s.timeouts, s.changes, s.value])).toEqual(b.seconds.map((s) => [s.offered, s.timeouts, s.changes, s.value]));
    const c = runScenario({ ...sc, seed: 7 }, 'gearshift');
    expect(c.seconds.map((s) => s.offered)).not.toEqual(a.seconds.map((s) => s.offered));
  });

  it('runs a scenario made by hand, and refuses a malformed one by the field at fault', () => {
    const mine: Scenario = {
      name: 'mine', description: 'a checkout scene at 3x', servers: 4, durationS: 40, disturbAt: 10, dropAt: 30,
      scenes: [{ id: 'checkout', baseMs: 20, config: feedScene('checkout', { rtBudgetMs: 100 }) }],
      rate: (_s, t) => (t >= 10 && t < 30 ? 300 : 100),
    };
    const m = metricsOf(runScenario(mine, 'gearshift'), mine.disturbAt, mine.dropAt);
    expect(m.goodput).toBeGreaterThan(0.5);
    const bad: [Partial<Record<keyof Scenario, unknown>>, RegExp][] = [
      [{ servers: 0 }, /^runScenario: scenario\.servers: expected an integer ≥ 1, got 0/],
      [{ scenes: [] }, /scenario\.scenes: expected a non-empty array/],
      [{ scenes: [{ id: 'x', baseMs: -1, config: {} }] }, /scenario\.scenes\[0\]: expected \{ id: string, baseMs/],
      [{ rate: 300 }, /scenario\.rate: expected a function/],
      [{ dropAt: 5 }, /scenario\.dropAt: expected seconds after disturbAt/],
      [{ durationS: 1.5 }, /scenario\.durationS: expected whole seconds/],
    ];
    for (const [change, message] of bad) {
      expect(() => runScenario({ ...mine, ...change } as Scenario, 'gearshift')).toThrow(message);
      expect(() => runScenario({ ...mine, ...change } as Scenario, 'gearshift')).toThrow(UsageError);
    }
    expect(() => runScenario(mine, 'pid' as never)).toThrow(/controller: expected one of none, shedder, gearshift, got "pid"/);
    const badConfig = { ...mine, scenes: [{ ...mine.scenes[0]!, config: { ...mine.scenes[0]!.config, rtBudgetMs: -5 } }] };
    expect(() => runScenario(badConfig, 'gearshift')).toThrow(/scenes\.checkout\.rtBudgetMs/); // the config, by its path
  });

  it('offers the load open-loop, whatever the controller does', () => {
    const none = measure('10x, no preset', 'none').run;
    const gs = measure('10x, no preset').run;
    const offered = (r: RunResult) => r.seconds.slice(60, 180).reduce((a, s) => a + s.offered, 0);
    expect(offered(none)).toBe(offered(gs));
    expect(offered(gs) / 120).toBeGreaterThan(950);
  });
});

describe('bars: step to 2x (the seeds\' failover)', () => {
  const { m } = measure('2x');
  it('converges within 10 s, then times out at most 1%', () => {
    expect(m.convergedS).not.toBeNull();
    expect(m.convergedS!).toBeLessThanOrEqual(10);
    expect(m.timeoutRate).toBeLessThanOrEqual(0.01);
  });
  it('keeps goodput at 95% or more of offered, loses at most 7% quality, sheds nothing', () => {
    expect(m.goodput).toBeGreaterThanOrEqual(0.95);
    expect(m.qualityLost).toBeLessThanOrEqual(0.07);
    expect(m.qualityLost).toBeGreaterThan(0); // it did turn gears down
    expect(m.shedShare).toBe(0);
  });
  it('is back at full gear within 30 s of the load dropping, with at most 2 gear changes a minute in steady state', () => {
    expect(m.recoveryS).not.toBeNull();
    expect(m.recoveryS!).toBeLessThanOrEqual(30);
    expect(m.changesPerMin).toBeLessThanOrEqual(2);
  });
  it('beats no control and a reject-only shedder on the same load', () => {
    const none = measure('2x', 'none').m;
    const shedder = measure('2x', 'shedder').m;
    expect(none.timeoutRate).toBeGreaterThan(0.05);
    expect(m.goodput).toBeGreaterThan(none.goodput + 0.1);
    expect(m.goodput).toBeGreaterThan(shedder.goodput + 0.1);
  });
});

describe('bars: step to 10x', () => {
  it('with the 19:59 preset: at most 1% timeouts after convergence, back at full gear within 30 s of the drop', () => {
    const { m, run } = measure('19:59 preset');
    expect(m.convergedS).not.toBeNull();
    expect(m.timeoutRate).toBeLessThanOrEqual(0.01);
    expect(m.recoveryS!).toBeLessThanOrEqual(30);
    // The preset was in place before the spike (19:59:00 = 60 s in), not a reaction to it.
    expect(run.seconds[61]!.degraded).toBe(true);
    // 20:01:00 (180 s in), auto with fast recovery under 10x: it raises only what the headroom allows. Until the
    // twentieth session it added its full step there: 639 timeouts in 2 s; and full gear came back 21 s after the spike.
    expect(run.seconds.slice(180, 190).reduce((n, s) => n + s.timeouts, 0)).toBe(0);
    expect(m.recoveryS!).toBeLessThanOrEqual(10);
  });
  it('without a preset: converged within 20 s, back at full gear within 30 s', () => {
    const { m } = measure('10x, no preset');
    expect(m.convergedS).not.toBeNull();
    expect(m.convergedS!).toBeLessThanOrEqual(20);
    expect(m.timeoutRate).toBeLessThanOrEqual(0.01);
    expect(m.recoveryS!).toBeLessThanOrEqual(30);
    expect(measure('10x, no preset', 'none').m.goodput).toBeLessThan(0.05); // the cliff it avoided
  });
});

describe('bars: load patterns', () => {
  it('sawtooth 100 → 500 → 150 → 350 → 100: every phase converges and nothing oscillates in its second half', () => {
    const { m } = measure('sawtooth');
    expect(m.convergedS).not.toBeNull();
    expect(m.maxChangesLateInPhase).toBeLessThanOrEqual(2);
    expect(m.goodput).toBeGreaterThan(0.9);
  });
  it('idle then burst: converges and recovers', () => {
    const { m } = measure('idle then burst');
    expect(m.convergedS).not.toBeNull();
    expect(m.recoveryS!).toBeLessThanOrEqual(30);
  });
  it('night at 10% load: boost gears engaged, goals still in their bands', () => {
    const { m, run } = measure('night');
    expect(m.boosted).toBe(true);
    expect(m.qualityLost).toBeLessThan(0); // more value than at the normal top
    expect(m.timeoutRate).toBeLessThanOrEqual(0.01);
    const boosted = run.seconds.filter((s) => s.boosted);
    expect(boosted.length).toBeGreaterThan(120);
    expect(boosted.every((s) => s.inBand !== false)).toBe(true);
  });
  it('slow dependency and failover: converged, at most 1% timeouts, little quality lost, no shedding', () => {
    for (const name of ['slow dependency', 'failover']) {
      const { m } = measure(name);
      expect(m.convergedS, name).not.toBeNull();
      expect(m.timeoutRate, name).toBeLessThanOrEqual(0.01);
      expect(m.qualityLost, name).toBeLessThanOrEqual(0.07);
      expect(m.shedShare, name).toBe(0);
    }
  });
});

describe('shedding, the last resort', () => {
  it('beyond what the floor can serve: sheds a small share (low priority, after load-test traffic) instead of timing out', () => {
    const { m } = measure('beyond the floor');
    const shedder = measure('beyond the floor', 'shedder').m;
    expect(m.shedShare).toBeGreaterThan(0);
    expect(m.shedShare).toBeLessThan(0.2);
    expect(m.changesPerMin).toBeLessThanOrEqual(5); // the share holds in the band: it sawed at 84 shed steps a minute
    expect(m.timeoutRate).toBeLessThanOrEqual(0.01);
    expect(m.goodput).toBeGreaterThan(shedder.goodput + 0.5);
  });
});

describe('not one lucky seed', () => {
  it('holds the 2x bars on other seeds too', () => {
    for (const seed of [3, 5]) {
      const { m } = measure('2x', 'gearshift', (s) => ({ ...s, seed }));
      expect(m.convergedS, `seed ${seed}`).not.toBeNull();
      expect(m.convergedS!, `seed ${seed}`).toBeLessThanOrEqual(10);
      expect(m.timeoutRate, `seed ${seed}`).toBeLessThanOrEqual(0.01);
      expect(m.goodput, `seed ${seed}`).toBeGreaterThanOrEqual(0.95);
      expect(m.qualityLost, `seed ${seed}`).toBeLessThanOrEqual(0.07);
      expect(m.recoveryS!, `seed ${seed}`).toBeLessThanOrEqual(30);
    }
  });

  // "At most 2 gear changes a minute in steady state" (issue 4). A failed probe is two changes, and the dwell backs
  // off 5, 10, 20, 40, 60 s, so the probing settles to one a minute or less within about three minutes. Until the
  // twenty-fourth session this test read the 2x scenario's second minute on seeds 3 and 5, which held only by luck:
  // on the simulator with the same arrivals for every controller seed 3 made 5 changes there (and on the old one
  // seeds 1, 2, 7, 10 and 11 broke it). Now, with the probe dated from the climb and undone first, the second minute
  // makes 0–4 changes across seeds 1–20 and the fifth 0–2.
  it('settles to at most 2 changes a minute under a constant 2x load, on every seed of twenty', () => {
    const two = byName('2x');
    for (let seed = 1; seed <= 20; seed++) {
      const run = runScenario({ ...two, seed, durationS: 450, dropAt: 360, rate: (_s, t) => (t >= 60 && t < 360 ? 200 : 100) }, 'gearshift');
      const lastMinute = run.seconds.slice(300, 360).reduce((n, s) => n + s.changes, 0);
      expect(lastMinute, `seed ${seed}`).toBeLessThanOrEqual(2);
      const m = metricsOf(run, 60, 360);
      expect(m.timeoutRate, `seed ${seed}`).toBeLessThanOrEqual(0.01);
    }
  });
});

describe('metrics', () => {
  it('counts recovery to the first of ten seconds in a row with nothing degraded, not to a lucky second', () => {
    // Degraded for 5 s after the drop at 10 s, a 3 s lull, degraded 2 s more, then for good: recovery is 10 s.
    const degradedAt = (t: number) => t < 10 || (t >= 10 && t < 15) || (t >= 18 && t < 20);
    const seconds = Array.from({ length: 40 }, (_, t) => ({ offered: 100, rejected: 0, completed: 100, timeouts: 0, good: 100, value: 1, fullValue: 1, rts: [10], elu: 0.5, degraded: degradedAt(t), boosted: false, changes: 0 }));
    const run: RunResult = { scenario: 'synthetic', controller: 'gearshift', seconds, budgetMs: 200, target: 0.01, band: 0.25 };
    expect(metricsOf(run, 5, 10).recoveryS).toBe(10);
  });
});

describe('the bars can fail', () => {
  it('a regulator whose cuts are too timid misses the 2x convergence bar', () => {
    const { m } = measure('2x', 'gearshift', (s) => ({ ...s, regulator: { control: { maxDownPerTick: 0.01 }, goals: {} } }));
    expect(m.convergedS === null || m.convergedS > 10).toBe(true);
  });
  it('without the process ELU goal, the 2x steady state probes the edge again and again (p99 sees the cliff late)', () => {
    const { m } = measure('2x', 'gearshift', (s) => ({ ...s, regulator: { goals: {} } }));
    expect(m.changesPerMin).toBeGreaterThan(2);
  });
});
