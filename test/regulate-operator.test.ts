/**
 * What an operator's walkthrough of the regulator found (sixteenth session): shedding that outlived its reasons, a
 * template that overrode pins and caps until the next tick, and process shedding switched off by a pin. Each test
 * fails without its fix. Deterministic: a ManualClock and scripted signals.
 */
import { describe, expect, it } from 'vitest';
import { regConfig, setup, sig } from './regulate-helpers.js';

const VIOLATED = sig(3);
const HEADROOM = sig(0.3);

/** A regulator whose low-priority scene `tail` is shedding a share of its traffic. */
function shedding(regulator = {}) {
  const h = setup(regulator);
  h.script.set('feed', HEADROOM).set('tail', VIOLATED);
  for (let i = 0; i < 20; i++) h.tick();
  expect(h.reg.scene('tail')!.shedShare).toBeGreaterThan(0);
  return h;
}

describe('shedding stops with its reasons', () => {
  it('stops in fixed and frozen modes, which ignore the goals, and says so', () => {
    for (const mode of ['fixed', 'frozen'] as const) {
      const { reg, tick } = shedding();
      const events: string[] = [];
      reg.on('shed', (e) => events.push(`${e.scene}:${e.loadTest}:${e.share}`));
      reg.setMode(mode, 'incident');
      tick();
      expect([reg.scene('tail')!.shedShare, reg.scene('tail')!.shedding, reg.status()!.scenes[1]!.shedShare]).toEqual([0, false, 0]);
      expect(events).toEqual(['tail:false:0']);
    }
  });

  it('drains the share to exactly 0, leaving no float dust that keeps `shedding` on for a tick', () => {
    const { reg, tick, script } = shedding({ shedding: { step: 0.2 } }); // 0.9 drained by 0.1s leaves 1.4e-16
    script.set('tail', HEADROOM);
    const shares: number[] = [];
    for (let i = 0; i < 40; i++) shares.push(tick().scenes[1]!.shedShare);
    expect(shares.filter((x) => x > 0 && x < 1e-6)).toEqual([]);
    expect(shares.at(-1)).toBe(0);
    expect(reg.scene('tail')!.shedding).toBe(false);
  });

  it('stops at once when a reload switches shedding off, though a goal is still violated', () => {
    const { reg, tick } = shedding();
    reg.reload(regConfig({ shedding: { enabled: false } }));
    tick();
    expect([reg.scene('tail')!.shedShare, reg.scene('tail')!.shedding]).toEqual([0, false]);
  });

  it('stops shedding a scene whose priority a reload made one that may not be shed', () => {
    const { reg, tick } = shedding();
    reg.reload(regConfig({ shedding: { priorities: [] } }));
    tick();
    expect(reg.scene('tail')!.shedShare).toBe(0);
  });

  it('never lets what shadow mode computed reach requests: not on leaving shadow, not by restoring its snapshot', () => {
    const { reg, tick, script } = setup({ mode: 'shadow' });
    const shedEvents: { applied: boolean }[] = [];
    reg.on('shed', (e) => shedEvents.push(e));
    script.set('feed', HEADROOM).set('tail', VIOLATED);
    for (let i = 0; i < 20; i++) tick();
    expect(reg.status()!.scenes[1]!.shedShare).toBeGreaterThan(0); // computed and reported...
    expect(shedEvents.length).toBeGreaterThan(0);
    expect(shedEvents.every((e) => !e.applied)).toBe(true); // ...as not applied, as change events say
    expect(reg.scene('tail')!.shedShare).toBe(0); // ...not applied
    const snap = JSON.parse(JSON.stringify(reg.snapshot()));

    reg.setMode('auto');
    tick(); // resumes from the live gears, at the top: the first step cuts gears, it does not shed
    expect(reg.scene('tail')!.shedShare).toBe(0);

    const restarted = setup({ mode: 'shadow' });
    restarted.reg.restore(snap);
    expect([restarted.reg.mode, restarted.reg.scene('tail')!.shedShare, restarted.reg.scene('tail')!.shedding]).toEqual(['shadow', 0, false]);
  });

  it('sheds for the process though a point is pinned above its floor: a pin is as low as that point goes', () => {
    const { reg, tick, script } = setup({ goals: { elu: { target: 0.8 } } });
    script.set('feed', HEADROOM).set('tail', HEADROOM);
    script.proc = { elu: 1.5 };
    reg.setFixed({ feed: { a: 1 } });
    for (let i = 0; i < 30; i++) tick();
    expect(reg.gears().feed!.a).toBe(1);
    expect(reg.scene('tail')!.shedShare).toBeGreaterThan(0);
  });
});

