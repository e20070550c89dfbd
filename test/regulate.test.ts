import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { validateConfig } from '../src/config/validate.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import { ConfigError, GearshiftError, UsageError } from '../src/errors.js';
import { Ring } from '../src/regulate/history.js';
import { Ladder } from '../src/regulate/ladder.js';
import { compilePoints } from '../src/regulate/points.js';
import { Regulator } from '../src/regulate/regulator.js';
import { feedPoints } from '../src/simulate/model.js';
import { regConfig, Script, setup, sig } from './regulate-helpers.js';

const VIOLATED = sig(3, 1000, 0.3);
const HEADROOM = sig(0.3);
const IN_BAND = sig(0.85);

describe('ladder', () => {
  const config = regConfig();
  const points = [...compilePoints('feed', config.scenes.feed!, 0), ...compilePoints('tail', config.scenes.tail!, 2)];
  const ladder = new Ladder(points);

  it('orders every step by marginal benefit, normal steps before boost steps, across scenes', () => {
    expect(ladder.steps.map((s) => `${s.point.sceneId}.${s.point.name}${s.gear}`)).toEqual(['feed.b1', 'feed.b2', 'feed.a1', 'feed.a2', 'tail.c1', 'tail.c2']);
    expect(ladder.steps.map((s) => s.boost)).toEqual([false, false, false, false, false, true]);
  });

  it('goes down lowest benefit first and up highest first', () => {
    const feed = points.slice(0, 2);
    const gears = Int32Array.from([2, 2]);
    const lower = Int32Array.from([0, 0]);
    const upper = Int32Array.from([2, 2]);
    const order: string[] = [];
    for (let i; (i = ladder.nextDown(feed, gears, lower)) >= 0; ) order.push(`${feed[i]!.name}${gears[i]!--}`);
    expect(order).toEqual(['a2', 'a1', 'b2', 'b1']);
    order.length = 0;
    for (let i; (i = ladder.nextUp(feed, gears, upper)) >= 0; ) order.push(`${feed[i]!.name}${++gears[i]!}`);
    expect(order).toEqual(['b1', 'b2', 'a1', 'a2']);
  });

  it('pools a point whose later step is worth more, so it never asks for gear 2 before gear 1', () => {
    const cfg = validateConfig({ scenes: { s: { versions: { v: { stage: 'base' } }, points: {
      odd: { gears: [0, 1, 2], cost: [1, 2, 3], value: [1, 1.1, 2] }, // raw benefits 0.1 then 0.9: pooled 0.5, 0.5
      even: { gears: [0, 1], cost: [1, 2], value: [1, 1.4] },
    } } } });
    const l = new Ladder(compilePoints('s', cfg.scenes.s!, 0));
    expect(l.steps.map((s) => `${s.point.name}${s.gear}:${s.benefit.toFixed(2)}`)).toEqual(['odd1:0.50', 'odd2:0.50', 'even1:0.40']);
  });

  it('turns a process-wide position into per-point limits', () => {
    const out = new Int32Array(points.length);
    ladder.limitsAt(3, out);
    expect([...out]).toEqual([1, 2, 0]); // b1, b2, a1 on
  });
});

describe('control law', () => {
  it('cuts at most maxDownPerTick per tick however large the error, lowest benefit first, with the winning goal and terms', () => {
    const { script, tick, changes, reg } = setup();
    script.set('feed', VIOLATED);
    const r = tick();
    expect(r.scenes[0]!.allowance).toBeCloseTo(0.8, 10);
    expect(changes.map((c) => `${c.point}${c.from}>${c.to}`)).toEqual(['a2>1', 'a1>0']);
    const c = changes[0]!;
    expect(c).toMatchObject({ scene: 'feed', reason: 'violated', goal: 'timeoutRate', measured: 0.3, target: 0.01, band: 0.25, applied: true, mode: 'auto' });
    expect(c.terms!.delta).toBeLessThan(-0.2); // the law wanted more: the rate limit held it
    tick();
    tick();
    expect(changes.map((x) => `${x.point}${x.to}`)).toEqual(['a1', 'a0', 'b1', 'b0']);
    expect(reg.gears().feed).toEqual({ a: 0, b: 0 });
  });

  it('holds still inside the band and without enough samples', () => {
    const { script, tick, changes } = setup();
    script.set('feed', IN_BAND);
    for (let i = 0; i < 20; i++) tick();
    script.set('feed', sig(3, 99, 0.5)); // 99 < 1/target samples
    for (let i = 0; i < 5; i++) tick();
    expect(changes).toEqual([]);
  });

  it('climbs back carefully: no raise within the dwell after a cut, at most maxUpPerTick per tick, highest benefit first', () => {
    const { script, tick, changes, reg, clock } = setup();
    script.set('feed', VIOLATED);
    let lastCut = 0;
    for (let i = 0; i < 4; i++) if (tick().changes > 0) lastCut = clock.now();
    // The third tick reaches the floor: each cut starts from what the gears take (the fourth did, until the
    // nineteenth session let the allowance run up to a step ahead of the gears).
    expect(lastCut).toBe(2000);
    changes.length = 0;
    script.set('feed', HEADROOM);
    let prev = reg.status()!.scenes[0]!.allowance;
    let t = clock.now();
    for (let i = 0; i < 60; i++) {
      const r = tick();
      t += 1000;
      const u = r.scenes[0]!.allowance;
      expect(u - prev).toBeLessThanOrEqual(0.04 + 1e-12);
      if (t - lastCut < 5000) expect(u).toBe(prev);
      prev = u;
    }
    expect(changes.map((c) => `${c.point}${c.to}`)).toEqual(['b1', 'b2', 'a1', 'a2']);
    expect(changes.every((c) => c.reason === 'headroom')).toBe(true);
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
  });

  it('lifts the dwell when the offered load drops by a third: the conditions that made the cut are gone', () => {
    const climbsWithin4s = (rateAfter: number) => {
      const { script, tick, changes } = setup();
      script.set('feed', sig(1.2, 1000)); // just over the goal, at 1,000 req/s: one cut
      tick();
      expect(changes.map((c) => c.reason)).toEqual(['violated']);
      script.set('feed', sig(0.3, rateAfter));
      for (let i = 0; i < 4; i++) tick(); // 4 s: inside the 5 s dwell
      return changes.some((c) => c.reason === 'headroom');
    };
    expect(climbsWithin4s(1000)).toBe(false); // the same load: the dwell holds
    expect(climbsWithin4s(600)).toBe(true); // 40% less: no reason to wait
  });

  it('after a cut, climbs only once headroom clears the band by the hysteresis margin', () => {
    // The timeout goal's band is 0.25: headroom below 0.75 of the target, below 0.75 × 0.95 = 0.7125 after a cut.
    const run = (pressure: number) => {
      const { script, tick, changes } = setup({ control: { dwellMs: 0 } });
      script.set('feed', sig(1.2));
      tick();
      script.set('feed', sig(pressure));
      for (let i = 0; i < 30; i++) tick(); // the smoothed pressure settles at `pressure`, and a small error adds up
      return changes.filter((c) => c.reason === 'headroom').length;
    };
    expect(run(0.73)).toBe(0); // under the band, not by the margin: in band, hold
    expect(run(0.5)).toBeGreaterThan(0); // clear headroom: it climbs
  });

  it('backs the dwell off after failed probes, so an edge is not probed every few seconds', () => {
    const { script, tick, changes } = setup();
    // A plant whose edge sits between two positions: at full cost it is violated, one step down it has headroom.
    for (let i = 0; i < 300; i++) script.set('feed', tick().scenes[0]!.cost > 0.9 ? VIOLATED : HEADROOM);
    const probes = new Set(changes.filter((c) => c.reason === 'violated').map((c) => c.at)).size;
    const gaps = [...new Set(changes.filter((c) => c.reason === 'violated').map((c) => c.at))].map((t, i, a) => (i === 0 ? 0 : t - a[i - 1]!));
    // With a fixed 5 s dwell that would be ~45 probes in 300 s; backed off (5, 10, 20, 40, 60 s …) it is 8.
    expect(probes).toBeGreaterThan(2);
    expect(probes).toBeLessThanOrEqual(10);
    expect(gaps.slice(1, 5).every((g, i, a) => i === 0 || g > a[i - 1]!)).toBe(true);
  });

  it('treats one timeout in a quiet window as noise, a clear excess as a violation', () => {
    const { script, tick, changes } = setup();
    script.set('feed', sig(0.3, 100, 0.01)); // 1 timeout in 100: at target, not clearly above it
    for (let i = 0; i < 5; i++) tick();
    expect(changes).toEqual([]);
    script.set('feed', sig(0.3, 1000, 0.05)); // 50 in 1000
    tick();
    expect(changes.length).toBeGreaterThan(0);
  });
});

