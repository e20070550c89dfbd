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
    script.set('feed', HEADROOM).set('tail', VIOLATED);
    for (let i = 0; i < 20; i++) tick();
    expect(reg.status()!.scenes[1]!.shedShare).toBeGreaterThan(0); // computed and reported...
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