describe('a template within the limits in force', () => {
  it('leaves a pinned point at its pin and a capped one under its cap, at once, with no move back at the next tick', () => {
    const { reg, tick, changes } = setup({ mode: 'fixed', templates: { low: { feed: { a: 0, b: 0 } }, full: { feed: { a: 2, b: 2 } } } });
    reg.setFixed({ feed: { b: 1 } });
    reg.setCaps({ feed: { a: 1 } });
    reg.applyTemplate('low');
    expect(reg.gears().feed).toEqual({ a: 0, b: 1 });
    reg.applyTemplate('full');
    expect(reg.gears().feed).toEqual({ a: 1, b: 1 });
    changes.length = 0;
    tick();
    expect(changes).toEqual([]);
  });

  it('gives a boost gear only while boosted: a template naming one gets the normal top', () => {
    const { reg, tick, changes } = setup({ mode: 'fixed', templates: { rich: { tail: { c: 2 } } } });
    reg.applyTemplate('rich'); // c's gear 2 is a boost gear
    expect(reg.gears().tail).toEqual({ c: 1 });
    changes.length = 0;
    tick();
    expect(changes).toEqual([]);
  });
});

describe('gears a limit took come back to a scene too quiet for its goals to read', () => {
  // Found by the walkthrough: a scene under its goals' minSamples (the timeout goal's default: 100 in 10 s) reads
  // no_data. The allowance a cap or the process ladder took stayed taken, since only a goal's headroom raises it.
  it('after the process ladder cut it and the process recovered', () => {
    const { reg, tick, script } = setup({ goals: { elu: { target: 0.8 } } });
    script.set('feed', HEADROOM).set('tail', undefined); // tail: no data
    script.proc = { elu: 1.5 };
    for (let i = 0; i < 15; i++) tick();
    expect(reg.gears().tail!.c).toBe(0);
    script.proc = { elu: 0.2 };
    for (let i = 0; i < 120; i++) tick();
    expect(reg.gears().tail).toEqual({ c: 1 }); // its normal top, as before the cut
  });

  it('after a cap is lifted, at the careful rate', () => {
    const { reg, tick, script, changes } = setup();
    script.set('feed', HEADROOM).set('tail', undefined);
    reg.setCaps({ tail: { c: 0 } });
    tick();
    reg.setCaps({});
    changes.length = 0;
    for (let i = 0; i < 60; i++) tick();
    expect(reg.gears().tail).toEqual({ c: 1 });
    expect(changes.map((c) => `${c.scene}.${c.point}${c.from}>${c.to}:${c.reason}`)).toEqual(['tail.c0>1:headroom']);
  });

  it('not while the process is at its limit, and not past where it was', () => {
    const { reg, tick, script } = setup({ goals: { elu: { target: 0.8 } } });
    script.set('feed', HEADROOM).set('tail', undefined);
    script.proc = { elu: 1.5 };
    for (let i = 0; i < 15; i++) tick();
    script.proc = { elu: 0.8 }; // at its target: holds every raise
    for (let i = 0; i < 120; i++) tick();
    expect(reg.gears().tail!.c).toBe(0);
    script.proc = { elu: 0.2 };
    for (let i = 0; i < 600; i++) tick();
    expect(reg.gears().tail).toEqual({ c: 1 }); // never into the boost gear: that needs every goal's headroom
  });

  it('leaves a scene whose goals read data to its goals', () => {
    const { reg, tick, script } = setup();
    script.set('feed', HEADROOM).set('tail', sig(0.9)); // in band: no raise
    reg.setCaps({ tail: { c: 0 } });
    tick();
    reg.setCaps({});
    for (let i = 0; i < 60; i++) tick();
    expect(reg.gears().tail).toEqual({ c: 0 });
  });
});

describe('restore after a restart', () => {
  // Shanghai is UTC+8: 19:59 local is 11:59Z. The README's peak schedule: a preset at 19:59, auto again at 20:01.
  const peak = {
    timeZone: 'Asia/Shanghai',
    templates: { peak: { feed: { a: 0, b: 0 }, tail: { c: 0 } } },
    schedules: [{ at: '19:59:00', name: 'peak preset', template: 'peak', mode: 'fixed' as const }, { at: '20:01:00', name: 'auto', mode: 'auto' as const }],
  };

  it('keeps the rules that fell due while the process was down: an older snapshot does not undo them', () => {
    const before = setup(peak, { wallStart: Date.UTC(2026, 2, 1, 11, 58) });
    for (let i = 0; i < 120; i++) before.tick(); // 20:00: fixed, at the preset
    expect(before.reg.mode).toBe('fixed');
    const snap = JSON.parse(JSON.stringify(before.reg.snapshot()));

    const after = setup(peak, { wallStart: Date.UTC(2026, 2, 1, 12, 5) }); // back at 20:05
    const modes: string[] = [];
    after.reg.on('mode', (m) => modes.push(`${m.from}>${m.to}:${m.reason}`));
    after.reg.restore(snap);
    expect(after.reg.mode).toBe('auto'); // the 20:01 rule, replayed over the 20:00 snapshot
    expect(modes).toEqual(['auto>fixed:restore', 'fixed>auto:schedule auto']);
  });

  it('says when a restore changes the mode, unless silent', () => {
    const a = setup();
    a.reg.setMode('frozen');
    const snap = JSON.parse(JSON.stringify(a.reg.snapshot()));
    for (const silent of [false, true]) {
      const b = setup();
      const modes: string[] = [];
      b.reg.on('mode', (m) => modes.push(`${m.from}>${m.to}:${m.reason}`));
      b.reg.restore(snap, { silent });
      expect([b.reg.mode, modes]).toEqual(['frozen', silent ? [] : ['auto>frozen:restore']]);
    }
  });
});