describe('goals', () => {
  it('most conservative wins: one goal with headroom, another violated → cut, attributed to the violated goal', () => {
    const { script, tick, changes } = setup({}, { feedExtra: { goals: { meanRtMs: { target: 40 } } } });
    script.set('feed', { ...sig(0.3), mean: 90 }); // timeout pressure 0.3 (headroom), mean 90 ms > 40 ms
    tick();
    expect(changes.length).toBeGreaterThan(0);
    expect(changes[0]).toMatchObject({ reason: 'violated', goal: 'meanRtMs', measured: 90, target: 40 });
  });

  it('a zone label picks its goal overrides', () => {
    const goals = { meanRtMs: { target: 100 }, zones: { 'na61': { meanRtMs: { target: 30 } } } };
    const plain = setup({}, { feedExtra: { goals } });
    const zoned = setup({ zone: 'na61' }, { feedExtra: { goals } });
    for (const x of [plain, zoned]) {
      x.script.set('feed', { ...sig(0.3), mean: 50 });
      x.tick();
    }
    expect(plain.changes).toEqual([]);
    expect(zoned.changes[0]).toMatchObject({ goal: 'meanRtMs', target: 30 });
  });

  it('a zone label picks the process goals\' overrides too', () => {
    const goals = { elu: { target: 0.8 }, zones: { east: { elu: { target: 0.5 } } } };
    const targets = (zone?: string) => {
      const { script, tick, reg } = setup(zone ? { goals, zone } : { goals });
      script.proc = { elu: 0.6 };
      tick();
      return reg.status()!.process.map((g) => [g.goal, g.target]);
    };
    expect(targets()).toEqual([['elu', 0.8]]);
    expect(targets('east')).toEqual([['elu', 0.5]]);
  });

  it('a goal set replaces process goals as well as scene goals, and "default" puts the configured ones back', () => {
    const { script, tick, reg } = setup({ goals: { elu: { target: 0.8 } }, goalSets: { tight: { process: { elu: { target: 0.4 } } } } });
    script.proc = { elu: 0.6 };
    const eluTarget = () => (tick(), reg.status()!.process.find((g) => g.goal === 'elu')!.target);
    expect(eluTarget()).toBe(0.8);
    reg.setGoalSet('tight');
    expect(eluTarget()).toBe(0.4);
    reg.setGoalSet('default');
    expect(eluTarget()).toBe(0.8);
  });

  it('a schedule switches to a named goal set and back', () => {
    const { script, tick, changes, reg } = setup({
      goalSets: { strict: { scenes: { feed: { p99RtMs: { target: 50 } } } } },
      schedules: [{ at: '00:00:03', goals: 'strict' }, { at: '00:00:06', goals: 'default' }],
    });
    script.set('feed', sig(0.5)); // p99 100 ms: fine by default, over the strict set's 50 ms
    tick();
    tick();
    expect(changes).toEqual([]);
    tick();
    expect(changes[0]).toMatchObject({ goal: 'p99RtMs', target: 50 });
    for (let i = 0; i < 3; i++) tick();
    expect(reg.status()!.scenes[0]!.goals.map((g) => g.goal)).toEqual(['timeoutRate']);
  });
});

describe('process goals across scenes', () => {
  it('cut the lowest marginal benefit anywhere first, and veto raises while at their limit', () => {
    const { script, tick, changes } = setup({ goals: { elu: { target: 0.8, band: 0.2 } } });
    script.proc = { elu: 0.99 };
    for (let i = 0; i < 12; i++) tick();
    const moves = changes.filter((c) => c.reason === 'process').map((c) => `${c.scene}.${c.point}${c.to}`);
    expect(moves.slice(0, 2)).toEqual(['tail.c0', 'feed.a1']);
    // In band now: a scene with headroom of its own may not raise.
    changes.length = 0;
    script.proc = { elu: 0.7 };
    script.set('feed', HEADROOM);
    for (let i = 0; i < 20; i++) tick();
    expect(changes.filter((c) => c.to > c.from)).toEqual([]);
  });
});

