/**
 * Tests from a mutation audit of the regulator's internals (control law, allowance and dwell, ladder, goals, DCAF,
 * the process ladder, the scene loop): each pins a behaviour a planted fault changed without any other test noticing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../src/config/validate.js';
import { Allowance, type AllowanceLimits } from '../src/regulate/allowance.js';
import { processGoals, readProcess, readScene, sceneGoals } from '../src/regulate/goals.js';
import { Ladder } from '../src/regulate/ladder.js';
import { GoalLoop, type LawOptions } from '../src/regulate/pid.js';
import { compilePoints } from '../src/regulate/points.js';
import { sensingSource } from '../src/regulate/sensing-source.js';
import type { Sensing } from '../src/sense/sensing.js';
import { setup, sig } from './regulate-helpers.js';

const LAW: LawOptions = { kp: 0.15, ki: 0.12, kd: 0.1, smoothing: 1, maxError: 2, hysteresis: 0.05 };
const timeoutGoal = { kind: 'timeoutRate', target: 0.01, band: 0.25, minSamples: 1 } as const;
const reading = (pressure: number) => ({ measured: pressure, pressure, samples: 1000 });

describe('control law terms (GoalLoop)', () => {
  it('says a goal is easing when a reading lowers its smoothed pressure, and not when it holds or rises', () => {
    const l = new GoalLoop(timeoutGoal);
    const law = { ...LAW, smoothing: 0.5 };
    l.step({ pressure: 2, measured: 0.02, samples: 100 }, law, 0);
    expect(l.easing).toBe(false);
    l.step({ pressure: 2, measured: 0.02, samples: 100 }, law, 0);
    expect(l.easing).toBe(false);
    l.step({ pressure: 1.5, measured: 0.015, samples: 100 }, law, 0);
    expect(l.easing).toBe(true);
    l.step({ pressure: 2.5, measured: 0.025, samples: 100 }, law, 0);
    expect(l.easing).toBe(false);
  });

  it('computes P on the change of the error, I on the error, D on its second difference, and proposes their negated sum', () => {
    const loop = new GoalLoop(timeoutGoal);
    // Headroom below the band: e = pressure / 0.75 − 1 (not pressure − 0.75).
    const t1 = loop.step(reading(0.3), LAW, 0);
    expect(t1.status).toBe('headroom');
    expect(t1.error).toBeCloseTo(0.3 / 0.75 - 1, 12); // −0.6
    expect(t1.p).toBeCloseTo(0.15 * -0.6, 12);
    expect(t1.i).toBeCloseTo(0.12 * -0.6, 12);
    expect(t1.d).toBeCloseTo(0.1 * -0.6, 12);
    expect(t1.delta).toBeCloseTo(-(t1.p + t1.i + t1.d), 12);
    const t2 = loop.step(reading(0.3), LAW, 0); // e1 = −0.6, e2 = 0
    expect(t2.p).toBeCloseTo(0, 12);
    expect(t2.d).toBeCloseTo(0.1 * (-0.6 + 1.2 - 0), 12);
    const t3 = loop.step(reading(0.3), LAW, 0); // e1 = e2 = −0.6: the second difference is 0
    expect(t3.d).toBeCloseTo(0, 12);
    expect(t3.delta).toBeCloseTo(0.12 * 0.6, 12);
  });

  it('forgets its history inside the band and on restore: no proportional kick when the error comes back', () => {
    const loop = new GoalLoop(timeoutGoal);
    loop.step(reading(2), LAW, 0); // e = 1
    loop.step(reading(0.9), LAW, 0); // in band
    const back = loop.step(reading(1.5), LAW, 0); // e = 0.5, against e1 = 0 (not 1)
    expect(back.p).toBeCloseTo(0.15 * 0.5, 12);
    loop.restore(1.5);
    const restored = loop.step(reading(1.5), LAW, 0);
    expect(restored.p).toBeCloseTo(0.15 * 0.5, 12);
    expect(restored.d).toBeCloseTo(0.1 * 0.5, 12);
  });

  it('clamps the error to [−1, maxError], also for a restored pressure beyond the clip', () => {
    const loop = new GoalLoop(timeoutGoal);
    loop.restore(10); // a snapshot taken under a larger maxError
    expect(loop.step(reading(10), { ...LAW, smoothing: 0.5 }, 0).error).toBe(2);
    const odd = new GoalLoop(timeoutGoal);
    expect(odd.step(reading(-1), LAW, 0).error).toBe(-1); // a source that reads below zero
  });

  it('smooths with the newest reading weighted by `smoothing`', () => {
    const loop = new GoalLoop(timeoutGoal);
    const law = { ...LAW, smoothing: 0.6 };
    loop.step(reading(0.5), law, 0);
    expect(loop.step(reading(1), law, 0).pressure).toBeCloseTo(0.8, 12);
  });

  it('counts both edges of the band as in band: target·(1−band) ≤ measured ≤ target', () => {
    for (const p of [1, 0.75]) {
      const { script, tick } = setup();
      script.set('feed', sig(p));
      const feed = tick().scenes[0]!;
      expect(feed.goals[0]).toMatchObject({ status: 'in_band', pressure: p });
    }
  });
});

describe('allowance: rate limits and the dwell', () => {
  const LIM: AllowanceLimits = { maxDown: 0.2, maxUp: 0.04, dwellMs: 5000, maxDwellMs: 60_000 };
  const cutAt = (t: number, rate = NaN) => {
    const a = new Allowance(0.5, LIM.dwellMs);
    a.moved(-1, t, LIM, rate);
    return a;
  };
  const raise = (a: Allowance, now: number, rate = NaN) => a.propose(0.1, now, LIM, false, rate, 0, 1);

  it('holds a raise for the whole dwell after a cut and allows it at its end', () => {
    expect(raise(cutAt(1000), 5999)).toBe(0);
    expect(raise(cutAt(1000), 6000)).toBeCloseTo(0.04, 12);
  });

  it('never raises past the ceiling it is given, nor holds a cut for the dwell', () => {
    const a = new Allowance(0.98, LIM.dwellMs);
    expect(a.propose(0.1, 0, LIM, false, NaN, 0, 1)).toBeCloseTo(0.02, 12);
    expect(a.u).toBe(1);
    const b = cutAt(1000);
    expect(b.propose(-0.5, 1500, LIM, false, NaN, 0, 1)).toBeCloseTo(-0.2, 12);
  });

  it('lifts the dwell only when the rate falls strictly below two thirds of the rate at the cut, and resets a backed-off dwell', () => {
    expect(raise(cutAt(1000, 900), 2000, 600)).toBe(0); // exactly two thirds: not a third below
    expect(raise(cutAt(1000, 900), 2000, 599)).toBeCloseTo(0.04, 12);
    const a = new Allowance(0.5, LIM.dwellMs);
    a.moved(1, 0, LIM);
    a.moved(-1, 1000, LIM, 900); // a failed probe: the dwell doubles
    expect(a.dwell).toBe(10_000);
    expect(raise(a, 2000, 500)).toBeCloseTo(0.04, 12);
    expect(a.dwell).toBe(5000); // back to dwellMs, not just the cut forgotten
  });

  // Until the twenty-fourth session the window was two dwells; a raise is now a probe until it has held four (when
  // a held raise halves the dwell), so no cut falls between "failed" and "held".
  it('doubles the dwell only for a cut that follows a raise within four dwells', () => {
    const a = new Allowance(0.5, LIM.dwellMs);
    a.moved(1, 0, LIM);
    a.moved(-1, 15_000, LIM); // 3 dwells after the raise: a failed probe
    expect(a.dwell).toBe(10_000);
    a.moved(-1, 16_000, LIM); // a cut after a cut is no probe
    expect(a.dwell).toBe(10_000);
    const b = new Allowance(0.5, LIM.dwellMs);
    b.moved(1, 0, LIM);
    b.moved(-1, 20_000, LIM); // four dwells after: the raise held
    expect(b.dwell).toBe(5000);
  });

  it('dates a probe from the climb it allowed: a cut within four dwells of the climb doubles the dwell', () => {
    // The process's raise only lifts a limit; the gears climb later. Dated from the permission, a cut 22 s after it
    // (7 s after the climb) held and the next probe came as soon as ever.
    const a = new Allowance(0.5, LIM.dwellMs);
    a.moved(-1, 0, LIM);
    a.moved(1, 10_000, LIM);
    a.climbed(25_000);
    expect(a.probing(32_000)).toBe(true);
    a.moved(-1, 32_000, LIM);
    expect(a.dwell).toBe(10_000);
    // A climb after the loop's own cut (a scene climbing under a limit the process never lowered further) is a probe too.
    const b = new Allowance(0.5, LIM.dwellMs);
    b.moved(-1, 0, LIM);
    expect(b.probing(1000)).toBe(false);
    b.climbed(30_000);
    b.moved(-1, 32_000, LIM);
    expect(b.dwell).toBe(10_000);
  });

  it('takes a cut under a load grown by a third since the raise for a new overload, not a failed probe', () => {
    const a = new Allowance(0.5, LIM.dwellMs);
    a.moved(1, 0, LIM, 150);
    expect(a.probing(1000, 200)).toBe(true); // exactly a third more: still the probe's load
    expect(a.probing(1000, 201)).toBe(false);
    a.moved(-1, 1000, LIM, 350); // the sawtooth's 150 → 350 req/s
    expect(a.dwell).toBe(5000);
    const b = new Allowance(0.5, LIM.dwellMs);
    b.climbed(0, 150);
    b.moved(-1, 1000, LIM, 160);
    expect(b.dwell).toBe(10_000);
  });

  it('backs off to maxDwellMs at most, and halves only after a raise that comes more than four dwells after the cut', () => {
    const a = new Allowance(0.5, LIM.dwellMs);
    let t = 0;
    for (let k = 0; k < 8; k++) {
      a.moved(1, t, LIM);
      a.moved(-1, t + 1000, LIM);
      t += 1000 + a.dwell;
    }
    expect(a.dwell).toBe(60_000);
    const b = new Allowance(0.5, LIM.dwellMs);
    b.moved(1, 0, LIM);
    b.moved(-1, 1000, LIM);
    b.moved(1, 2000, LIM);
    b.moved(-1, 3000, LIM);
    expect(b.dwell).toBe(20_000);
    b.moved(1, 3000 + 3 * 20_000, LIM); // three dwells: not yet
    expect(b.dwell).toBe(20_000);
    b.moved(-1, 200_000, LIM);
    b.moved(1, 200_000 + 4 * 20_000 + 1, LIM); // past four dwells: halved
    expect(b.dwell).toBe(10_000);
  });
});

describe('the scene loop\'s allowance', () => {
  it('never sits above the normal top, nor below what the floors cost (anti-windup both ways)', () => {
    const { script, tick } = setup();
    script.set('feed', sig(0.3));
    for (let i = 0; i < 3; i++) expect(tick().scenes[0]!.allowance).toBe(1);
    script.set('feed', sig(3, 1000, 0.3));
    for (let i = 0; i < 10; i++) tick();
    const feed = tick().scenes[0]!;
    expect(feed.gears).toEqual({ a: 0, b: 0 });
    expect(feed.allowance).toBeCloseTo(2 / 6, 12); // the floors' cost: a climb starts from there, not from 0
  });

  it('in fast recovery raises at once, past the dwell, by fastRecovery.maxUpPerTick, with reason fast_recovery', () => {
    const { script, tick, changes, reg } = setup();
    script.set('feed', sig(1.2)); // just over: one cut, a2 → a1, allowance 0.946
    tick();
    expect(changes.map((c) => `${c.point}${c.to}`)).toEqual(['a1']);
    reg.setFastRecovery(true);
    script.set('feed', sig(0.3)); // headroom asks for +0.05: only fast recovery's 0.25 reaches the top again
    tick();
    expect(changes.slice(1).map((c) => `${c.point}${c.to}:${c.reason}`)).toEqual(['a2:fast_recovery']);
  });
});

describe('points and the ladder', () => {
  const ladderOf = (points: Record<string, unknown>) => {
    const cfg = validateConfig({ scenes: { s: { versions: { v: { stage: 'base' } }, points } } });
    return new Ladder(compilePoints('s', cfg.scenes.s!, 0));
  };
  const order = (l: Ladder) => l.steps.map((s) => `${s.point.name}${s.gear}`);

  it('defaults a point\'s cost to 1, 2, 3, … and its value to its cost', () => {
    const cfg = validateConfig({ scenes: { s: { versions: { v: { stage: 'base' } }, points: { p: { gears: ['x', 'y', 'z'] } } } } });
    const [p] = compilePoints('s', cfg.scenes.s!, 0);
    expect([...p!.cost]).toEqual([1, 2, 3]);
    expect([...p!.value]).toEqual([1, 2, 3]);
  });

  it('takes a free step that adds value first, before any priced one', () => {
    const l = ladderOf({ free: { gears: [0, 1, 2], cost: [1, 1, 2], value: [1, 2, 3] }, rich: { gears: [0, 1], cost: [1, 2], value: [1, 6] } });
    expect(order(l)).toEqual(['free1', 'rich1', 'free2']);
  });

  it('ranks a boost step after every normal step, however much it is worth', () => {
    const l = ladderOf({ p: { gears: [0, 1, 2], cost: [1, 2, 3], value: [1, 1.1, 3], boost: 1 }, q: { gears: [0, 1], cost: [1, 2], value: [1, 1.5] } });
    expect(l.steps.map((s) => `${s.point.name}${s.gear}:${s.benefit}:${s.boost}`)).toEqual(['p1:1:false', 'q1:0.5:false', 'p2:1:true']);
  });

  it('breaks a tie of benefit by gear first, so equal steps of several points are taken in turn', () => {
    const l = ladderOf({ x: { gears: [0, 1, 2], cost: [1, 2, 3], value: [1, 1.5, 2] }, y: { gears: [0, 1], cost: [1, 2], value: [1, 1.5] } });
    expect(order(l)).toEqual(['x1', 'y1', 'x2']);
  });

  it('never cuts a pinned gear in auto mode: the loop takes what it needs from the other points', () => {
    const { reg, script, tick, changes } = setup();
    reg.setFixed({ feed: { b: 2 } });
    script.set('feed', sig(3, 1000, 0.3));
    for (let i = 0; i < 6; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 0, b: 2 });
    expect(changes.filter((c) => c.point === 'b')).toEqual([]);
    // What the regulator may still move prices the gears for DCAF: nothing, once a is at its floor and b is pinned.
    expect(reg.scene('feed')!.lambda).toBe(0);
  });
});

describe('goal defaults and readings', () => {
  it('defaults minSamples to ⌈1/target⌉ for the timeout goal, 20 for RT goals, 1 for process goals, and the band to 0.25', () => {
    const goals = sceneGoals('feed', { timeoutRate: { target: 0.03 }, meanRtMs: { target: 50 }, p99RtMs: { target: 90 } }, undefined, null);
    expect(goals.map((g) => [g.kind, g.minSamples, g.band])).toEqual([['timeoutRate', 34, 0.25], ['meanRtMs', 20, 0.25], ['p99RtMs', 20, 0.25]]);
    expect(processGoals({ goals: { cpu: { target: 0.7 } } }, null).map((g) => [g.kind, g.minSamples, g.band])).toEqual([['cpu', 1, 0.25]]);
  });

  it.each([
    [0.003, 'p999'],
    [0.02, 'p99'],
    [0.03, 'p99'],
    [0.3, 'p90'],
  ] as const)('reads a %s timeout-rate target through the %s (the nearest quantile sensed, each boundary inclusive)', (target, q) => {
    const s = { count: 10_000, rate: 100, mean: 40, p50: 50, p90: 90, p99: 99, p999: 99.9, timeoutRate: 0 };
    expect(readScene({ kind: 'timeoutRate', target, band: 0.25, minSamples: 1 }, s, 100)!.pressure).toBeCloseTo(s[q] / 100, 12);
  });

  it('reads a process goal with a target of 0 as headroom while the measurement is 0, and as over it once it is not', () => {
    const cpu = processGoals({ goals: { cpu: { target: 0 } } }, null)[0]!;
    expect(readProcess(cpu, { cpu: 0 })!.pressure).toBe(0);
    expect(readProcess(cpu, { cpu: 0.1 })!.pressure).toBe(Infinity);
    const { script, tick } = setup({ goals: { cpu: { target: 0 } } });
    script.proc = { cpu: 0 };
    expect(tick().process[0]).toMatchObject({ status: 'headroom', pressure: 0 });
  });
});

describe('per-request value (DCAF) at its limits', () => {
  it('gives a request of score 1 the regulated gear even where a step up would cost nothing in λ', () => {
    const { reg } = setup({ templates: { floor: { feed: { a: 0, b: 0 } } } });
    reg.applyTemplate('floor');
    const live = reg.scene('feed')!;
    expect(live.lambda).toBe(0); // nothing left to take off
    expect(live.gearIndexFor('a', 1)).toBe(0);
    expect(live.gearIndexFor('a', 1.5)).toBe(1);
  });

  it('never gives a high-value request more than the current upper limit (a cap)', () => {
    const { reg } = setup();
    reg.setCaps({ feed: { a: 1 } });
    const live = reg.scene('feed')!;
    expect(live.gearIndex('a')).toBe(1);
    expect(live.gearIndexFor('a', 10)).toBe(1);
  });

  it('sheds load-test traffic only while load tests are shed, whatever share of business traffic is', () => {
    const { reg } = setup();
    const snap = reg.snapshot();
    reg.restore({ ...snap, scenes: { ...snap.scenes, tail: { ...snap.scenes.tail!, shedShare: 1, shedLoadTest: false } } });
    const live = reg.scene('tail')!;
    expect([0, 1, 2, 3].map(() => live.shouldShed(true))).toEqual([false, false, false, false]);
    expect(live.shouldShed(false)).toBe(true);
  });
});

describe('the process ladder', () => {
  const ELU = { goals: { elu: { target: 0.8, band: 0.2 } } };

  it('moves on the most conservative process goal: one violated cuts though another has headroom', () => {
    const { script, tick, changes } = setup({ goals: { elu: { target: 0.8 }, cpu: { target: 0.8 } } });
    script.proc = { elu: 1.5, cpu: 0.1 };
    tick();
    expect(changes.map((c) => `${c.scene}.${c.point}${c.to}:${c.reason}`)).toEqual(['tail.c0:process']);
  });

  it('rounds its allowance to a position on the ladder: a small excess takes only the boost step off', () => {
    const { script, tick, changes, reg } = setup(ELU);
    script.proc = { elu: 0.84 }; // 5% over: the allowance falls by ~1.4% of the five normal steps
    tick();
    expect(reg.snapshot().processAllowance).toBeLessThan(1);
    expect(changes).toEqual([]);
  });

  it('holds a raise for the dwell after its own cut, and holds still without readings', () => {
    const run = (after: { elu: number } | undefined) => {
      const { script, tick, reg } = setup(ELU);
      script.proc = { elu: 1.5 };
      tick(); // t = 1 s: the cut, allowance 0.8
      script.proc = after;
      const seen: number[] = [];
      for (let i = 0; i < 10; i++) {
        tick();
        seen.push(reg.snapshot().processAllowance);
      }
      return seen;
    };
    const headroom = run({ elu: 0.1 });
    expect(headroom.slice(0, 4).every((u) => Math.abs(u - 0.8) < 1e-12)).toBe(true); // t = 2–5 s: inside the dwell
    expect(headroom.at(-1)).toBeGreaterThan(0.8);
    expect(run(undefined).every((u) => Math.abs(u - 0.8) < 1e-12)).toBe(true);
  });
});

describe('tidal boost timing', () => {
  const boostTimes = (gapAt?: number) => {
    const { script, tick, reg, clock } = setup({ boost: { holdMs: 10_000 } });
    const start = clock.wallNow();
    const seen: string[] = [];
    reg.on('boost', (e) => seen.push(`${e.scene}:${e.engaged}@${e.at - start}`));
    script.set('feed', sig(0.3)).set('tail', sig(0.3));
    for (let t = 1000; t <= 25_000; t += 1000) {
      script.set('tail', t === gapAt ? undefined : sig(0.3));
      tick();
    }
    return seen;
  };

  it('engages once every goal has shown headroom for exactly holdMs, and only in a scene that has boost gears', () => {
    expect(boostTimes()).toEqual(['tail:true@11000']); // headroom since t = 1 s; feed has no boost gears
  });

  it('starts the hold over when the headroom is interrupted (a tick without a reading)', () => {
    expect(boostTimes(9000)).toEqual(['tail:true@20000']);
  });
});

describe('tidal boost conditions', () => {
  const boosts = (regulator: Parameters<typeof setup>[0], prep: (x: ReturnType<typeof setup>) => void) => {
    const x = setup({ boost: { holdMs: 5000 }, ...regulator });
    const seen: boolean[] = [];
    x.reg.on('boost', (e) => seen.push(e.engaged));
    prep(x);
    for (let i = 0; i < 15; i++) x.tick();
    return seen;
  };

  it('does not engage while a process goal is in its band', () => {
    expect(boosts({ goals: { elu: { target: 0.8 } } }, (x) => {
      x.script.set('tail', sig(0.3));
      x.script.proc = { elu: 0.7 }; // pressure 0.875: in band
    })).toEqual([]);
  });

  it('does not engage while one of the scene\'s goals has no reading, though the others show headroom', () => {
    const regulator = { goalSets: { rt: { scenes: { tail: { meanRtMs: { target: 100 } } } } } };
    expect(boosts(regulator, (x) => {
      x.reg.setGoalSet('rt');
      x.script.set('tail', sig(0.3, 50)); // 50 samples: enough for the mean (20), not for the 1% timeout goal (100)
    })).toEqual([]);
    expect(boosts(regulator, (x) => {
      x.reg.setGoalSet('rt');
      x.script.set('tail', sig(0.3, 1000));
    })).toEqual([true]);
  });
});

describe('scene limits and the ladder walk', () => {
  it('drops the boost at once when the process enters the top quarter of its band, though the scene still has headroom', () => {
    const { script, tick, reg } = setup({ boost: { holdMs: 5000 }, goals: { elu: { target: 0.8 } } });
    const seen: boolean[] = [];
    reg.on('boost', (e) => seen.push(e.engaged));
    script.set('tail', sig(0.3));
    for (let i = 0; i < 10; i++) tick(); // no process reading: no hold
    expect(seen).toEqual([true]);
    script.proc = { elu: 0.7 }; // in band (pressure 0.875), below its top quarter: the band a boost may grow into
    for (let i = 0; i < 5; i++) tick();
    expect(seen).toEqual([true]);
    script.proc = { elu: 0.78 }; // pressure 0.975: the top quarter (the smoothed reading gets there in a tick)
    tick();
    tick();
    expect(seen).toEqual([true, false]);
  });

  it('engages the boost only with every point at its normal top, not with one of them capped below it', () => {
    const points = { a: { gears: [1, 2, 3], boost: 1 }, b: { gears: ['x', 'y', 'z'] } };
    const { script, tick, reg } = setup({ boost: { holdMs: 5000 } }, { feedExtra: { points } });
    const seen: string[] = [];
    reg.on('boost', (e) => seen.push(`${e.scene}:${e.engaged}`));
    reg.setCaps({ feed: { b: 1 } });
    script.set('feed', sig(0.3));
    for (let i = 0; i < 15; i++) tick();
    expect(seen).toEqual([]);
  });

  it('lets a cap below a point\'s floor win, and holds it there without flapping', () => {
    const points = { a: { gears: [1, 2, 3], floor: 1 }, b: { gears: ['x', 'y', 'z'] } };
    const { script, tick, reg, changes } = setup({}, { feedExtra: { points } });
    reg.setCaps({ feed: { a: 0 } });
    script.set('feed', sig(0.85));
    for (let i = 0; i < 3; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 0, b: 2 });
    expect(changes.map((c) => `${c.point}${c.from}>${c.to}:${c.reason}`)).toEqual(['a2>0:cap']);
  });

  it('brings the allowance down to what a new cap allows, so the next cut takes gears at once', () => {
    const { script, tick, reg, changes } = setup();
    reg.setCaps({ feed: { a: 0 } });
    expect(reg.snapshot().scenes.feed!.allowance).toBeCloseTo(4 / 6, 12);
    script.set('feed', sig(3, 1000, 0.3));
    tick();
    expect(changes.slice(1).map((c) => `${c.point}${c.to}:${c.reason}`)).toEqual(['b1:violated', 'b0:violated']);
  });

  it('does not read float rounding of the allowance as a cost over it (gears set by a template stay put)', () => {
    // 0.25 / 0.8 × 0.8 is 0.24999999999999997 in floating point.
    const points = { p: { gears: [0, 1], cost: [0.05, 0.1] }, q: { gears: [0, 1], cost: [0.15, 0.7] } };
    const { tick, reg, changes } = setup({ templates: { mid: { feed: { p: 1, q: 0 } } } }, { feedExtra: { points } });
    reg.applyTemplate('mid');
    for (let i = 0; i < 3; i++) tick();
    expect(changes.map((c) => c.reason)).toEqual(['template']);
    expect(reg.gears().feed).toEqual({ p: 1, q: 0 });
  });

  it('takes a free step even at a zero allowance: it fits whatever is left', () => {
    const points = { a: { gears: [1, 2, 3], cost: [0, 1, 2] }, z: { gears: ['x', 'y'], cost: [0, 0], value: [1, 2] } };
    const { tick, reg } = setup({ templates: { low: { feed: { a: 0, z: 0 } } } }, { feedExtra: { points } });
    reg.applyTemplate('low');
    expect(reg.snapshot().scenes.feed!.allowance).toBe(0);
    tick();
    expect(reg.gears().feed).toEqual({ a: 0, z: 1 });
  });
});

describe('shedding rates', () => {
  it('grows a share by step up to maxShare, and drains it at half the step on thin headroom, faster on deep headroom', () => {
    const { script, tick } = setup();
    script.set('tail', sig(3, 1000, 0.3));
    let share = 0;
    for (let i = 0; i < 15; i++) share = tick().scenes[1]!.shedShare;
    expect(share).toBe(0.9);
    // Just below the band's lower edge (0.7125 after a cut): room for 2% more load, so half a step a tick.
    script.set('tail', sig(0.7));
    const shares: number[] = [];
    for (let i = 0; i < 10; i++) shares.push(tick().scenes[1]!.shedShare);
    const drops = shares.map((s, i) => (i === 0 ? 0.9 : shares[i - 1]!) - s).filter((d) => d > 0);
    expect(drops.length).toBeGreaterThan(1);
    for (const d of drops) expect(d).toBeCloseTo(0.05, 12);
    // Deep headroom (0.1: room for 7 times the load): what is left goes at once, however much it is.
    script.set('tail', sig(0.1));
    const left = shares.at(-1)!;
    expect(left).toBeGreaterThan(0.3);
    let ticks = 0;
    while (tick().scenes[1]!.shedShare > 0 && ++ticks < 10);
    expect(ticks).toBeLessThanOrEqual(3); // the smoothed reading comes down first; at 0.05 a tick it took 8 or more
  });

  it('holds a share while a goal is still violated above the floor: the cut may not be enough yet', () => {
    const { script, tick, reg } = setup({}, { feedExtra: { priority: 'low' } });
    const snap = reg.snapshot();
    reg.restore({ ...snap, scenes: { ...snap.scenes, feed: { ...snap.scenes.feed!, shedShare: 0.5, shedLoadTest: true } } });
    script.set('feed', sig(1.2)); // violated: one step comes off, far from the floor
    const feed = tick().scenes[0]!;
    expect(feed.gears).toEqual({ a: 1, b: 2 });
    expect([feed.shedShare, feed.shedLoadTest]).toEqual([0.5, true]);
  });
});

describe('goal sets and operator input', () => {
  it('keeps the smoothed reading of a goal the new goal set keeps', () => {
    const { script, tick, reg } = setup({ goalSets: { rt: { scenes: { feed: { p99RtMs: { target: 1000 } } } } } });
    script.set('feed', sig(0.5));
    tick();
    reg.setGoalSet('rt');
    script.set('feed', sig(1));
    const goals = tick().scenes[0]!.goals;
    expect(goals.map((g) => g.goal)).toEqual(['timeoutRate', 'p99RtMs']);
    expect(goals[0]!.pressure).toBeCloseTo(0.8, 12); // 0.5 + 0.6 × (1 − 0.5), not a fresh 1
  });

  it('refuses a fast-recovery window of Infinity, by command and in a snapshot', () => {
    const { reg } = setup();
    expect(() => reg.setFastRecovery(true, Infinity)).toThrow(/^setFastRecovery\.durationMs: expected a duration in ms ≥ 0, got Infinity$/);
    expect(reg.fastRecovery).toBe(false);
    expect(() => reg.restore({ ...reg.snapshot(), fastRecoveryLeftMs: Infinity })).toThrow(/^restore\.fastRecoveryLeftMs: expected a duration/);
  });
});

describe('operator input at its edges', () => {
  it('accepts caps and pins on boost gears: they are on the point\'s ladder', () => {
    const { reg } = setup();
    reg.setCaps({ tail: { c: 2 } });
    reg.setFixed({ tail: { c: 2 } });
    expect(reg.gears().tail).toEqual({ c: 2 });
    expect(() => reg.setFixed({ tail: { c: 3 } })).toThrow(/^setFixed\.tail\.c: expected a gear index 0–2, got 3$/);
  });

  it('refuses a snapshot with a shed share above 1 or a negative process allowance', () => {
    const { reg } = setup();
    const snap = reg.snapshot();
    expect(() => reg.restore({ ...snap, scenes: { ...snap.scenes, tail: { ...snap.scenes.tail!, shedShare: 1.2 } } })).toThrow(/^restore\.scenes\.tail\.shedShare: expected a share 0–1, got 1\.2$/);
    expect(() => reg.restore({ ...snap, processAllowance: -0.1 })).toThrow(/^restore\.processAllowance: expected a number ≥ 0, got -0\.1$/);
    reg.restore({ ...snap, scenes: { ...snap.scenes, tail: { ...snap.scenes.tail!, shedShare: 1 } } }); // the edge itself is a share
    expect(reg.snapshot().scenes.tail!.shedShare).toBe(1);
  });
});

describe('the sensing adapter', () => {
  const fake = (load: Record<string, { last: number; samples: number; taken?: number }>, stats?: Record<string, number>) =>
    sensingSource({ recent: () => stats, load: () => load } as unknown as Sensing);

  it('passes a process figure only when it has samples, counting the best-sampled one', () => {
    const src = fake({ eventLoopDelayP99: { last: 0, samples: 0, taken: 0 }, eventLoopUtilization: { last: 0.5, samples: 3, taken: 7 }, cpu: { last: 0.2, samples: 2, taken: 2 } }, { rtCount: 1 });
    src.scene('feed', 1); // a request has completed (see the next test)
    expect(src.process()).toEqual({ eventLoopDelayMs: undefined, elu: 0.5, cpu: 0.2, count: 3, taken: { eventLoopDelayMs: 0, elu: 7, cpu: 2 } });
  });

  it('passes no process figure before a request has completed: what loads a process then is its start-up', () => {
    const none = { last: 0, samples: 0, taken: 0 };
    const load = { eventLoopDelayP99: none, eventLoopUtilization: { last: 1, samples: 1, taken: 1 }, cpu: none }; // module loading saturates the first sample
    const idle = fake(load, { rtCount: 0 });
    expect(idle.scene('feed', 1)).toBeUndefined();
    expect(idle.process()).toBeUndefined();
    const src = fake(load, { rtCount: 1 });
    expect(src.process()).toBeUndefined(); // no scene read yet
    src.scene('feed', 1);
    expect(src.process()!.elu).toBe(1);
  });

  it('passes a scene\'s figures with its request rate, and nothing for a window without responses', () => {
    const stats = { rtCount: 40, rate: 20, mean: 10, p50: 8, p90: 20, p99: 30, p999: 40, timeoutRate: 0.025 };
    expect(fake({}, stats).scene('feed', 20)).toEqual({ count: 40, rate: 20, mean: 10, p50: 8, p90: 20, p99: 30, p999: 40, timeoutRate: 0.025 });
    expect(fake({}, { ...stats, rtCount: 0 }).scene('feed', 20)).toBeUndefined();
  });
});

describe('the guarded emitter', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reports a ListenerError an error listener rethrows as the fault it was, not as the error listener\'s', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { reg, script, tick } = setup();
    reg.on('change', () => {
      throw new Error('first');
    });
    reg.on('error', (e) => {
      throw e;
    });
    script.set('feed', sig(3, 1000, 0.3));
    tick();
    expect(warn).toHaveBeenCalledTimes(1);
    expect((warn.mock.calls[0]![0] as Error).message).toBe('a "change" listener threw: first');
  });
});

describe('snapshot format', () => {
  it('writes and reads version 1: a snapshot saved by an earlier run restores', () => {
    const { reg } = setup();
    expect(reg.snapshot().version).toBe(1);
    const saved = { ...JSON.parse(JSON.stringify(reg.snapshot())), version: 1 };
    expect(() => reg.restore(saved)).not.toThrow();
  });
});

describe('a pin on a boost gear: the operator chose its cost, so the other points do not pay for it', () => {
  // Found by the audit: the pinned gear's cost above the normal top counted against the allowance, so the scene's
  // other points were cut (labelled 'violated' with no goal reading) and, with every goal in headroom, never came back.
  /** Point a has one boost gear: normal top a=1 (cost 2), b=2 (cost 3); a pinned to 2 costs one more. */
  const points = { a: { gears: [1, 2, 3], boost: 1 }, b: { gears: ['x', 'y', 'z'] } };

  it('leaves the other points at their top while every goal has headroom', () => {
    const { reg, script, tick } = setup({}, { feedExtra: { points } });
    reg.setFixed({ feed: { a: 2 } });
    script.set('feed', sig(0.3));
    for (let i = 0; i < 20; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
    expect(reg.snapshot().scenes.feed!.allowance).toBeLessThanOrEqual(1); // unboosted: the pin's cost is not in it
  });

  it('moves no gear while no goal has a reading', () => {
    const { reg, tick, changes } = setup({}, { feedExtra: { points } });
    reg.setFixed({ feed: { a: 2 } });
    tick();
    expect(changes.filter((c) => c.reason !== 'pin')).toEqual([]);
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
  });

  it('still cuts the other points under violation, never the pinned one, and gives them back after', () => {
    const { reg, script, tick } = setup({}, { feedExtra: { points } });
    reg.setFixed({ feed: { a: 2 } });
    script.set('feed', sig(3));
    for (let i = 0; i < 20; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 2, b: 0 });
    script.set('feed', sig(0.3));
    for (let i = 0; i < 200; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
  });

  it('resumes from the live gears after shadow mode without cutting for the pin', () => {
    const { reg, tick, changes } = setup({}, { feedExtra: { points } });
    reg.setFixed({ feed: { a: 2 } });
    reg.setMode('shadow');
    tick();
    reg.setMode('auto');
    tick();
    expect(changes.filter((c) => c.reason !== 'pin')).toEqual([]);
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
  });
});

