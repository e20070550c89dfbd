import { describe, expect, it } from 'vitest';
import { setup, sig } from './regulate-helpers.js';

/** The tail scene (one boost gear) boosts after 5 s of headroom; a violation within 5 s of engaging ends a short boost. */
function boostThatFails(x: ReturnType<typeof setup>): void {
  x.script.set('tail', sig(0.3));
  for (let i = 0; i < 6; i++) x.tick(); // engages at 5 s of headroom
  x.script.set('tail', sig(3, 1000, 0.3));
  x.tick(); // at once: a boost that did not hold one holdMs
  x.script.set('tail', sig(0.3));
}

describe('the boost back-off in snapshots', () => {
  it('a snapshot carries how long the next boost waits, and a restore keeps it', () => {
    const a = setup({ boost: { holdMs: 5000 } });
    const seen: boolean[] = [];
    a.reg.on('boost', (e) => seen.push(e.engaged));
    boostThatFails(a);
    expect(seen).toEqual([true, false]);
    const snap = a.reg.snapshot();
    expect(snap.scenes.tail!.boostBackoff).toBe(2);

    const firstBoostAfter = (restored: object) => {
      const b = setup({ boost: { holdMs: 5000 } });
      b.reg.restore(JSON.parse(JSON.stringify(restored)));
      const at: number[] = [];
      b.reg.on('boost', (e) => e.engaged && at.push(b.clock.now()));
      b.script.set('tail', sig(0.3));
      for (let i = 0; i < 40; i++) b.tick();
      return at[0]!;
    };
    const { boostBackoff: _, ...without } = snap.scenes.tail!;
    // The same state without the back-off (what a snapshot was until now) boosts one hold (5 s) sooner.
    expect(firstBoostAfter(snap) - firstBoostAfter({ ...snap, scenes: { ...snap.scenes, tail: without } })).toBe(5000);
  });

  it('an older snapshot, without it, restores with no back-off; a bad value is refused by its path', () => {
    const a = setup({ boost: { holdMs: 5000 } });
    const snap = JSON.parse(JSON.stringify(a.reg.snapshot()));
    delete snap.scenes.tail.boostBackoff;
    expect(() => a.reg.restore(snap)).not.toThrow();
    expect(a.reg.snapshot().scenes.tail!.boostBackoff).toBe(1);
    for (const bad of [0, 9, Number.NaN, '2']) {
      snap.scenes.tail.boostBackoff = bad;
      expect(() => a.reg.restore(snap)).toThrow(/restore\.scenes\.tail\.boostBackoff: expected a number 1–8/);
    }
  });
});