describe('modes', () => {
  it('shadow computes and reports every move but applies none', () => {
    const { script, tick, changes, reg } = setup({ mode: 'shadow' });
    script.set('feed', VIOLATED);
    for (let i = 0; i < 3; i++) tick();
    expect(changes.length).toBe(4);
    expect(changes.every((c) => !c.applied && c.mode === 'shadow')).toBe(true);
    expect(reg.status()!.scenes[0]!.gears).toEqual({ a: 0, b: 0 }); // what it would do
    expect(reg.scene('feed')!.gearIndex('a')).toBe(2); // what requests get
    expect(reg.scene('feed')!.degraded).toBe(false);
    reg.setMode('auto');
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 }); // resumes from the live gears
  });

  it('frozen holds everything; fixed holds pinned gears against the goals', () => {
    const f = setup({ mode: 'frozen' });
    f.script.set('feed', VIOLATED);
    for (let i = 0; i < 5; i++) f.tick();
    expect(f.changes).toEqual([]);

    const x = setup({ mode: 'fixed' });
    x.reg.setFixed({ feed: { b: 1 } });
    x.script.set('feed', VIOLATED);
    for (let i = 0; i < 5; i++) x.tick();
    expect(x.changes.map((c) => `${c.point}${c.to}:${c.reason}`)).toEqual(['b1:pin']);
    expect(x.reg.gears().feed).toEqual({ a: 2, b: 1 });
  });

  it('emits mode events with the reason', () => {
    const { reg } = setup();
    const seen: string[] = [];
    reg.on('mode', (e) => seen.push(`${e.from}>${e.to}:${e.reason}`));
    reg.setMode('frozen', 'incident 42');
    expect(seen).toEqual(['auto>frozen:incident 42']);
  });
});

describe('schedules', () => {
  const PEAK = {
    timeZone: 'Asia/Shanghai',
    templates: { peak: { feed: { a: 0, b: 0 }, tail: { c: 0 } } },
    schedules: [
      { at: '19:59:00', name: 'peak preset', template: 'peak', mode: 'fixed' as const },
      { at: '20:01:00', name: 'auto, fast recovery', mode: 'auto' as const, fastRecovery: true },
    ],
  };
  const at = (hh: number, mm: number, ss: number) => Date.UTC(2026, 10, 11, hh - 8, mm, ss); // Asia/Shanghai is UTC+8

  it("runs the seeds' peak: 19:59:00 preset, held through the spike, 20:01:00 auto in fast recovery, back to top fast", () => {
    const { clock, script, reg, changes, tick } = setup(PEAK, { wallStart: at(19, 58, 0) });
    const rules: string[] = [];
    reg.on('rule', (e) => rules.push(`${e.name}@${new Date(e.at).toISOString()}`));
    script.set('feed', HEADROOM).set('tail', HEADROOM);
    const wall = () => clock.wallNow();
    let topAgain = -1;
    while (wall() < at(20, 5, 0)) {
      const r = tick();
      const feed = r.scenes[0]!;
      if (wall() < at(19, 59, 0)) expect(feed.gears).toEqual({ a: 2, b: 2 });
      else if (wall() < at(20, 1, 0)) {
        expect(feed.gears).toEqual({ a: 0, b: 0 });
        expect(r.mode).toBe('fixed');
      } else if (topAgain < 0 && r.scenes.every((s) => s.atTop)) topAgain = wall();
    }
    expect(rules).toEqual(['peak preset@2026-11-11T11:59:00.000Z', 'auto, fast recovery@2026-11-11T12:01:00.000Z']);
    expect(changes.filter((c) => c.reason === 'template').length).toBe(3);
    expect(changes.some((c) => c.reason === 'fast_recovery')).toBe(true);
    expect(topAgain - at(20, 1, 0)).toBeLessThanOrEqual(5000); // seeds: within 3 minutes
    expect(reg.fastRecovery).toBe(false); // ends once every point is back at the top
  });

  it('replays state (mode, caps) on start, and a template only while the replayed mode holds every gear', () => {
    // A restart at 20:00, inside the preset window. Until the nineteenth session the template, an action, was not
    // replayed, and `fixed` held the gears at the top through the peak's first minute.
    const mid = setup(PEAK, { wallStart: at(20, 0, 0) });
    expect(mid.reg.mode).toBe('fixed');
    expect(mid.reg.gears()).toEqual({ feed: { a: 0, b: 0 }, tail: { c: 0 } });
    // After 20:01 the control loop has moved on from the template: it is not replayed.
    const late = setup(PEAK, { wallStart: at(20, 5, 0) });
    expect(late.reg.mode).toBe('auto');
    expect(late.reg.gears()).toEqual({ feed: { a: 2, b: 2 }, tail: { c: 1 } });
  });

  it('replays the preset template when a restore crosses it, as a start there would', () => {
    const { reg, clock } = setup(PEAK, { wallStart: at(19, 50, 0) });
    const snap = reg.snapshot();
    clock.advance(10 * 60_000); // 20:00, no tick between: the process was down across 19:59
    reg.restore(snap);
    expect(reg.mode).toBe('fixed');
    expect(reg.gears()).toEqual({ feed: { a: 0, b: 0 }, tail: { c: 0 } });
  });

  it('replays only the limits in force after the last passed rule: a cap lifted later leaves the gears at the top', () => {
    // 20:01 caps a, 20:10 lifts every cap. A start at 09:00 the next day replays both; applied one by one, the first
    // took a down at once, and lifting the cap gave nothing back (found in a README walkthrough).
    const rules: RegulatorConfig = { timeZone: 'Asia/Shanghai', schedules: [{ at: '20:01:00', caps: { feed: { a: 0 } } }, { at: '20:10:00', caps: {} }] };
    const next = setup(rules, { wallStart: at(20, 0, 0) + 13 * 3600_000 });
    expect(next.reg.gears().feed).toEqual({ a: 2, b: 2 });
    expect(next.changes).toEqual([]);
    const between = setup(rules, { wallStart: at(20, 5, 0) }); // the cap is the last rule passed: it holds
    expect(between.reg.gears().feed).toEqual({ a: 0, b: 2 });
    // The same two rules falling in one tick (a paused process, a long period) move nothing either.
    const { reg, tick, changes } = setup(rules, { wallStart: at(20, 0, 0) });
    tick(11 * 60_000);
    expect(reg.gears().feed).toEqual({ a: 2, b: 2 });
    expect(changes).toEqual([]);
  });

  it('applies scheduled caps and absolute timestamps once', () => {
    const { reg, tick, changes } = setup(
      { timeZone: 'Asia/Shanghai', schedules: [{ at: '2026-11-11T20:00:05', caps: { feed: { a: 1 } } }, { at: '2026-11-11T12:00:08Z', caps: {} }] },
      { wallStart: at(20, 0, 0) },
    );
    for (let i = 0; i < 6; i++) tick();
    expect(reg.gears().feed).toEqual({ a: 1, b: 2 });
    expect(changes.map((c) => c.reason)).toEqual(['cap']);
    for (let i = 0; i < 30; i++) tick();
    // Caps cleared: with no goal reading, the allowance the cap took is given back at the careful rate (before the
    // sixteenth session nothing gave it back without signals, and a quiet scene stayed cut for good).
    expect(reg.gears().feed!.a).toBe(2);
    expect(changes.map((c) => c.reason)).toEqual(['cap', 'headroom']);
  });

  it('fires a daily rule across a DST jump once', () => {
    // Europe/Berlin springs forward on 2026-03-29 at 02:00 → 03:00: a 02:30:00 rule is crossed, and fires once.
    const wall = Date.UTC(2026, 2, 29, 0, 59, 0); // 01:59:00 local
    const { reg, tick } = setup({ timeZone: 'Europe/Berlin', schedules: [{ at: '02:30:00', mode: 'frozen' }] }, { wallStart: wall });
    for (let i = 0; i < 120; i++) tick();
    expect(reg.mode).toBe('frozen');
  });

  it('does not fire a daily rule again on the autumn repeat after a reload in between', () => {
    // Europe/Berlin falls back on 2026-10-25 at 03:00 CEST → 02:00 CET: local 02:30 comes at 00:30Z and again at
    // 01:30Z. The rule fired at the first; a reload at 01:00Z rebuilt the scheduler and forgot it (until the
    // nineteenth session), so the repeat fired it a second time, an hour late.
    const regulator: RegulatorConfig = { timeZone: 'Europe/Berlin', schedules: [{ at: '02:30:00', name: 'night', mode: 'frozen' }] };
    const { reg, tick } = setup(regulator, { wallStart: Date.UTC(2026, 9, 25, 0, 29, 0) });
    const fired: number[] = [];
    reg.on('rule', (e) => fired.push(e.at));
    for (let i = 0; i < 120; i++) tick(); // 00:31Z
    expect(fired).toEqual([Date.UTC(2026, 9, 25, 0, 30, 0)]);
    reg.setMode('auto');
    tick(29 * 60_000 - 1000); // 01:00Z, local 02:00 CET
    // The same rule, its keys in another order, and another setting beside it.
    reg.reload(regConfig({ historySize: 500, timeZone: 'Europe/Berlin', schedules: [{ mode: 'frozen', name: 'night', at: '02:30:00' }] }));
    for (let i = 0; i < 40; i++) tick(60_000); // to 01:40Z, past the repeat of 02:30
    expect(fired).toHaveLength(1);
    expect(reg.mode).toBe('auto');
  });

  it('lets a rule a reload changed fire on the autumn repeat: it is a new rule', () => {
    const { reg, tick } = setup({ timeZone: 'Europe/Berlin', schedules: [{ at: '02:30:00', mode: 'frozen' }] }, { wallStart: Date.UTC(2026, 9, 25, 0, 29, 0) });
    const fired: number[] = [];
    reg.on('rule', (e) => fired.push(e.at));
    tick(120_000);
    tick(29 * 60_000); // 01:00Z
    reg.reload(regConfig({ timeZone: 'Europe/Berlin', schedules: [{ at: '02:30:00', mode: 'fixed' }] }));
    for (let i = 0; i < 40; i++) tick(60_000);
    expect(fired).toEqual([Date.UTC(2026, 9, 25, 0, 30, 0), Date.UTC(2026, 9, 25, 1, 30, 0)]);
    expect(reg.mode).toBe('fixed');
  });
});

