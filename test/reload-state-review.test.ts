/**
 * Review: `engine.reload(config)` and `regulator.restore(snapshot)` against regulator state that is in progress at the
 * moment of the reload (a tidal boost, a fast-recovery window, a schedule rule's template / caps / mode / goal set,
 * shedding, a process cut, a backed-off dwell).
 *
 * `describe('faults')`: each test FAILS on the reviewed code and names the behaviour it expects (see REPORT.md).
 * `describe('held up')`: passing tests, kept as evidence of what was checked and held.
 *
 * Deterministic: a ManualClock, a scripted signal source, ticks by hand (the engine's own timer is set to 600 s).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import type { GearshiftConfig } from '../src/config/schema.js';
import { createGearshift } from '../src/engine.js';
import type { GearChange } from '../src/regulate/events.js';
import type { ProcessSignals } from '../src/regulate/signals.js';
import { Script, sig } from './regulate-helpers.js';

const FEED_POINTS = {
  a: { gears: [10, 20, 30], cost: [1, 2, 3], value: [1, 1.5, 1.6] },
  b: { gears: ['x', 'y', 'z'], cost: [1, 2, 3], value: [1, 1.8, 2.4] },
};
/** tail.c: normal top gear 1 (cost 6), one boost gear (cost 7: 1.17 of the normal top, within boost.maxCost 1.2). */
const TAIL_POINTS = { c: { gears: [1, 2, 3], cost: [5, 6, 7], value: [5, 6, 7], boost: 1 } };

type Shape = { version?: string; feedPoints?: Record<string, unknown>; tailPoints?: Record<string, unknown> };

/** feed (normal priority): points a, b (two normal steps each); tail (low priority): point c (one step + one boost gear). */
function cfg(regulator: RegulatorConfig = {}, o: Shape = {}): GearshiftConfig {
  return {
    version: o.version ?? 'v1',
    scenes: {
      feed: { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: (o.feedPoints ?? FEED_POINTS) as never },
      tail: { priority: 'low', versions: { base: { stage: 'base' } }, points: (o.tailPoints ?? TAIL_POINTS) as never },
    },
    // A long period: the engine's own timer never fires during a test.
    regulator: { periodMs: 600_000, goals: {}, ...regulator },
  };
}

const T0 = Date.UTC(2026, 0, 1);
const ELU: RegulatorConfig = { goals: { elu: { target: 0.85, band: 0.25 } } };

function rig(regulator: RegulatorConfig = {}, o: Shape & { wallStart?: number } = {}) {
  const clock = new ManualClock(0, o.wallStart ?? T0);
  const gs = createGearshift({ config: cfg(regulator, o), clock });
  const script = new Script();
  gs.regulator.setSignals(script);
  const changes: GearChange[] = [];
  gs.regulator.on('change', (c) => changes.push(c));
  const boosts: boolean[] = [];
  gs.regulator.on('boost', (e) => boosts.push(e.engaged));
  let taken = 0;
  /** A process sample: a new one (numbered by `taken`), or the last one read again (a tick faster than sampling). */
  const elu = (v: number, fresh = true): ProcessSignals => ({ elu: v, taken: { elu: fresh ? ++taken : taken } });
  const tick = (ms = 1000) => {
    clock.advance(ms);
    return gs.regulator.tick();
  };
  const moves = () => changes.map((c) => `${c.scene}.${c.point} ${c.from}->${c.to} ${c.reason}`);
  const clear = () => {
    changes.length = 0;
    boosts.length = 0;
  };
  const scene = (id: string) => gs.regulator.status()!.scenes.find((s) => s.scene === id)!;
  return { clock, gs, reg: gs.regulator, script, changes, boosts, elu, tick, moves, clear, scene };
}

type Rig = ReturnType<typeof rig>;

/** tail climbs into its boost gear: 5 s of headroom everywhere engages the boost, then the careful rate climbs. */
function boostTail(x: Rig): void {
  x.script.set('feed', sig(0.3)).set('tail', sig(0.3));
  for (let i = 0; i < 30; i++) x.tick();
  expect(x.reg.gears().tail).toEqual({ c: 2 });
  expect(x.boosts).toEqual([true]);
  x.clear();
}