describe('reload', () => {
  it('moves no gear at the next tick when it renames a point and every goal shows headroom', () => {
    const { reg, tick, script, changes } = setup();
    script.set('feed', sig(1.5)).set('tail', HEADROOM);
    for (let i = 0; i < 6; i++) tick(); // feed cut
    script.set('feed', sig(0.4));
    for (let i = 0; i < 3; i++) tick();
    const points = {
      a: { gears: [10, 20, 30], cost: [1, 2, 3], value: [1, 1.5, 1.6] },
      bee: { gears: ['x', 'y', 'z'], cost: [1, 2, 3], value: [1, 1.8, 2.4] }, // b, renamed
    };
    reg.reload(regConfig({}, { points }));
    changes.length = 0;
    const report = tick();
    expect(report.scenes[0]!.goals[0]!.status).toBe('headroom');
    expect(changes.filter((c) => c.reason === 'violated')).toEqual([]);
  });
});

describe('DCAF (gearFor) agrees with the regulated gear', () => {
  it('gives a score-1 request the regulated gear, and one worth more never less, on a point whose values are not concave', () => {
    // Step benefits 0.1 then 0.9: the ladder pools them, so λ is their pooled benefit, not either step's own.
    const points = { r: { gears: [200, 400, 800], cost: [1, 2, 3], value: [1, 1.1, 2.0] }, b: { gears: ['x', 'y', 'z'] } };
    const { reg } = setup({ mode: 'fixed', templates: { mid: { feed: { r: 1, b: 0 } } } }, { feedExtra: { points } });
    reg.applyTemplate('mid');
    const live = reg.scene('feed')!;
    expect(live.gearIndex('r')).toBe(1);
    expect(live.gearIndexFor('r', 1)).toBe(1);
    for (const score of [1.01, 2, 10]) expect(live.gearIndexFor('r', score)).toBeGreaterThanOrEqual(1);
    for (const score of [0, 0.5, 0.99]) expect(live.gearIndexFor('r', score)).toBeLessThanOrEqual(1);
  });

  it('keeps to a cap or pin below the floor, whatever the score', () => {
    const points = { r: { gears: [200, 400, 800], floor: 1 }, b: { gears: ['x', 'y', 'z'] } };
    for (const limit of ['cap', 'pin'] as const) {
      const { reg } = setup({}, { feedExtra: { points } });
      if (limit === 'cap') reg.setCaps({ feed: { r: 0 } });
      else reg.setFixed({ feed: { r: 0 } });
      const live = reg.scene('feed')!;
      expect(live.gearIndex('r')).toBe(0);
      for (const score of [0.5, 1, 5, Number.NaN]) expect(live.gearIndexFor('r', score), `${limit}, score ${score}`).toBe(0);
    }
  });
});

describe('reload applies what the release diff lists', () => {
  it('switches to the config mode when the config changes it, and leaves an operator mode when it does not', () => {
    const { reg } = setup();
    const modes: string[] = [];
    reg.on('mode', (m) => modes.push(`${m.from}>${m.to}:${m.reason}`));
    reg.setMode('fixed', 'incident');
    reg.reload(regConfig({ periodMs: 500 })); // mode unchanged in the config: the operator's stays
    expect(reg.mode).toBe('fixed');
    reg.reload(regConfig({ mode: 'frozen' }));
    expect(reg.mode).toBe('frozen');
    expect(modes).toEqual(['auto>fixed:incident', 'fixed>frozen:reload']);
  });

  it('resizes the change history, keeping its newest entries', () => {
    const { reg, tick, script } = setup({ historySize: 5 });
    script.set('feed', sig(3)).set('tail', sig(3));
    for (let i = 0; i < 10; i++) tick();
    const newest = reg.changes().slice(-2);
    reg.reload(regConfig({ historySize: 2 }));
    expect(reg.changes()).toEqual(newest);
    reg.reload(regConfig({ historySize: 50 }));
    expect(reg.changes()).toEqual(newest);
  });
});

describe('restore publishes the limits it restores', () => {
  it('bounds a high-value request by a restored cap at once, not from the next tick', () => {
    const a = setup();
    a.reg.setCaps({ feed: { a: 1 } });
    const snap = JSON.parse(JSON.stringify(a.reg.snapshot()));
    const b = setup();
    b.reg.restore(snap);
    expect(b.reg.scene('feed')!.gearIndex('a')).toBe(1);
    expect(b.reg.scene('feed')!.gearIndexFor('a', 10)).toBe(1);
  });
});