describe('tick reports of scenes whose gears did not move (thirtieth session: built once, reused)', () => {
  it('a pin at the current gears makes the scene atFloor with no gear moving, and the report says so', () => {
    const { reg, tick } = setup();
    const before = tick().scenes.find((s) => s.scene === 'feed')!;
    expect([before.atFloor, before.gears]).toEqual([false, { a: 2, b: 2 }]);
    expect(tick().scenes.find((s) => s.scene === 'feed')!.gears).toBe(before.gears); // nothing moved: the same object
    expect(Object.isFrozen(before.gears)).toBe(true); // shared by the reports that reuse it
    reg.setFixed({ feed: { a: 2, b: 2 } });
    const after = tick().scenes.find((s) => s.scene === 'feed')!;
    expect([after.atFloor, after.gears]).toEqual([true, { a: 2, b: 2 }]);
    reg.setFixed({});
    expect(tick().scenes.find((s) => s.scene === 'feed')!.atFloor).toBe(false);
  });

  it('gears() hands out objects of the caller\'s own, not the frozen ones the reports share', () => {
    const { reg, tick } = setup();
    const report = tick().scenes.find((s) => s.scene === 'feed')!;
    const mine = reg.gears();
    expect(mine.feed).toEqual(report.gears);
    mine.feed!.a = 0; // threw a TypeError with the reports' frozen object
    expect(tick().scenes.find((s) => s.scene === 'feed')!.gears).toEqual({ a: 2, b: 2 });
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
  });
});