describe('tidal boost', () => {
  it('engages after sustained headroom, raises boost gears within the ceiling, and drops them first when headroom shrinks', () => {
    const { script, tick, changes, reg } = setup({ boost: { holdMs: 10_000, maxCost: 1.5 } });
    const events: string[] = [];
    reg.on('boost', (e) => events.push(`${e.scene}:${e.engaged}`));
    script.set('tail', HEADROOM);
    for (let i = 0; i < 30; i++) tick();
    expect(events).toEqual(['tail:true']);
    expect(reg.gears().tail).toEqual({ c: 2 });
    expect(changes.at(-1)!.reason).toBe('boost');
    script.set('tail', sig(0.95)); // in band, past its middle: headroom is shrinking
    for (let i = 0; i < 8 && events.length < 2; i++) tick();
    expect(events).toEqual(['tail:true', 'tail:false']);
    expect(reg.gears().tail).toEqual({ c: 1 });
    expect(changes.at(-1)!.reason).toBe('boost_release');
  });
});

describe('fast recovery', () => {
  /** The simulator's feed scene (floor cost 0.12 of its normal top) with a process ELU goal, cut to the floor in `fixed`. */
  function atFloor() {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const script = new Script();
    const config = validateConfig({
      scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() } },
      regulator: { goals: { elu: { target: 0.85, band: 0.25 } }, boost: { enabled: false }, templates: { floor: { feed: { recall: 0, rank: 0, creatives: 0 } } } },
    });
    const reg = new Regulator({ config, clock, signals: script });
    reg.setMode('fixed');
    reg.applyTemplate('floor');
    script.set('feed', HEADROOM);
    const tick = () => {
      clock.advance(1000);
      return reg.tick().scenes[0]!;
    };
    tick();
    reg.setMode('auto');
    reg.setFastRecovery(true);
    return { script, tick };
  }

  it('raises by what the headroom allows, up to its step', () => {
    // The process at 0.57 of 0.85 (its band starts at 0.6375): room for about 12% more load. Until the twentieth
    // session fast recovery added its full step (0.25) on any headroom: 0.12 → 0.32, nearly three times the load.
    const tight = atFloor();
    tight.script.proc = { elu: 0.57 };
    expect(tight.tick().allowance).toBeLessThan(0.12 * (0.75 / (0.57 / 0.85)) + 0.04 + 1e-9);
    // The scene's own goals bound it too: p99 at 0.3 of its target gives room for 2.5 times the cost.
    const scene = atFloor();
    scene.script.proc = { elu: 0.1 };
    expect(scene.tick().allowance).toBeCloseTo(0.12 * 2.5, 2);
    // Plenty of room everywhere: the full step.
    const free = atFloor();
    free.script.proc = { elu: 0.1 };
    free.script.set('feed', sig(0.1));
    expect(free.tick().allowance).toBeCloseTo(0.12 + 0.25, 2);
  });
});

describe('the dwell after a cut', () => {
  it("counts only the scene's own cuts: a process that probed its edge for minutes leaves the scene's dwell alone", () => {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const script = new Script();
    const config = validateConfig({
      scenes: { feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: feedPoints() } },
      regulator: { goals: { elu: { target: 0.8, band: 0.25 } }, boost: { enabled: false } },
    });
    const reg = new Regulator({ config, clock, signals: script });
    const changes: { at: number; reason: string }[] = [];
    reg.on('change', (c) => changes.push({ at: clock.now(), reason: c.reason }));
    const tick = () => {
      clock.advance(1000);
      return reg.tick().scenes[0]!;
    };
    script.set('feed', HEADROOM);
    let r = tick();
    for (let i = 0; i < 400; i++) {
      script.proc = { elu: r.cost > 0.9 ? 0.95 : 0.5 }; // the process's edge sits just below the scene's top
      r = tick();
    }
    script.proc = { elu: 0.3 };
    for (let i = 0; i < 120; i++) r = tick();
    expect(r.atTop).toBe(true);
    // One bad second of the scene's own, then headroom: it climbs back after its base dwell (5 s), not a backed-off one.
    script.set('feed', sig(1.5, 1500)); // at a load grown by half: an overload's cut (at the same load it is a transient's, given back at once)
    tick();
    const cutAt = clock.now();
    script.set('feed', HEADROOM);
    for (let i = 0; i < 70; i++) tick();
    const firstRaise = changes.find((c) => c.at > cutAt && c.reason === 'headroom');
    expect(firstRaise!.at - cutAt).toBeLessThanOrEqual(10_000); // until the twentieth session: 60 s
  });
});

