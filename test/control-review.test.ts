/**
 * Control review of the gear regulator: faults found by driving the regulator with a manual clock and scripted
 * signals, and the simulator (virtual clock, seeded RNG). Every test here failed on the reviewed code (14fc0e9,
 * nineteenth session) and names the behaviour it expects; the README's Regulation section says what changed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import { validateConfig } from '../src/config/validate.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import type { GearChange, TickReport } from '../src/regulate/events.js';
import { Regulator } from '../src/regulate/regulator.js';
import { sensingSource } from '../src/regulate/sensing-source.js';
import type { ProcessSignals, SceneSignals } from '../src/regulate/signals.js';
import { feedPoints, feedScene } from '../src/simulate/model.js';
import { runScenario } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { scenarios } from '../src/simulate/scenarios.js';
import { SlotWindow } from '../src/simulate/window.js';
import { OneSceneSource, sig } from './regulate-helpers.js';

/** The simulator's feed scene (recall, rank, creatives; normal-top cost 1, floor cost 0.12) under a manual clock. */
function rig(regulator: RegulatorConfig = {}, scene: Record<string, unknown> = {}) {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const src = new OneSceneSource();
  const config = validateConfig({
    scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints(), ...scene } },
    regulator: { goals: {}, boost: { enabled: false }, ...regulator },
  });
  const reg = new Regulator({ config, clock, signals: src });
  const changes: GearChange[] = [];
  reg.on('change', (c) => changes.push(c));
  const tick = (): TickReport => {
    clock.advance(1000);
    return reg.tick();
  };
  return { clock, src, reg, changes, tick };
}

const TOP = { recall: 7, rank: 4, creatives: 3 };

describe('what a limit took comes back to a scene whose goals cannot read', () => {
  // Fault: a template's cut is never given back to a scene whose goals have no data, even in fast recovery (README: templates are limits, and what a limit took is owed back). Expected: back at its normal top, as after a cap.
  it('after the peak preset, auto and fast recovery, a quiet scene returns to its normal top', () => {
    // The same cut made by a cap comes back (held up): the contrast.
    const capped = rig();
    capped.reg.setCaps({ feed: { recall: 0, rank: 0, creatives: 0 } });
    capped.tick();
    capped.reg.setCaps({});
    for (let i = 0; i < 60; i++) capped.tick();
    expect(capped.reg.gears().feed).toEqual(TOP);

    const x = rig({ templates: { peak: { feed: { recall: 0, rank: 0, creatives: 0 } } } });
    x.reg.setMode('fixed', 'peak preset');
    x.reg.applyTemplate('peak');
    for (let i = 0; i < 60; i++) x.tick();
    x.reg.setMode('auto', 'peak over');
    x.reg.setFastRecovery(true);
    for (let i = 0; i < 300; i++) x.tick();
    expect(x.reg.gears().feed).toEqual(TOP); // actual: { recall: 0, rank: 0, creatives: 0 } for good
  });

  // Fault: a scene cut during a burst whose traffic then falls below minSamples per window stays degraded for good (no goal ever shows the room it has). Expected: it gets its gears back, like a scene a cap or the process ladder cut.
  it('a scene cut during a burst is back at full gear minutes after its traffic returns to 5 req/s', () => {
    const sc: Scenario = {
      name: 'burst then quiet', description: '5 req/s, 600 req/s for 30 s, then 5 req/s again',
      scenes: [{ id: 'feed', baseMs: 40, config: feedScene() }], servers: 8, durationS: 400, disturbAt: 60, dropAt: 90,
      rate: (_s, t) => (t >= 60 && t < 90 ? 600 : 5),
    };
    const run = runScenario(sc, 'gearshift');
    expect(run.seconds[80]!.degraded).toBe(true); // the burst was cut (as it should be)
    expect(run.seconds[399]!.cost).toBeCloseTo(1, 6); // actual: 0.59 from t = 98 s to the end, 300 s later
  });
});