/** Failed probes of feed's edge (cut, raise, cut, …) until feed's dwell stands at its 60-s maximum; ends just after a cut. */
function backOffFeedDwell(x: Rig): void {
  x.script.set('tail', sig(0.5));
  for (let round = 0; round < 6; round++) {
    x.script.set('feed', sig(1.6));
    x.tick();
    x.script.set('feed', sig(0.3));
    for (let i = 0; i < 70; i++) {
      x.tick();
      if (x.changes.some((c) => c.reason === 'headroom')) break;
    }
    x.clear();
  }
  x.script.set('feed', sig(1.6));
  x.tick(); // a cut: the 60-s dwell starts now
  x.clear();
  x.script.set('feed', sig(0.3));
}

/** Ticks until feed makes a raise of its own (reason headroom); returns the number of ticks. */
function ticksToFirstRaise(x: Rig, max = 100): number {
  for (let t = 1; t <= max; t++) {
    x.tick();
    if (x.changes.some((c) => c.scene === 'feed' && c.reason === 'headroom')) return t;
  }
  return Infinity;
}

describe('faults', () => {
  // ─── the process loop is rebuilt by every reload and every goal-set switch ──────────────────────────────────────

  /*
   * README "Each process sample is taken in once": a tick that reads a sample already acted on "keeps the status its
   * sample gave and proposes nothing". A reload (here one that changes only `version`) builds a new ProcessLoop
   * (regulator.ts:157) whose goal loops have no `lastSample` and no smoothed pressure, so the sample the last tick
   * already cut on is integrated again and cuts again.
   */
  it('a reload that changes nothing of the regulator does not re-integrate the process sample already acted on (no second cut)', () => {
    const x = rig(ELU);
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0); // saturated: one cut
    x.tick();
    const before = x.reg.snapshot().processAllowance;
    x.gs.reload(cfg(ELU, { version: 'v2' }));
    x.clear();
    x.script.proc = x.elu(1.0, false); // the same sample, read again on the next tick
    x.tick();
    expect({ processAllowance: x.reg.snapshot().processAllowance, moves: x.moves() }).toEqual({ processAllowance: before, moves: [] });
    // actual: processAllowance 0.6 (a second cut) and feed.a 2->1 process
  });

  /*
   * README "Dwell with back-off": after a cut, no raise for dwellMs (5 s); the process loop has the same dwell. The new
   * ProcessLoop of a reload starts with a fresh Allowance (lastCutAt −∞, lastMove 0: no hysteresis either), so a cut
   * made 1 s before an unrelated reload is given back at once.
   */
  it('a reload keeps the process loop\'s dwell after its cut: no process raise within dwellMs of the cut', () => {
    const x = rig({ ...ELU, control: { maxUpPerTick: 0.5 } });
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0);
    x.tick(); // t = 1 s: the process cuts tail.c 1->0
    expect(x.reg.gears().tail).toEqual({ c: 0 });
    const cut = x.reg.snapshot().processAllowance;
    x.gs.reload(cfg({ ...ELU, control: { maxUpPerTick: 0.5 } }, { version: 'v2' }));
    const allowances: number[] = [];
    for (let i = 0; i < 3; i++) {
      x.script.proc = x.elu(0.3); // headroom, a new sample each tick
      x.tick(); // t = 2, 3, 4 s: all inside the 5-s dwell
      allowances.push(x.reg.snapshot().processAllowance);
    }
    expect(allowances).toEqual([cut, cut, cut]); // as without the reload (checked in 'held up')
    // actual: [0.96, 1, 1]; tail.c is back at 1 at t = 5 s instead of t = 10 s
  });

  /*
   * README "Schedules and templates": a rule may switch the goal set (`goals`). setGoalSet → ProcessLoop.setGoals
   * (process-loop.ts:44) makes new GoalLoops without the old ones' smoothed pressure or last sample (the scene loops'
   * setGoals keeps the pressure, scene-loop.ts:113). A rule that switches to a set with the very same process goal, in
   * a tick that reads a sample already acted on, cuts again.
   */
  it('a schedule rule that switches the goal set does not make the process loop re-integrate a sample it already acted on', () => {
    const regulator: RegulatorConfig = {
      ...ELU,
      goalSets: { night: { process: { elu: { target: 0.85, band: 0.25 } } } },
      schedules: [{ at: '00:00:02', name: 'night goals', goals: 'night' }],
    };
    const x = rig(regulator);
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0);
    x.tick(); // t = 1 s: cut on sample 1
    const before = x.reg.snapshot().processAllowance;
    x.clear();
    x.script.proc = x.elu(1.0, false); // t = 2 s: the rule fires; sample 1 read again
    x.tick();
    expect(x.reg.snapshot().goalSet).toBe('night');
    expect({ processAllowance: x.reg.snapshot().processAllowance, moves: x.moves() }).toEqual({ processAllowance: before, moves: [] });
    // actual: processAllowance 0.6, feed.a 2->1 process
  });

  /*
   * README "Reads"/"The model": the process cut starts "from the lowest position that keeps the gears of every scene
   * with traffic" (SceneLoop.idle). New SceneLoops start with idle = true (scene-loop.ts:69) and carryFrom does not
   * take it; the process step runs before the scene steps (regulator.ts:396 vs :402), so the first process cut after
   * any reload counts every scene as idle and spends itself on the idle scene's step: the busy scene is not cut.
   */
  it('after a reload the first process cut still takes a gear of a scene that has traffic (idle scenes are not counted busy)', () => {
    const x = rig(ELU);
    x.script.set('feed', sig(0.5)); // tail has no traffic
    x.script.proc = x.elu(0.5);
    x.tick();
    x.tick();
    x.gs.reload(cfg(ELU, { version: 'v2' }));
    x.clear();
    x.script.proc = x.elu(1.0); // saturated
    x.tick();
    expect(x.moves()).toEqual(['feed.a 2->1 process', 'tail.c 1->0 process']); // what the same tick does without the reload
    // actual: ['tail.c 1->0 process'] — the idle scene's step only; the saturated process gets no relief this tick
  });

  /*
   * README "Per-request value (DCAF)": a high score gets up to extraGears more, "never past the current upper
   * limit". A reload builds a ProcessLoop whose `limit` is every point's boost top (process-loop.ts:41) and apply()
   * publishes the scenes' upper limits from it (regulator.ts:502) before any process step recomputes it: until the
   * next tick (periodMs) requests may take gears the process cut.
   */
  it('a reload keeps the process cut as the DCAF bound: a high-value request gets no gear the process limit took', () => {
    const x = rig(ELU);
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0);
    x.tick();
    x.script.proc = x.elu(1.0);
    x.tick(); // two cuts: tail.c 1->0, feed.a 2->1
    x.script.proc = x.elu(0.8); // in band: hold
    x.tick();
    expect(x.reg.gears().feed).toEqual({ a: 1, b: 2 });
    expect(x.reg.scene('feed')!.gearIndexFor('a', 100)).toBe(1);
    x.gs.reload(cfg(ELU, { version: 'v2' }));
    expect(x.reg.scene('feed')!.gearIndexFor('a', 100)).toBe(1); // actual: 2 until the next tick
  });

  // ─── tidal boost ────────────────────────────────────────────────────────────────────────────────────────────────

  /*
   * README "Every option": boost.enabled. A reload that switches the boost off during a boost: updateBoost returns at
   * once when !enabled (scene-loop.ts:260), so the boost never ends: tail keeps its boost gear, `boosted` stays true
   * in every tick report and snapshot, and no `boost` event says it ended.
   */
  it('a reload that switches the boost off ends a boost in progress (boost event engaged:false, the boost gear released)', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    x.gs.reload(cfg({ boost: { holdMs: 5000, enabled: false } }, { version: 'v2' }));
    for (let i = 0; i < 3; i++) x.tick(); // every goal still at headroom
    expect({ boosts: x.boosts, boosted: x.scene('tail').boosted, tail: x.reg.gears().tail, moves: x.moves() }).toEqual({
      boosts: [false], boosted: false, tail: { c: 1 }, moves: ['tail.c 2->1 boost_release'],
    });
    // actual: boosts [], boosted true, tail.c 2 (for good)
  });

  /*
   * A reload that drops a point's boost gears (boost: 1 → 0) while the scene is boosted: the scene has no boost cost
   * any more and updateBoost returns early for ever (scene-loop.ts:260), so `boosted` is stuck true (status,
   * snapshot), and a later reload that brings the boost gear back finds the scene "boosted" and keeps it in the boost
   * gear although no boost hold was ever met (here the scene is in its band, where a boost may not engage).
   */
  it('a reload that removes a boosted scene\'s boost gears ends its boost; a later reload that brings them back does not find it engaged', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    x.gs.reload(cfg({ boost: { holdMs: 5000 } }, { version: 'v2', tailPoints: { c: { gears: [1, 2, 3], cost: [5, 6, 7], value: [5, 6, 7] } } }));
    x.script.set('tail', sig(0.8)); // in band (not tight): no boost may engage, none ends
    x.tick();
    const afterRemoval = { boosts: [...x.boosts], boosted: x.scene('tail').boosted };
    x.gs.reload(cfg({ boost: { holdMs: 5000 } }, { version: 'v3' })); // the boost gear is back
    x.tick();
    expect({ afterRemoval, boosted: x.scene('tail').boosted, tail: x.reg.gears().tail }).toEqual({
      afterRemoval: { boosts: [false], boosted: false }, boosted: false, tail: { c: 1 },
    });
    // actual: afterRemoval { boosts: [], boosted: true }, then boosted true and tail.c 2 (a boost gear nobody earned)
  });

  /*
   * README "Events": change reasons include `boost_release`; `violated` is a goal's cut. A reload that lowers
   * boost.maxCost under what the boost gears cost takes the boost gear down at the next tick through follow(), which
   * labels every walk down `violated` (scene-loop.ts:317), though every goal reads headroom and the event carries no goal.
   */
  it('a reload that lowers boost.maxCost releases the boost gear with reason boost_release, not violated', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    x.gs.reload(cfg({ boost: { holdMs: 5000, maxCost: 1 } }, { version: 'v2' }));
    x.tick();
    expect(x.moves()).toEqual(['tail.c 2->1 boost_release']); // actual: ['tail.c 2->1 violated'] with no goal
  });

  // ─── what a reload moves, it does not say ──────────────────────────────────────────────────────────────────────

  /*
   * README "Events, history, state": `change` is every move, `changes()` the history. reloadConfig applies the old
   * snapshot with { silent: true } (regulator.ts:118), and that ctx is also the one apply() hands to applyLimits
   * (regulator.ts:472, :502): a gear the new config's limits move (here a floor raised above the gear) changes what
   * requests get with no event and no history entry.
   */
  it('gears that a reload\'s new limits move (a floor raised above them) are reported as change events and in changes()', () => {
    const x = rig();
    x.script.set('feed', sig(1.6)).set('tail', sig(0.5));
    for (let i = 0; i < 3; i++) x.tick();
    expect(x.reg.gears().feed).toEqual({ a: 0, b: 1 });
    const history = x.reg.changes().length;
    x.clear();
    x.gs.reload(cfg({}, {
      version: 'v2',
      feedPoints: { a: { ...FEED_POINTS.a, floor: 2 }, b: { ...FEED_POINTS.b, floor: 2 } },
    }));
    expect(x.reg.gears().feed).toEqual({ a: 2, b: 2 }); // the move itself happens
    expect({ events: x.changes.map((c) => `${c.point} ${c.from}->${c.to}`), history: x.reg.changes().length - history }).toEqual({
      events: ['a 0->2', 'b 1->2'], history: 2,
    });
    // actual: no event, no history entry
  });

  // ─── a backed-off dwell ───────────────────────────────────────────────────────────────────────────────────────

  /*
   * README: maxDwellMs is the back-off's ceiling. Allowance.carryFrom (allowance.ts:35) copies the dwell as it was,
   * so a reload that lowers maxDwellMs (60 s → 10 s) during a backed-off wait leaves the scene waiting the old 60 s.
   */
  it('a reload that lowers maxDwellMs caps a backed-off dwell in progress at the new maximum', () => {
    const x = rig({ control: { dwellMs: 5000, maxDwellMs: 60_000 } });
    backOffFeedDwell(x);
    x.gs.reload(cfg({ control: { dwellMs: 5000, maxDwellMs: 10_000 } }, { version: 'v2' }));
    expect(ticksToFirstRaise(x)).toBeLessThanOrEqual(15); // actual: 62 (the old 60-s dwell)
  });

  /*
   * The same carry (allowance.ts:35): a reload that raises dwellMs (5 s → 20 s) keeps the dwell at 5 s, and a cut made
   * after the reload waits 5 s, not the configured 20 s (a fresh start waits 20 s, see 'held up').
   */
  it('a reload that raises dwellMs applies it to the next cut', () => {
    const x = rig({ control: { dwellMs: 5000 } });
    x.script.set('tail', sig(0.5));
    x.gs.reload(cfg({ control: { dwellMs: 20_000 } }, { version: 'v2' }));
    x.script.set('feed', sig(1.6));
    x.tick(); // a cut
    x.clear();
    x.script.set('feed', sig(0.3));
    expect(ticksToFirstRaise(x)).toBeGreaterThanOrEqual(20); // actual: 9
  });

  // ─── schedule rules in force across a reload ─────────────────────────────────────────────────────────────────────

  /*
   * README "Schedules and templates": on start the state-like effects of rules already passed (mode, caps, pins, goal
   * set) are replayed. A reload replays nothing and carries caps by point name (regulator.ts:473–480): a reload that
   * renames a point a rule in force caps (the rule renamed with it) drops the cap at once and does not apply the
   * rule's cap to the renamed point until the rule fires again tomorrow. A start under the same config has the cap.
   */
  it('a reload that renames a point a rule in force caps keeps that point capped (as a start under the new config does)', () => {
    const rules = (pt: string): RegulatorConfig => ({ schedules: [{ at: '00:00:30', name: 'cap', caps: { feed: { [pt]: 0 } } }] });
    const pts = (pt: string) => ({ [pt]: FEED_POINTS.a, b: FEED_POINTS.b });
    const x = rig(rules('a'), { feedPoints: pts('a') });
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    for (let i = 0; i < 40; i++) x.tick();
    expect(x.reg.gears().feed).toEqual({ a: 0, b: 2 });
    x.gs.reload(cfg(rules('depth'), { version: 'v2', feedPoints: pts('depth') }));
    x.tick();
    const fresh = rig(rules('depth'), { version: 'v2', feedPoints: pts('depth'), wallStart: T0 + 41_000 });
    expect(fresh.reg.gears().feed).toEqual({ depth: 0, b: 2 }); // a start at the same time (held up)
    expect(x.reg.gears().feed).toEqual({ depth: 0, b: 2 }); // actual: { depth: 2, b: 2 }, uncapped until tomorrow 00:00:30
  });

  /*
   * The same, for a template a rule applied in `fixed` mode (the peak preset): a reload during the preset that renames
   * a point the template names brings that point up at its default (the normal top) and `fixed` holds it there for the
   * whole preset. A start at the same moment replays the template (README: "then its gears are the state").
   */
  it('a reload during a fixed-mode preset that renames a point the template names keeps that point at the template\'s gear', () => {
    const rules = (pt: string): RegulatorConfig => ({
      templates: { peak: { feed: { [pt]: 0, b: 0 } } },
      schedules: [{ at: '00:00:30', name: 'peak preset', template: 'peak', mode: 'fixed' }],
    });
    const pts = (pt: string) => ({ [pt]: FEED_POINTS.a, b: FEED_POINTS.b });
    const x = rig(rules('a'), { feedPoints: pts('a') });
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    for (let i = 0; i < 40; i++) x.tick();
    expect([x.reg.mode, x.reg.gears().feed]).toEqual(['fixed', { a: 0, b: 0 }]);
    x.gs.reload(cfg(rules('depth'), { version: 'v2', feedPoints: pts('depth') }));
    x.tick();
    const fresh = rig(rules('depth'), { version: 'v2', feedPoints: pts('depth'), wallStart: T0 + 41_000 });
    expect([fresh.reg.mode, fresh.reg.gears().feed]).toEqual(['fixed', { depth: 0, b: 0 }]); // a start (held up)
    expect([x.reg.mode, x.reg.gears().feed]).toEqual(['fixed', { depth: 0, b: 0 }]); // actual: depth 2, at the top for the preset
  });

  /*
   * A reload that removes the rules in force (a preset cancelled at 00:00:40: template + fixed at 00:00:30, a cap on
   * tail, their end at 01:00:00 removed too) leaves the rules' mode and cap in force with nothing that will ever end
   * them: an hour later the regulator is still `fixed` at the preset's gears and tail is capped. The mode is treated
   * as the operator's (regulator.ts:124), the caps are carried (regulator.ts:478). A start under the new config runs
   * in `auto`, uncapped.
   */
  it('a reload that removes the schedule rules in force does not leave their mode and caps in force for good', () => {
    const rules: RegulatorConfig = {
      templates: { peak: { feed: { a: 0, b: 0 } } },
      schedules: [
        { at: '00:00:30', name: 'peak preset', template: 'peak', mode: 'fixed' },
        { at: '00:00:30', name: 'tail cap', caps: { tail: { c: 0 } } },
        { at: '01:00:00', name: 'peak over', mode: 'auto', caps: {} },
      ],
    };
    const x = rig(rules);
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    for (let i = 0; i < 40; i++) x.tick();
    expect([x.reg.mode, x.reg.gears()]).toEqual(['fixed', { feed: { a: 0, b: 0 }, tail: { c: 0 } }]);
    x.gs.reload(cfg({}, { version: 'v2' })); // the preset is cancelled: no templates, no rules
    x.clock.advance(3_600_000);
    for (let i = 0; i < 40; i++) x.tick();
    expect({ mode: x.reg.mode, caps: x.reg.snapshot().scenes.tail!.caps }).toEqual({ mode: 'auto', caps: {} });
    // actual: { mode: 'fixed', caps: { c: 0 } }, and the gears at the preset's, for good
  });

  // ─── fast recovery across a restore ───────────────────────────────────────────────────────────────────────────

  /*
   * README "Fast recovery": "A cut inside the window ends it for that scene: the peak is not over there." The snapshot
   * holds the window's time left (regulator.ts:434) but not which scenes left it (SceneLoop.fastLeft), so after a
   * restore (a restart) a scene that a cut had taken out of the window climbs at the fast rate again.
   */
  it('a restored fast-recovery window leaves out a scene whose cut inside the window had ended it there', () => {
    const x = rig({ control: { dwellMs: 0 } });
    x.script.set('feed', sig(1.6)).set('tail', sig(0.3));
    for (let i = 0; i < 3; i++) x.tick();
    x.reg.setFastRecovery(true, 60_000);
    x.tick(); // feed is cut inside the window: it leaves it
    x.script.set('feed', sig(0.3));
    x.tick();
    const snap = JSON.parse(JSON.stringify(x.reg.snapshot()));
    expect(snap.fastRecoveryLeftMs).toBeGreaterThan(0);
    x.clear();
    x.tick();
    x.tick();
    expect(x.moves().filter((m) => m.includes('fast_recovery'))).toEqual([]); // the original: feed is out of the window

    const y = rig({ control: { dwellMs: 0 } }); // the restart
    y.script.set('feed', sig(0.3)).set('tail', sig(0.3));
    y.reg.restore(snap, { silent: true });
    y.clear();
    y.tick();
    y.tick();
    expect(y.moves().filter((m) => m.includes('fast_recovery'))).toEqual([]); // actual: feed.b 0->1, 1->2 fast_recovery
  });

  // ─── shedding ─────────────────────────────────────────────────────────────────────────────────────────────────

  /*
   * README: shedding.maxShare is the most a scene sheds; a reload that switches shedding off or makes the priority
   * unsheddable stops it "at once". One that lowers maxShare (0.9 → 0.3) leaves requests refused at the old 0.9 until
   * the next tick (up to periodMs; settleShedding, scene-loop.ts:368, does not clamp), and while a goal holds in band
   * (or the process holds) the share holds above the maximum for as long.
   */
  it('a reload that lowers shedding.maxShare bounds the share in force at once', () => {
    const x = rig({ shedding: { maxShare: 0.9 } });
    x.script.set('feed', sig(0.5)).set('tail', sig(3, 1000, 0.3));
    for (let i = 0; i < 15; i++) x.tick();
    expect(x.reg.scene('tail')!.shedShare).toBeCloseTo(0.9, 9);
    x.gs.reload(cfg({ shedding: { maxShare: 0.3 } }, { version: 'v2' }));
    expect(x.reg.scene('tail')!.shedShare).toBeLessThanOrEqual(0.3); // actual: 0.9 until the next tick
  });
});