describe('tidal boost hysteresis', () => {
  /** Ticks until the tail scene's boost engages (at most `limit`). */
  const untilEngaged = (tick: () => unknown, seen: boolean[], limit: number): number => {
    const n = seen.length;
    for (let i = 1; i <= limit; i++) {
      tick();
      if (seen.length > n && seen.at(-1) === true) return i;
    }
    return Infinity;
  };

  it('keeps a boost while the process reads inside its band, ends it in the top quarter', () => {
    const { script, tick, reg } = setup({ boost: { holdMs: 10_000 }, goals: { elu: { target: 0.8 } } });
    const seen: boolean[] = [];
    reg.on('boost', (e) => seen.push(e.engaged));
    script.set('tail', HEADROOM);
    script.proc = { elu: 0.4 };
    expect(untilEngaged(tick, seen, 20)).toBe(11); // headroom from the first tick, 10 s later
    script.proc = { elu: 0.72 }; // pressure 0.9: in band; until the twentieth session this ended the boost
    for (let i = 0; i < 30; i++) tick();
    expect(seen).toEqual([true]);
    script.proc = { elu: 0.8 };
    for (let i = 0; i < 3; i++) tick();
    expect(seen).toEqual([true, false]);
  });

  it('waits twice as long after a boost that did not hold through one hold, and back to one hold after one that did', () => {
    const { script, tick, reg } = setup({ boost: { holdMs: 10_000 } });
    const seen: boolean[] = [];
    reg.on('boost', (e) => seen.push(e.engaged));
    script.set('tail', HEADROOM);
    const failAfter = (ticks: number): void => {
      for (let i = 0; i < ticks; i++) tick();
      script.set('tail', VIOLATED);
      tick();
      script.set('tail', HEADROOM);
      while (reg.status()!.scenes[1]!.cost < 1) tick(); // back at its normal top
    };
    expect(untilEngaged(tick, seen, 30)).toBe(11);
    failAfter(3);
    const waits = [untilEngaged(tick, seen, 200)];
    failAfter(3);
    waits.push(untilEngaged(tick, seen, 200));
    failAfter(15); // held longer than one hold: the next waits one hold again
    waits.push(untilEngaged(tick, seen, 200));
    expect(waits).toEqual([21, 41, 11]); // each counted from the tick back at the top, as the first (11) from the start
  });
});

describe('shedding', () => {
  it('only at the floor with a goal still violated: load-test traffic first, then low-priority scenes, never normal ones', () => {
    const { script, tick, reg } = setup();
    const shed: string[] = [];
    reg.on('shed', (e) => shed.push(`${e.scene}:${e.loadTest}:${e.share.toFixed(1)}`));
    script.set('feed', VIOLATED).set('tail', VIOLATED);
    const trace: { tick: number; feed: [boolean, number]; tail: [boolean, number]; floor: boolean }[] = [];
    for (let i = 0; i < 8; i++) {
      const r = tick();
      const [f, t] = r.scenes;
      trace.push({ tick: i, feed: [f!.shedLoadTest, f!.shedShare], tail: [t!.shedLoadTest, t!.shedShare], floor: t!.cost === 0.5 });
    }
    const firstLt = trace.findIndex((x) => x.tail[0]);
    const firstShare = trace.findIndex((x) => x.tail[1] > 0);
    expect(trace[firstLt]!.floor).toBe(true); // tail's one normal step is gone on the first cut
    expect(firstShare).toBe(firstLt + 1);
    expect(trace.every((x) => x.feed[1] === 0)).toBe(true);
    expect(trace.at(-1)!.feed[0]).toBe(true);
    expect(shed[0]).toMatch(/^(tail|feed):true:0.0$/);
    // Relief: the share drains, then load-test traffic is let back in.
    script.set('feed', HEADROOM).set('tail', HEADROOM);
    const relief: [boolean, number][] = [];
    for (let i = 0; i < 40; i++) {
      const tail = tick().scenes[1]!;
      relief.push([tail.shedLoadTest, tail.shedShare]);
    }
    expect(relief[0]![1]).toBeGreaterThan(0); // there was a share to drain
    expect(relief.every(([lt, share]) => share === 0 || lt)).toBe(true); // load tests stay out while any share is shed
    expect(relief.at(-1)).toEqual([false, 0]);
    expect(reg.scene('tail')!.shedding).toBe(false);
    expect(reg.scene('feed')!.shedding).toBe(false);
  });

  it('holds its share while the goals are in their band (the dead band), and gives it back only on headroom', () => {
    const { script, tick, reg } = setup();
    let steps = 0;
    reg.on('shed', () => steps++);
    script.set('tail', VIOLATED);
    for (let i = 0; i < 4; i++) tick();
    script.set('tail', sig(0.9)); // the smoothed reading comes down into the band in a few ticks
    for (let i = 0; i < 5; i++) tick();
    const shed = tick().scenes[1]!;
    expect([shed.shedLoadTest, shed.shedShare > 0.2]).toEqual([true, true]);
    // In the band, high and low in it (0.73 is inside the band widened by the hysteresis after a cut): nothing moves.
    const before = steps;
    for (let i = 0; i < 30; i++) {
      script.set('tail', sig(i % 2 === 0 ? 0.98 : 0.73));
      const tail = tick().scenes[1]!;
      expect([tail.shedLoadTest, tail.shedShare]).toEqual([true, shed.shedShare]);
    }
    expect(steps).toBe(before); // until the twentieth session: drained on every tick not violated, then shed again
    // The process in its band holds the share too, however much room the scene has.
    reg.reload(regConfig({ goals: { elu: { target: 0.8, band: 0.25 } } }));
    script.set('tail', HEADROOM);
    script.proc = { elu: 0.75 }; // pressure 0.94: in its band
    for (let i = 0; i < 10; i++) expect(tick().scenes[1]!.shedShare).toBe(shed.shedShare);
    script.proc = undefined;
    expect(tick().scenes[1]!.shedShare).toBeLessThan(shed.shedShare);
  });

  it('spreads a shed share evenly over requests', () => {
    const { reg } = setup();
    const live = reg.scene('tail')!;
    live.shedShare = 0.25;
    let n = 0;
    for (let i = 0; i < 1000; i++) if (live.shouldShed(false)) n++;
    expect(n).toBe(250);
  });
});