describe('anti-windup', () => {
  // Fault: the process allowance is not kept in step with the gears; after a scene goal cut the gears, a sustained process-goal violation first spends ~25 ticks cutting ladder positions that are already off. Expected: the first process cut within a few ticks, as at the top.
  it('a sustained process-goal violation moves a gear within 5 ticks even when a scene goal had cut the gears first', () => {
    const x = rig({ goals: { elu: { target: 0.85, band: 0.25 } } });
    x.src.proc = { elu: 0.3, count: 10 };
    x.src.signals = sig(0.5);
    x.tick();
    x.src.signals = sig(3);
    for (let i = 0; i < 3; i++) x.tick(); // the scene's own goal cuts it (to cost 0.4)
    x.src.signals = sig(0.85); // then holds it, in band
    for (let i = 0; i < 30; i++) x.tick();
    expect(x.reg.status()!.scenes[0]!.cost).toBeLessThan(0.6);
    x.changes.length = 0;
    x.src.proc = { elu: 1.0, count: 10 }; // the process 18% over its goal, and staying there
    let ticks = 0;
    while (x.changes.length === 0 && ticks < 60) {
      x.tick();
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(5); // actual: 27 ticks of a violated process goal before any gear moves
  });

  // Fault: the process loop moves one ladder position at a time whatever load a step carries, so with an idle scene holding the lowest-benefit steps a saturated process waits ~20 ticks (cutting the idle scene, which saves nothing) before the busy scene's first cut. Expected: the busy scene cut within a few ticks (the idle scene may still go first).
  it('a saturated process cuts the scene that carries the load within 5 ticks, though an idle scene holds the lowest-benefit steps', () => {
    const cheap = feedPoints();
    for (const k of Object.keys(cheap)) cheap[k] = { ...cheap[k]!, value: cheap[k]!.value!.map((v) => v * 0.1) };
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const sources: Record<string, SceneSignals | undefined> = { busy: sig(0.5), idle: undefined }; // the idle scene has no traffic
    let proc: ProcessSignals = { elu: 0.5, count: 10 };
    const reg = new Regulator({
      config: validateConfig({
        scenes: {
          busy: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() },
          idle: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: cheap },
        },
        regulator: { goals: { elu: { target: 0.85, band: 0.25 } }, boost: { enabled: false } },
      }),
      clock,
      signals: { scene: (id) => sources[id], process: () => proc },
    });
    const changes: GearChange[] = [];
    reg.on('change', (c) => changes.push(c));
    const tick = () => {
      clock.advance(1000);
      reg.tick();
    };
    for (let i = 0; i < 5; i++) tick();
    proc = { elu: 1.0, count: 10 }; // saturated, and staying there
    let ticks = 0;
    while (!changes.some((c) => c.scene === 'busy') && ticks < 60) {
      tick();
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(5); // actual: 21 ticks at ELU 1.0, the idle scene cut from cost 1 to 0.21 meanwhile
  });

  // Fault: the scene allowance runs ahead of the gears during a climb that stalls below the next step (surplus up to one step), and a later violation must first integrate that surplus away. Expected: a sustained 10% violation cuts within 3 ticks wherever the allowance sits between two gear costs.
  it('a sustained 10% violation cuts within 3 ticks after a climb that stalled below the next step', () => {
    const ticksToFirstCut = (climbUntilSurplus: number) => {
      const x = rig();
      x.src.signals = sig(0.8);
      x.tick();
      x.src.signals = sig(3);
      x.tick();
      x.tick(); // cut to cost 0.59
      x.src.signals = sig(0.4);
      for (let i = 0; i < 40; i++) {
        const s = x.tick().scenes[0]!;
        if (s.allowance - s.cost >= climbUntilSurplus) break;
      }
      x.src.signals = sig(0.85); // in band: holds
      for (let i = 0; i < 10; i++) x.tick();
      x.changes.length = 0;
      x.src.signals = sig(1.1); // 10% over, sustained
      for (let n = 1; n <= 60; n++) {
        x.tick();
        if (x.changes.some((c) => c.reason === 'violated')) return n;
      }
      return Infinity;
    };
    expect(ticksToFirstCut(0)).toBeLessThanOrEqual(3); // allowance at the gears' cost: 2 ticks
    expect(ticksToFirstCut(0.1)).toBeLessThanOrEqual(3); // allowance 0.84 over gears costing 0.73: actual 10 ticks
  });
});

describe('shedding is the last resort', () => {
  // Fault: after the overload ends, the scene keeps shedding (draining 0.05 a tick) while its gears climb far above their floor with every goal showing headroom (README: requests are refused only when every point is at its floor and a goal is still violated). Expected: no tick sheds while a gear is above its floor.
  it('never refuses requests while it is raising gears above their floor', () => {
    const x = rig({}, { priority: 'low' });
    x.src.signals = sig(3, 1000, 0.3);
    for (let i = 0; i < 20; i++) x.tick(); // at the floor, still violated: sheds up to 0.9
    expect(x.reg.status()!.scenes[0]!.shedShare).toBeCloseTo(0.9, 6);
    x.src.signals = sig(0.3); // the load is gone: deep headroom
    const bad: string[] = [];
    for (let i = 0; i < 30; i++) {
      const s = x.tick().scenes[0]!;
      if ((s.shedShare > 0 || s.shedLoadTest) && s.cost > 0.12 + 1e-9) bad.push(`t+${i + 1}s cost ${s.cost.toFixed(2)} shed ${s.shedShare.toFixed(2)}`);
    }
    expect(bad).toEqual([]); // actual: 17 ticks, e.g. cost 0.73 while still shedding 5%, cost 0.40 while shedding 50%
  });
});

