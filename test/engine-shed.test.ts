import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { Reason } from '../src/route/decision.js';
import { unitHash } from '../src/route/hash.js';
import { regConfig } from './regulate-helpers.js';

describe('a shed decision, end to end through the engine', () => {
  it('is a rejection with a Retry-After hint, counted as shed by sensing and by the route counts', () => {
    const gs = createGearshift({ config: regConfig(), clock: new ManualClock(0) });
    try {
      const live = gs.regulator.scene('tail')!;
      live.shedShare = 1;
      live.retryAfterS = 2;
      const d = gs.route('tail', 'user-1');
      expect([d.ok, d.reason, d.retryAfterSec]).toEqual([false, Reason.Shed, 2]);
      // It still says which unit it was (for logs), while no layer arm is chosen for it.
      expect(d.unitHash).toBe(unitHash('user-1'));
      expect(gs.complete(d)).toBe(true);
      const st = gs.stats('tail')!;
      expect([st.count, st.shed, st.rejected]).toEqual([1, 1, 0]);
      expect(gs.routeCounts().byReason).toMatchObject({ shed: 1, split: 0 });
      // Normal-priority scenes are not shed by a low-priority scene's state.
      expect(gs.route('feed', 'user-1').ok).toBe(true);
    } finally {
      gs.close();
    }
  });

  it('gives a served decision no Retry-After, even while its scene has a hint set', () => {
    const gs = createGearshift({ config: regConfig(), clock: new ManualClock(0) });
    try {
      const live = gs.regulator.scene('tail')!;
      live.shedShare = 0;
      live.retryAfterS = 2; // the hint belongs to shed decisions only: a served one must not advertise it
      const d = gs.route('tail', 'user-1');
      expect([d.ok, d.reason, d.retryAfterSec]).toEqual([true, Reason.Split, 0]);
    } finally {
      gs.close();
    }
  });
});

describe('reload is all or nothing', () => {
  it('keeps the old config in every part when one part fails to take the new one', async () => {
    const { vi } = await import('vitest');
    const gs = createGearshift({ config: regConfig(), clock: new ManualClock(0) });
    try {
      const before = gs.configVersion;
      const gearsBefore = gs.regulator.gears();
      const periodBefore = gs.regulator.periodMs;
      // regConfig() is validated: a frozen copy. The regulator takes its new period before sensing refuses.
      const next = { ...regConfig({ periodMs: periodBefore * 2 }), version: 'next' };
      const spy = vi.spyOn(gs.sensing, 'reconfigure').mockImplementationOnce(() => {
        throw new Error('sensing refused');
      });
      expect(() => gs.reload(next)).toThrowError('sensing refused');
      spy.mockRestore();
      expect(gs.configVersion).toBe(before);
      expect(gs.regulator.gears()).toEqual(gearsBefore);
      expect(gs.regulator.periodMs).toBe(periodBefore);
      const d = gs.route('feed', 'user-1');
      expect(d.ok).toBe(true);
      expect(gs.complete(d)).toBe(true);
      expect(gs.stats('feed')!.count).toBe(1);
      expect(gs.reload(next).to).toBe('next');
    } finally {
      gs.close();
    }
  });
});