describe('per-request value (DCAF)', () => {
  it('gives an average request the regulated gear, a low-value one less, a high-value one more within the limit', () => {
    const { reg } = setup({ templates: { mid: { feed: { a: 1, b: 1 } } } });
    reg.applyTemplate('mid');
    reg.tick();
    const live = reg.scene('feed')!;
    expect(live.lambda).toBeCloseTo(0.5, 10); // benefit of a1, the least valuable step still on
    expect(live.gearIndexFor('a', 1)).toBe(1);
    expect(live.gearIndexFor('a', 0.5)).toBe(0);
    expect(live.gearIndexFor('b', 3)).toBe(2);
    expect(live.gearFor('b', 3)).toBe('z');
    expect(live.gearIndexFor('nope', 3)).toBe(-1);
  });
});

describe('state', () => {
  it('snapshot → JSON → restore gives the same gears, allowance, caps and mode, even in a new regulator', () => {
    const a = setup();
    a.script.set('feed', VIOLATED);
    a.tick();
    a.tick();
    a.reg.setCaps({ tail: { c: 0 } });
    a.reg.setMode('frozen');
    const snap = JSON.parse(JSON.stringify(a.reg.snapshot()));
    const b = setup();
    b.reg.restore(snap);
    expect(b.reg.gears()).toEqual(a.reg.gears());
    expect(b.reg.mode).toBe('frozen');
    expect(b.reg.snapshot().scenes.feed!.allowance).toBeCloseTo(a.reg.snapshot().scenes.feed!.allowance, 12);
    expect(b.reg.snapshot().scenes.tail!.caps).toEqual({ c: 0 });
    expect(b.reg.scene('feed')!.gearIndex('b')).toBe(a.reg.scene('feed')!.gearIndex('b'));
    expect(b.changes.every((c) => c.reason === 'restore')).toBe(true);
    expect(() => b.reg.restore({ ...snap, version: 99 })).toThrow(/version/);
  });

  it('keeps a bounded history of changes', () => {
    const { script, tick, reg } = setup({ historySize: 3 });
    script.set('feed', VIOLATED);
    for (let i = 0; i < 4; i++) tick();
    expect(reg.changes().map((c) => `${c.point}${c.to}`)).toEqual(['a0', 'b1', 'b0']);
    const ring = new Ring<number>(2);
    [1, 2, 3].forEach((x) => ring.push(x));
    expect(ring.toArray()).toEqual([2, 3]);
  });

  it('keeps gears across a reload of the same points, and runs on an unref\'d timer that close() stops', () => {
    const { script, tick, reg } = setup();
    script.set('feed', VIOLATED);
    tick();
    const before = reg.gears();
    reg.reload(regConfig({ control: { kp: 0.2 } }));
    expect(reg.gears()).toEqual(before);
    reg.start();
    const timer = (reg as unknown as { timer: NodeJS.Timeout | null }).timer!;
    expect(timer.hasRef()).toBe(false);
    reg.close();
    expect((reg as unknown as { timer: unknown }).timer).toBe(null);
  });

  it('applies caps and pins at once, not at the next tick: an emergency cap holds from the next request', () => {
    const { reg, changes } = setup();
    expect(reg.scene('feed')!.gearIndex('a')).toBe(2);
    reg.setCaps({ feed: { a: 0 } }); // no tick
    expect(reg.scene('feed')!.gearIndex('a')).toBe(0); // what a request reads
    expect(changes.map((c) => [c.point, c.from, c.to, c.reason])).toEqual([['a', 2, 0, 'cap']]);
    reg.setCaps({}); // lifting a cap gives nothing back by itself: the control loop raises gears when there is room
    expect(reg.scene('feed')!.gearIndex('a')).toBe(0);
    reg.setMode('fixed');
    reg.setFixed({ feed: { a: 1, b: 0 } });
    expect([reg.scene('feed')!.gearIndex('a'), reg.scene('feed')!.gearIndex('b')]).toEqual([1, 0]);
    expect(changes.slice(1).map((c) => c.reason)).toEqual(['pin', 'pin']);
    reg.setFixed({});
    reg.setMode('shadow'); // shadow computes and reports, and applies nothing: not even a cap
    reg.setCaps({ feed: { a: 0 } });
    expect(changes.at(-1)).toMatchObject({ point: 'a', from: 1, to: 0, reason: 'cap', applied: false });
    expect(reg.scene('feed')!.gearIndex('a')).toBe(1);
  });

  it('throws a usage error for an unknown template', () => {
    const { reg } = setup();
    expect(() => reg.applyTemplate('nope')).toThrow(/unknown template/);
  });

  // Run-time commands bypass the config's validation: each is checked in full before anything moves.
  it.each([
    ['a mode that does not exist', (r: Regulator) => r.setMode('turbo' as never), /setMode: expected one of auto, fixed, frozen, shadow, got "turbo"/],
    ['a fast-recovery window of NaN ms', (r: Regulator) => r.setFastRecovery(true, NaN), /setFastRecovery\.durationMs: expected a duration/],
    ['a fast-recovery switch with no prototype', (r: Regulator) => r.setFastRecovery(Object.create(null)), /^setFastRecovery: expected true or false, got object$/],
    ['pins on an unknown scene', (r: Regulator) => r.setFixed({ fed: { a: 1 } }), /^setFixed\.fed: unknown scene "fed"$/],
    ['pins on an unknown point', (r: Regulator) => r.setFixed({ feed: { z: 1 } }), /^setFixed\.feed\.z: unknown point "z" \(the scene has a, b\)$/],
    ['a pin beyond the ladder', (r: Regulator) => r.setFixed({ feed: { a: 0, b: 3 } }), /setFixed\.feed\.b: expected a gear index 0–2, got 3/],
    ['a fractional cap', (r: Regulator) => r.setCaps({ feed: { a: 1.5 } }), /setCaps\.feed\.a: expected a gear index 0–2, got 1\.5/],
    ['caps that are not an object', (r: Regulator) => r.setCaps(5 as never), /setCaps: expected \{ scene: \{ point: gear index \} \}/],
    ['caps given as a Map (its entries would be invisible)', (r: Regulator) => r.setCaps(new Map([['feed', { a: 0 }]]) as never), /setCaps: expected \{ scene: \{ point: gear index \} \}, got Map instance/],
    ['an unknown goal set', (r: Regulator) => r.setGoalSet('promo'), /setGoalSet: unknown goal set "promo" \(configured: none\)/],
    // Found by test/fuzz-regulator.test.ts: these threw a TypeError or the host's own error.
    ['a goal set name with no prototype', (r: Regulator) => r.setGoalSet(Object.create(null)), /^setGoalSet: unknown goal set object \(configured: none\)$/],
    ['a template name with no prototype', (r: Regulator) => r.applyTemplate(Object.create(null)), /^applyTemplate: unknown template object$/],
    ['caps behind a Proxy that throws', (r: Regulator) => r.setCaps(new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } }) as never), /^setCaps: could not be read as plain data/],
    ['caps given as a class instance (structuredClone once made it a plain object that passed)', (r: Regulator) => r.setCaps(new (class Caps { feed = { a: 1 }; })() as never), /setCaps: expected \{ scene: \{ point: gear index \} \}, got Caps instance/],
    ['pins with a getter that throws', (r: Regulator) => r.setFixed(Object.defineProperty({}, 'feed', { enumerable: true, get: () => { throw new Error('boom'); } })), /^setFixed: could not be read as plain data \(boom\)$/],
  ])('refuses %s and changes nothing', (_what, command, message) => {
    const { reg, script, tick } = setup();
    script.set('feed', VIOLATED);
    tick();
    reg.setCaps({ tail: { c: 1 } });
    const before = JSON.stringify({ ...reg.snapshot(), at: 0 });
    expect(() => command(reg)).toThrow(message);
    expect(JSON.stringify({ ...reg.snapshot(), at: 0 })).toBe(before);
  });

  it('refuses a malformed snapshot with the path of the bad field, before restoring any of it', () => {
    const a = setup();
    a.script.set('feed', VIOLATED);
    a.tick();
    const good = JSON.parse(JSON.stringify(a.reg.snapshot()));
    const b = setup();
    const before = JSON.stringify({ ...b.reg.snapshot(), at: 0 });
    const feed = good.scenes.feed;
    for (const [bad, message] of [
      [null, /restore: expected a snapshot object/],
      [{ ...good, mode: 'weird' }, /restore\.mode: expected one of/],
      [{ ...good, processAllowance: 'x' }, /restore\.processAllowance/],
      [{ ...good, scenes: { ...good.scenes, feed: { ...feed, allowance: -1 } } }, /restore\.scenes\.feed\.allowance/],
      [{ ...good, scenes: { ...good.scenes, feed: { ...feed, gears: { a: 'z' } } } }, /restore\.scenes\.feed\.gears\.a: expected a gear index/],
      [{ ...good, scenes: { ...good.scenes, feed: { ...feed, caps: null } } }, /restore\.scenes\.feed\.caps/],
      [{ ...good, scenes: { ...good.scenes, feed: { ...feed, shedShare: 2 } } }, /restore\.scenes\.feed\.shedShare/],
    ] as const) {
      expect(() => b.reg.restore(bad as never)).toThrow(message);
      expect(JSON.stringify({ ...b.reg.snapshot(), at: 0 })).toBe(before);
    }
    // A snapshot is read once: what restore checked is what it applies (a getter may answer differently the next time).
    let reads = 0;
    b.reg.restore({ ...good, get mode() { return reads++ === 0 ? 'frozen' : 'bogus'; } });
    expect(b.reg.mode).toBe('frozen');
    expect(() => b.reg.restore(new Proxy(good, {}))).toThrow(/^restore: could not be read as plain data/);
    // What the config no longer has is skipped, as for scenes and points: a goal set falls back to the default goals.
    b.reg.restore({ ...good, goalSet: 'gone', scenes: { ...good.scenes, gone: feed } });
    expect(b.reg.gears()).toEqual(a.reg.gears());
    expect(b.reg.snapshot().goalSet).toBe(null);
  });
});

