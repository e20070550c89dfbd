/**
 * A failed probe: the raise that did not fit is undone, and only it; the backlog it left is not cut on for a dwell,
 * unless the load grew by a third. The scene's (twenty-fifth session): before, it cut by what its goal proposed and
 * again on the echo, and with scene goals alone at a constant 2x load every probe of the top gear cut five steps and
 * climbed them back. The process's (twenty-sixth): one mechanism in `Allowance` for both loops, where each had written
 * its own undo and only the scene held the echo.
 */
import { describe, expect, it } from 'vitest';
import { Allowance, type AllowanceLimits } from '../src/regulate/allowance.js';
import { runScenario, scenarios } from '../src/simulate/index.js';
import { setup, sig } from './regulate-helpers.js';

const LIM: AllowanceLimits = { maxDown: 0.2, maxUp: 0.04, dwellMs: 5000, maxDwellMs: 60_000 };

describe('Allowance: a failed probe', () => {
  /** Cut at 0, raised at 10 s from 0.7 to 0.8 (the loop's own raise, so undone to 0.7). */
  function probed(): Allowance {
    const a = new Allowance(0.7, LIM.dwellMs);
    a.moved(-1, 0, LIM, 100);
    a.u = 0.8;
    a.moved(1, 10_000, LIM, 100, 0.7);
    return a;
  }

  it('goes back to the level before the raise, not as far as the proposal', () => {
    const a = probed();
    expect(a.propose(-0.2, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.1, 12);
    expect(a.u).toBeCloseTo(0.7, 12);
  });

  it('then holds further cuts for one dwell (the echo), and cuts again after it', () => {
    const a = probed();
    a.propose(-0.2, 12_000, LIM, false, 100, 0, 1);
    a.moved(-1, 12_000, LIM, 100);
    for (const t of [13_000, 15_000, 16_999]) expect(a.propose(-0.2, t, LIM, false, 100, 0, 1)).toBe(0);
    expect(a.propose(-0.2, 17_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.2, 12);
  });

  it('is held for its echo when the proposal itself cut exactly to the level before the raise', () => {
    const a = probed();
    expect(a.propose(-0.1, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.1, 12);
    a.moved(-1, 12_000, LIM, 100);
    expect(a.propose(-0.2, 13_000, LIM, false, 100, 0, 1)).toBe(0);
  });

  it('is cut on at once when the load grew by a third since the undo', () => {
    const a = probed();
    a.propose(-0.2, 12_000, LIM, false, 100, 0, 1);
    expect(a.propose(-0.2, 13_000, LIM, false, 134, 0, 1)).toBeCloseTo(-0.2, 12);
  });

  it('is not undone past a level already cut below where it started: the cut proceeds as proposed', () => {
    // The process climbed from 0.7; scene goals cut the gears to 0.6 since, and the process's cut starts there. Until
    // the twenty-sixth session the process's undo set it back to 0.6, holding its goal's cut while it stayed a probe.
    const a = new Allowance(0.7, LIM.dwellMs);
    a.climbed(10_000, 100, 0.7);
    a.u = 0.6;
    expect(a.propose(-0.2, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.2, 12);
  });

  it('is not undone after a raise that gave no level to go back to (the process raising its limit), nor after forgetProbe', () => {
    const a = new Allowance(0.8, LIM.dwellMs);
    a.moved(1, 10_000, LIM, 100);
    expect(a.propose(-0.2, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.2, 12);
    const b = probed();
    const c = new Allowance(0.8, LIM.dwellMs);
    c.carryFrom(b, LIM);
    c.forgetProbe();
    expect(c.propose(-0.2, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.2, 12);
    const d = new Allowance(0.8, LIM.dwellMs);
    d.carryFrom(b, LIM); // a scene's reload keeps it
    expect(d.propose(-0.2, 12_000, LIM, false, 100, 0, 1)).toBeCloseTo(-0.1, 12);
  });
});

describe("the process's failed probe", () => {
  /** ELU over its goal cuts three steps; at headroom the scenes climb them back; the last climb (tail.c 0 → 1) is the probe. */
  function probedClimb() {
    const rig = setup({ goals: { elu: { target: 0.85, band: 0.25 } }, boost: { enabled: false } });
    rig.script.set('feed', sig(0.3)).set('tail', sig(0.3));
    const run = (elu: number, n: number) => {
      for (let i = 0; i < n; i++) {
        rig.script.proc = { elu, count: 10 };
        rig.tick();
      }
    };
    run(0.5, 2);
    rig.script.set('feed', sig(0.3, 1400)).set('tail', sig(0.3, 1400)); // an overload's cut (a transient's comes back at once)
    run(1, 3);
    rig.script.set('feed', sig(0.3)).set('tail', sig(0.3));
    run(0.5, 40);
    expect(rig.reg.gears()).toEqual({ feed: { a: 2, b: 2 }, tail: { c: 1 } });
    expect(rig.changes.at(-1)).toMatchObject({ scene: 'tail', point: 'c', from: 0, to: 1 });
    rig.changes.length = 0;
    return { ...rig, run };
  }

  it('is undone by the climb that did not fit, its echo is held for a dwell, and a goal still over is cut on after it', () => {
    const { run, changes, reg } = probedClimb();
    run(1, 1);
    expect(changes.map((c) => `${c.point}${c.from}>${c.to} ${c.reason}`)).toEqual(['c1>0 process']);
    run(1, 4); // 1–4 s after the undo: ELU still reads over while the backlog drains
    expect(changes).toHaveLength(1);
    run(1, 1); // a dwell on and still over: the gears before the climb do not hold either
    expect(changes).toHaveLength(2);
    expect(reg.gears().feed!.a).toBe(1);
  });
});

const VIOLATED = sig(3, 1000, 0.3);
const HEADROOM = sig(0.3);

/** Cut once, climb back to the top: the last raise (a1 → a2) is the probe of the top gear. */
function probedTop(extra = {}) {
  const rig = setup(extra);
  rig.script.set('feed', VIOLATED);
  rig.tick();
  rig.script.set('feed', HEADROOM);
  for (let i = 0; i < 60 && rig.reg.gears().feed!.a! < 2; i++) rig.tick();
  expect(rig.reg.gears().feed).toEqual({ a: 2, b: 2 });
  expect(rig.changes.at(-1)).toMatchObject({ point: 'a', from: 1, to: 2 });
  rig.changes.length = 0;
  return rig;
}

describe("a scene's failed probe", () => {
  it('is undone by the one step that did not fit, and its echo is not cut on for a dwell', () => {
    const { script, tick, changes, reg } = probedTop();
    script.set('feed', VIOLATED);
    tick(); // the probe fails: a2 → a1 only (the goal's proposal, 0.2 of the allowance, took a2 → a0 before)
    expect(changes.map((c) => `${c.point}${c.from}>${c.to}`)).toEqual(['a2>1']);
    for (let i = 0; i < 4; i++) tick(); // the backlog drains: the goal still reads over, 1–4 s after the undo
    expect(changes).toHaveLength(1);
    tick(); // a dwell (5 s) on, still over: the level before the probe does not hold either, and is cut
    expect(changes.length).toBeGreaterThan(1);
    expect(changes.slice(1).every((c) => c.reason === 'violated')).toBe(true);
    expect(reg.gears().feed!.a).toBe(0);
  });

  it('is cut on at once when the load grew by a third since the undo: a new overload, not the echo', () => {
    const { script, tick, changes } = probedTop();
    script.set('feed', VIOLATED);
    tick();
    expect(changes).toHaveLength(1);
    script.set('feed', sig(3, 1400, 0.3)); // 1,400 req/s where the undo saw 1,000
    tick();
    expect(changes.length).toBeGreaterThan(1);
  });

  it('is cut by the goal as before when the raise held past four dwells: no probe, nothing to undo', () => {
    const { script, tick, changes, clock } = probedTop();
    script.set('feed', HEADROOM);
    while (clock.now() < 30_000) tick();
    changes.length = 0;
    script.set('feed', VIOLATED);
    tick();
    expect(changes.map((c) => `${c.point}${c.from}>${c.to}`)).toEqual(['a2>1', 'a1>0']);
  });
});

describe('scene goals alone at a constant 2x load (the simulator, seeds 1–20)', () => {
  it('settles: at most 3 changes a minute on average in the fifth minute, value ≥ 98%, timeouts about the 1% goal', () => {
    const base = scenarios()[0]!;
    let changes = 0;
    let value = 0;
    let timeouts = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const sc = { ...base, seed, durationS: 360, dropAt: undefined, rate: (_s: string, t: number) => (t >= 60 ? 200 : 100), regulator: { goals: {} } };
      const r = runScenario(sc, 'gearshift');
      changes += r.seconds.slice(300, 360).reduce((a, s) => a + s.changes, 0);
      const disturbed = r.seconds.slice(60);
      value += disturbed.reduce((a, s) => a + s.value, 0) / disturbed.reduce((a, s) => a + s.fullValue, 0);
      timeouts += disturbed.reduce((a, s) => a + s.timeouts, 0) / disturbed.reduce((a, s) => a + s.offered, 0);
    }
    // Measured: 2.6 changes a minute, 98.6% value, 0.97% timeouts (before: 6.2, 96.2%, 0.98%).
    expect(changes / 20).toBeLessThanOrEqual(3);
    expect(value / 20).toBeGreaterThanOrEqual(0.98);
    expect(timeouts / 20).toBeLessThanOrEqual(0.011);
  });
});