describe('held up', () => {
  it('without a reload the process loop holds on a sample already taken in and waits its dwell (the contrast of the first faults)', () => {
    const x = rig({ ...ELU, control: { maxUpPerTick: 0.5 } });
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0);
    x.tick();
    const cut = x.reg.snapshot().processAllowance;
    x.script.proc = x.elu(1.0, false);
    x.tick();
    expect(x.reg.snapshot().processAllowance).toBe(cut);
    const allowances: number[] = [];
    for (let i = 0; i < 2; i++) {
      x.script.proc = x.elu(0.3);
      x.tick();
      allowances.push(x.reg.snapshot().processAllowance);
    }
    expect(allowances).toEqual([cut, cut]);
  });

  it('a fresh start with dwellMs 20 s waits 20 s after a cut (the contrast of the dwellMs fault)', () => {
    const x = rig({ control: { dwellMs: 20_000 } });
    x.script.set('tail', sig(0.5)).set('feed', sig(1.6));
    x.tick();
    x.clear();
    x.script.set('feed', sig(0.3));
    expect(ticksToFirstRaise(x)).toBeGreaterThanOrEqual(20);
  });

  it('a reload with unrelated changes during a boost keeps the boost gear, emits nothing, and the boost still ends normally', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    x.gs.reload(cfg({ boost: { holdMs: 5000 } }, { version: 'v2' }));
    x.tick();
    expect({ tail: x.reg.gears().tail, boosted: x.scene('tail').boosted, moves: x.moves(), boosts: x.boosts }).toEqual({ tail: { c: 2 }, boosted: true, moves: [], boosts: [] });
    x.script.set('tail', sig(3, 1000, 0.3));
    x.tick();
    expect(x.boosts).toEqual([false]);
    expect(x.moves()[0]).toBe('tail.c 2->1 boost_release');
  });

  it('a reload keeps the boost back-off and a boost hold under way', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    x.script.set('tail', sig(3, 1400, 0.3)); // at a load grown by 40%: an overload's cut, climbed back a step at a time (a transient's comes back at once, and the boost with it)
    x.tick(); // ends 30 s after it engaged: held one holdMs, back-off stays 1
    x.script.set('tail', sig(0.3));
    for (let i = 0; i < 10; i++) x.tick();
    // a short boost now: engage, fail at once → back-off 2
    const boostsSoFar = x.boosts.filter((b) => b).length;
    for (let i = 0; i < 10 && x.boosts.filter((b) => b).length === boostsSoFar; i++) x.tick();
    x.script.set('tail', sig(3, 1000, 0.3));
    x.tick();
    expect(x.reg.snapshot().scenes.tail!.boostBackoff).toBe(2);
    x.gs.reload(cfg({ boost: { holdMs: 5000 } }, { version: 'v2' }));
    expect(x.reg.snapshot().scenes.tail!.boostBackoff).toBe(2);
  });

  it('a fast-recovery window open at a reload stays open with the same time left, and a scene that left it stays out', () => {
    const x = rig({ control: { dwellMs: 0 } });
    x.script.set('feed', sig(1.6)).set('tail', sig(0.3));
    for (let i = 0; i < 3; i++) x.tick();
    x.reg.setFastRecovery(true, 60_000);
    x.tick();
    x.script.set('feed', sig(0.3));
    x.tick();
    const left = x.reg.snapshot().fastRecoveryLeftMs;
    x.gs.reload(cfg({ control: { dwellMs: 0 } }, { version: 'v2' }));
    expect(x.reg.fastRecovery).toBe(true);
    expect(x.reg.snapshot().fastRecoveryLeftMs).toBe(left);
    x.clear();
    x.tick();
    x.tick();
    expect(x.moves().filter((m) => m.includes('fast_recovery'))).toEqual([]);
  });

  it('shedding in progress carries across a reload that does not touch it: same share, same load-test flag, no shed event', () => {
    const x = rig();
    const sheds: number[] = [];
    x.reg.on('shed', (e) => sheds.push(e.share));
    x.script.set('feed', sig(0.5)).set('tail', sig(3, 1000, 0.3));
    for (let i = 0; i < 5; i++) x.tick();
    const share = x.reg.scene('tail')!.shedShare;
    expect(share).toBeGreaterThan(0);
    sheds.length = 0;
    x.gs.reload(cfg({}, { version: 'v2' }));
    expect([x.reg.scene('tail')!.shedShare, x.reg.scene('tail')!.shedLoadTest, sheds]).toEqual([share, true, []]);
  });

  it('a reload with unrelated changes during a fixed-mode preset keeps the mode, the template gears, and does not fire the rule again', () => {
    const rules: RegulatorConfig = { templates: { peak: { feed: { a: 0, b: 0 } } }, schedules: [{ at: '00:00:30', name: 'peak preset', template: 'peak', mode: 'fixed' }] };
    const x = rig(rules);
    const fired: string[] = [];
    x.reg.on('rule', (r) => fired.push(r.name ?? ''));
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    for (let i = 0; i < 40; i++) x.tick();
    x.gs.reload(cfg(rules, { version: 'v2' }));
    x.clear();
    for (let i = 0; i < 5; i++) x.tick();
    expect([x.reg.mode, x.reg.gears().feed, x.moves(), fired]).toEqual(['fixed', { a: 0, b: 0 }, [], ['peak preset']]);
  });

  it('a reload that removes the goal set in force falls back to the default goals (README), and one that changes its content applies it', () => {
    const set = (target: number): RegulatorConfig => ({ goalSets: { strict: { scenes: { feed: { timeoutRate: { target } } } } } });
    const x = rig(set(0.005));
    x.reg.setGoalSet('strict');
    x.gs.reload(cfg(set(0.002), { version: 'v2' }));
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.tick();
    expect(x.scene('feed').goals.find((g) => g.goal === 'timeoutRate')!.target).toBe(0.002);
    x.gs.reload(cfg({}, { version: 'v3' }));
    x.tick();
    expect(x.reg.snapshot().goalSet).toBeNull();
    expect(x.scene('feed').goals.find((g) => g.goal === 'timeoutRate')!.target).toBe(0.01);
  });

  it('a backed-off scene dwell survives a reload that does not change the control options', () => {
    const x = rig({ control: { dwellMs: 5000, maxDwellMs: 60_000 } });
    backOffFeedDwell(x);
    x.gs.reload(cfg({ control: { dwellMs: 5000, maxDwellMs: 60_000 } }, { version: 'v2' }));
    expect(ticksToFirstRaise(x)).toBeGreaterThanOrEqual(55);
  });

  it('a process cut held in band survives an unrelated reload without moving a gear (given a new sample)', () => {
    const x = rig(ELU);
    x.script.set('feed', sig(0.5)).set('tail', sig(0.5));
    x.script.proc = x.elu(1.0);
    x.tick();
    x.script.proc = x.elu(0.8);
    x.tick();
    const gears = x.reg.gears();
    x.gs.reload(cfg(ELU, { version: 'v2' }));
    x.clear();
    for (let i = 0; i < 5; i++) {
      x.script.proc = x.elu(0.8);
      x.tick();
    }
    expect([x.reg.gears(), x.moves()]).toEqual([gears, []]);
  });

  it('a restored snapshot taken during a boost keeps the boost gear and its back-off', () => {
    const x = rig({ boost: { holdMs: 5000 } });
    boostTail(x);
    const snap = JSON.parse(JSON.stringify(x.reg.snapshot()));
    const y = rig({ boost: { holdMs: 5000 } });
    y.reg.restore(snap, { silent: true });
    y.script.set('feed', sig(0.3)).set('tail', sig(0.3));
    y.tick();
    expect([y.reg.gears().tail, y.scene('tail').boosted]).toEqual([{ c: 2 }, true]);
  });

  it('no reload or restore in these scenarios made a tick throw', () => {
    const x = rig({ ...ELU, boost: { holdMs: 5000 } });
    boostTail(x);
    const snap = x.reg.snapshot();
    x.gs.reload(cfg({ ...ELU, boost: { enabled: false } }, { version: 'v2', tailPoints: { c: { gears: [1], cost: [5] } } }));
    expect(() => x.tick()).not.toThrow();
    x.gs.reload(cfg({ ...ELU, boost: { holdMs: 5000 } }, { version: 'v3' }));
    expect(() => x.reg.restore(JSON.parse(JSON.stringify(snap)))).not.toThrow();
    expect(() => x.tick()).not.toThrow();
  });
});