describe('config validation', () => {
  const bad = (regulator: Record<string, unknown>, points?: Record<string, unknown>) => {
    try {
      validateConfig({ scenes: { feed: { versions: { v: { stage: 'base' } }, points: points ?? { a: { gears: [1, 2] } } } }, regulator });
    } catch (e) {
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };

  it('names the path of every cross-field problem', () => {
    expect(bad({ templates: { t: { feed: { nope: 0 } } } })).toEqual(['regulator.templates.t.feed.nope: unknown point "nope" (the scene has a)']);
    expect(bad({ templates: { t: { feed: { a: 5 } } } })[0]).toMatch(/^regulator.templates.t.feed.a: expected a gear index 0–\d, got 5$/);
    expect(bad({ templates: { t: { other: { a: 0 } } } })[0]).toMatch(/unknown scene "other"/);
    expect(bad({ schedules: [{ at: '25:00:00', mode: 'auto' }] })[0]).toMatch(/^regulator.schedules\[0\].at: expected "HH:MM:SS"/);
    expect(bad({ schedules: [{ at: '2026-02-30T10:00:00', mode: 'auto' }] })[0]).toMatch(/schedules\[0\].at/);
    expect(bad({ schedules: [{ at: '10:00:00', template: 'peak' }] })[0]).toMatch(/unknown template "peak"/);
    expect(bad({ schedules: [{ at: '10:00:00', goals: 'night' }] })[0]).toMatch(/unknown goal set "night"/);
    expect(bad({ schedules: [{ at: '10:00:00' }] })[0]).toMatch(/a rule must do something/);
    expect(bad({ timeZone: 'Mars/Olympus' })[0]).toMatch(/^regulator.timeZone: unknown IANA time zone/);
    expect(bad({}, { a: { gears: [1, 2], cost: [1] } })[0]).toMatch(/^scenes.feed.points.a.cost: expected 2 entries/);
    expect(bad({}, { a: { gears: [1, 2], value: [2, 1] } })[0]).toMatch(/must not decrease/);
    expect(bad({}, { a: { gears: [1, 2], boost: 2 } })[0]).toMatch(/boost/);
    // One issue for one mistake: with no normal gear left there is no top for the floor to be above (until the
    // nineteenth session a second issue read "floor undefined is above the normal top gear -1").
    expect(bad({}, { a: { gears: [1], boost: 1 } })).toEqual(['scenes.feed.points.a.boost: at most 0 of the 1 gears can be boost gears']);
    // A default below the floor was accepted, and the point started at the floor instead, unannounced.
    expect(bad({}, { a: { gears: [1, 2, 3], floor: 1, default: 0 } })).toEqual(['scenes.feed.points.a.default: default 0 is below the floor 1']);
    expect(bad({}, { a: { gears: [1, 2, 3], boost: 1, floor: 2 } })[0]).toMatch(/floor 2 is above the normal top gear 1/);
    expect(bad({}, { a: { gears: [1, 2, 3], boost: 1, default: 2 } })[0]).toMatch(/^scenes.feed.points.a.default: default 2 is above the normal top gear 1/);
    expect(bad({ goalSets: { night: { scenes: { ghost: {} } } } })).toEqual(['regulator.goalSets.night.scenes.ghost: unknown scene "ghost"']);
    expect(bad({ schedules: [{ at: '10:00:00', fixed: { feed: { a: 2 } } }] })[0]).toMatch(/^regulator.schedules\[0\].fixed.feed.a: expected a gear index 0–1, got 2$/);
    expect(bad({ schedules: [{ at: '10:00:00', caps: { feed: { b: 0 } } }] })[0]).toMatch(/^regulator.schedules\[0\].caps.feed.b: unknown point "b" \(the scene has a\)$/);
    expect(bad({ control: { kp: -1 } })[0]).toMatch(/^regulator.control.kp/);
    expect(bad({ templates: { t: { feed: { a: 1 } } }, schedules: [{ at: '19:59:00', template: 't', mode: 'fixed' }] })).toEqual([]);
  });

  it('accepts each rule at its boundary: equal neighbours, a floor at the top gear, a fast-recovery-only schedule', () => {
    // "must not decrease" allows a flat step; floor/default may sit on the normal top gear itself; fastRecovery alone does something.
    expect(bad({}, { a: { gears: [1, 2, 3], cost: [1, 1, 2], value: [0, 5, 5] } })).toEqual([]);
    expect(bad({}, { a: { gears: [1, 2, 3], boost: 1, floor: 1, default: 1 } })).toEqual([]);
    expect(bad({ schedules: [{ at: '10:00:00', fastRecovery: true }] })).toEqual([]);
  });
});

describe('engine integration', () => {
  const engines: Gearshift[] = [];
  afterEach(() => engines.splice(0).forEach((e) => e.close()));
  const engine = (regulator = {}) => {
    const config = { ...regConfig({ templates: { low: { feed: { a: 0 } } }, ...regulator }), sense: { process: { enabled: false } } };
    const gs = createGearshift({ config, clock: new ManualClock(0) });
    engines.push(gs);
    return gs;
  };

  it('exposes the live gear of a point on the decision, and degraded when below the top', () => {
    const gs = engine();
    const d = gs.route('feed', 'u1');
    expect(d.gear('a')).toBe(30);
    expect(d.gear('b')).toBe('z');
    expect(d.gear('nope')).toBeUndefined();
    expect(d.gearIndex('a')).toBe(2);
    expect(d.gearFor('a', Number.NaN)).toBe(10); // a score that is no number gets the floor, never an error
    expect(d.degraded).toBe(false);
    gs.regulator.applyTemplate('low');
    const e = gs.route('feed', 'u1');
    expect(e.gear('a')).toBe(10);
    expect(e.degraded).toBe(true);
    expect(e.gearFor('a', 1)).toBe(e.gear('a')); // DCAF through the decision: an average request, the regulated gear
    expect(e.gearFor('nope', 2)).toBeUndefined();
    expect(gs.route('nope', 'u1').gearFor('a', 2)).toBeUndefined();
    expect(gs.route('nope', 'u1').gear('a')).toBeUndefined();
  });

  it('sheds with reason "shed" and a Retry-After hint, load-test traffic only for a normal-priority scene', () => {
    const gs = engine({ shedding: { retryAfterS: 7 } });
    const snap = gs.regulator.snapshot();
    gs.regulator.restore({ ...snap, scenes: { ...snap.scenes, feed: { ...snap.scenes.feed!, shedLoadTest: true } } });
    const lt = gs.route('feed', 'u1', { trusted: true, loadTest: true });
    expect(lt.ok).toBe(false);
    expect(lt.reason).toBe('shed');
    const lt2 = gs.route('feed', 'u1', { trusted: true, loadTest: true });
    expect(lt2.retryAfterSec).toBe(7);
    expect(lt2.reason).toBe('shed');
    expect(gs.route('feed', 'u1').ok).toBe(true);
  });

  it('reloads the regulator with the config and keeps its gears', () => {
    const gs = engine();
    gs.regulator.applyTemplate('low');
    gs.reload({ ...regConfig({ templates: { low: { feed: { a: 0 } } } }), sense: { process: { enabled: false } } });
    expect(gs.route('feed', 'u').gear('a')).toBe(10);
  });

  it('feeds the regulator from real sensing: slow responses cut the gears on the next tick', () => {
    const clock = new ManualClock(0);
    const gs = createGearshift({ config: { ...regConfig(), sense: { process: { enabled: false } } }, clock });
    engines.push(gs);
    for (let i = 0; i < 300; i++) {
      const d = gs.route('feed', `u${i}`);
      clock.advance(3);
      gs.complete(d, 'success', 450); // over the 200 ms budget
    }
    gs.regulator.tick();
    expect(gs.route('feed', 'u').gearIndex('a')).toBeLessThan(2);
    expect(gs.regulator.changes()[0]).toMatchObject({ reason: 'violated', goal: 'timeoutRate' });
  });
});

describe('Regulator made by hand', () => {
  const raw = { scenes: { feed: { versions: { base: { stage: 'base' } }, points: { a: { gears: [1, 2, 3] } } } } };

  it('validates a config that did not come from validateConfig, and refuses a bad one by its path', () => {
    const reg = new Regulator({ config: raw as never, clock: new ManualClock(0) });
    expect(reg.gears()).toEqual({ feed: { a: 2 } });
    const bad = { scenes: { feed: { versions: { base: { stage: 'base' } }, points: { a: { gears: [] } } } } };
    expect(() => new Regulator({ config: bad as never })).toThrow(ConfigError);
    expect(() => new Regulator({ config: bad as never })).toThrow(/scenes\.feed\.points\.a\.gears/);
    expect(() => reg.reload(bad as never)).toThrow(ConfigError);
    expect(reg.gears()).toEqual({ feed: { a: 2 } }); // the refused reload changed nothing
  });

  it.each([
    ['no options', undefined, /^new Regulator\(options\): expected \{ config, clock\?, signals\? \}/],
    ['options without a config', {}, ConfigError],
    ['a clock without wallNow', { config: raw, clock: { now: () => 0 } }, /^new Regulator\(options\): clock must have now\(\)/],
    ['signals that cannot be read', { config: raw, signals: { scene: () => undefined } }, /^regulator signals: expected \{ scene\(id, minSamples\), process\(\) \}/],
  ])('refuses %s with a GearshiftError, not a TypeError', (_what, options, error) => {
    expect(() => new Regulator(options as never)).toThrow(error as RegExp);
    expect(() => new Regulator(options as never)).toThrow(GearshiftError);
  });

  it('refuses signals that cannot be read on setSignals too', () => {
    const reg = new Regulator({ config: regConfig(), clock: new ManualClock(0) });
    expect(() => reg.setSignals(null as never)).toThrow(UsageError);
  });
});

describe('Regulator without a source', () => {
  it('holds still', () => {
    const reg = new Regulator({ config: regConfig(), clock: new ManualClock(0) });
    for (let i = 0; i < 5; i++) reg.tick();
    expect(reg.changes()).toEqual([]);
    expect(new Script().scene('x')).toBeUndefined();
  });
});