describe('dwell back-off', () => {
  // Fault: a dwell backed off to maxDwellMs never halves once the edge is gone (the raise that held is not followed by another raise more than 4 dwells after a cut), so a one-off cut 10 minutes later waits 60 s. Expected (README: "a raise that holds halves it"): at most half of that.
  it('after a backed-off dwell, a raise that held for 10 minutes halves it', () => {
    const x = rig();
    let r = x.tick();
    for (let i = 0; i < 400; i++) {
      x.src.signals = r.scenes[0]!.cost > 0.9 ? sig(1.3) : sig(0.4); // an edge between the top and one step below
      r = x.tick();
    }
    x.src.signals = sig(0.4); // the edge is gone: headroom at the top for 10 minutes
    for (let i = 0; i < 600; i++) r = x.tick();
    expect(r.scenes[0]!.cost).toBe(1);
    x.changes.length = 0;
    x.src.signals = sig(1.5, 1500); // one bad tick, at a load grown by half: an overload's cut, not a transient's (given back at once, see transient-cut.test.ts)
    x.tick();
    const cutAt = x.clock.now();
    x.src.signals = sig(0.4);
    let waited = Infinity;
    for (let i = 0; i < 120 && waited === Infinity; i++) {
      x.tick();
      if (x.changes.some((c) => c.reason === 'headroom')) waited = (x.clock.now() - cutAt) / 1000;
    }
    expect(waited).toBeLessThanOrEqual(35); // actual: 62 s (7 s for a regulator that never backed off)
  });

  // Fault: the load-drop reset compares the completion rate at the cut (inflated by the backlog draining) with a later rate, so at unchanged offered load the back-off is reset. Expected: at constant offered load each failed probe waits at least as long as the one before.
  it('at a constant 2x load, the wait after each failed probe never shrinks (no false "load dropped" reset)', () => {
    const two = scenarios().find((s) => s.name === 'step 2x and back')!;
    // Offered 200 req/s from 60 s on, for 240 s: four probes backing off 5, 10, 20, 40 s need about that (until the
    // twenty-fourth session 120 s held four waits only because one of them shrank). Seed 3 has a probe one step past
    // the critical load that fails only after 13 s: the wait after it shrank (6, 5, 11, 24 s).
    for (const seed of [1, 3, 5]) {
      const run = runScenario({ ...two, seed, durationS: 300, dropAt: undefined, rate: (_s, t) => (t < 60 ? 100 : 200), regulator: { goals: {} } }, 'gearshift');
      const cost = run.seconds.map((s) => s.cost!);
      const waits: number[] = [];
      let cut = -1;
      for (let i = 61; i < 300; i++) {
        if (cost[i]! < cost[i - 1]! - 1e-9) cut = i;
        else if (cost[i]! > cost[i - 1]! + 1e-9 && cut >= 0) {
          waits.push(i - cut);
          cut = -1;
        }
      }
      expect(waits.length, `seed ${seed}`).toBeGreaterThanOrEqual(4);
      for (let k = 1; k < waits.length; k++) expect(waits[k], `seed ${seed}: ${waits}`).toBeGreaterThanOrEqual(waits[k - 1]!); // actual waits: 6, 12, 21, 11 s
    }
  });
});

describe('the simulator senses as the engine does', () => {
  const engines: Gearshift[] = [];
  afterEach(() => engines.splice(0).forEach((e) => e.close()));

  // Fault: the simulator's p99 of n samples is sorted[floor(0.99·n)] — the maximum for n = 100 — where the engine's sensing takes the ⌈0.99·n⌉-th (nearest rank); one timeout in a quiet window is an alarm in the simulator and none in production. Expected: the same p99 within the histogram's precision.
  it('reads the same p99 as the engine for 100 responses with one slow outlier', () => {
    const rts = Array.from({ length: 100 }, (_, i) => (i === 50 ? 500 : 50));
    const clock = new ManualClock(0);
    const gs = createGearshift({
      config: { scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: { a: { gears: [1, 2] } } } }, regulator: { goals: {} }, sense: { process: { enabled: false } } },
      clock,
    });
    engines.push(gs);
    for (const rt of rts) {
      const d = gs.route('feed', 'u');
      clock.advance(5);
      gs.complete(d, 'success', rt);
    }
    clock.advance(1000);
    const engine = sensingSource(gs.sensing).scene('feed', 100)!;
    const sim = new SlotWindow(1000, 8, new Map([['feed', 200]]));
    for (const rt of rts) sim.record('feed', 500, rt, rt);
    sim.now = 1000;
    expect(engine.p99).toBeLessThan(60); // the engine: ~50 ms, the timeout goal sees headroom (pressure 0.26)
    expect(sim.scene('feed', 100)!.p99).toBeCloseTo(engine.p99, -1); // actual: 500 ms (pressure 2.5, violated)
  });
});
