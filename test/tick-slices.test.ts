/**
 * The timer's tick runs in slices of scenes, with the event loop served between them (twenty-sixth session): at
 * 10,000 scenes a tick run whole blocked every request for 50–80 ms once a period. A tick called by hand runs whole;
 * a command, a read of the state or a new tick finishes a sliced tick under way first.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { validateConfig } from '../src/config/validate.js';
import type { ListenerError } from '../src/errors.js';
import type { GearChange, TickReport } from '../src/regulate/events.js';
import { Regulator } from '../src/regulate/regulator.js';
import type { SceneSignals, SignalSource } from '../src/regulate/signals.js';
import { sig } from './regulate-helpers.js';

/** `n` scenes of one point (gears 0–3), every one over its RT goal unless `reads` says otherwise. */
function many(n: number, reads: (id: string) => SceneSignals | undefined = () => sig(3)) {
  const scenes: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) scenes[`s${i}`] = { rtBudgetMs: 200, versions: { base: { stage: 'base' } }, points: { p: { gears: [1, 2, 3, 4] } } };
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const signals: SignalSource = { scene: (id) => reads(id), process: () => undefined };
  const config = validateConfig({ scenes, regulator: { goals: {} } });
  const reg = new Regulator({ config, clock, signals });
  const changes: GearChange[] = [];
  const ticks: number[] = [];
  const errors: ListenerError[] = [];
  reg.on('change', (c) => changes.push(c));
  reg.on('tick', (r) => ticks.push(r.scenes.length));
  reg.on('error', (e) => errors.push(e));
  clock.advance(1000);
  return { reg, clock, config, changes, ticks, errors };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("the timer's tick", () => {
  it('runs in slices: requests are served between them, and it ends where a tick run whole ends', async () => {
    const sliced = many(600);
    const whole = many(600);
    sliced.reg.tickInBackground();
    expect(sliced.ticks).toHaveLength(0); // the first slice only read signals
    const seen: number[] = [];
    for (let i = 0; i < 20 && sliced.ticks.length === 0; i++) {
      seen.push(new Set(sliced.changes.map((c) => c.scene)).size);
      await turn();
    }
    expect(sliced.ticks).toEqual([600]);
    expect(seen.some((n) => n > 0 && n < 600)).toBe(true); // some scenes stepped, others not yet, between two turns
    whole.reg.tick();
    expect(sliced.reg.gears()).toEqual(whole.reg.gears());
    expect(sliced.changes.map((c) => `${c.scene}${c.from}>${c.to}`)).toEqual(whole.changes.map((c) => `${c.scene}${c.from}>${c.to}`));
  });

  it('runs whole at 256 scenes or fewer, as before', () => {
    const x = many(256);
    x.reg.tickInBackground();
    expect(x.ticks).toEqual([256]);
  });

  it('is finished by a command before the command acts: the caps hold over the tick that was under way', async () => {
    const x = many(600, () => sig(0.3)); // headroom: nothing to cut
    x.reg.setCaps({ s599: { p: 1 } });
    x.clock.advance(1000);
    x.reg.tickInBackground();
    await turn();
    expect(x.ticks).toHaveLength(0);
    x.reg.setCaps({});
    expect(x.ticks).toEqual([600]); // the tick ended first, under the old cap: s599 stayed at 1
    expect(x.reg.gears().s599).toEqual({ p: 1 });
  });

  it('is finished by a read of the state, by a tick called by hand, and by close()', async () => {
    for (const act of [(r: Regulator) => r.gears(), (r: Regulator) => r.snapshot(), (r: Regulator) => r.close()]) {
      const x = many(600);
      x.reg.tickInBackground();
      act(x.reg);
      expect(x.ticks).toEqual([600]);
    }
    const y = many(600);
    y.reg.tickInBackground();
    y.clock.advance(1000);
    y.reg.tick();
    expect(y.ticks).toEqual([600, 600]);
    await turn(); // the finished run's next slice, already queued, does nothing
    expect(y.ticks).toEqual([600, 600]);
  });

  it('due while the last one is still under way is skipped, and that one goes on in slices', async () => {
    const x = many(600);
    expect(x.reg.tickInBackground()).toBe(true);
    expect(x.reg.tickInBackground()).toBe(false); // finishing the first at once would block for a whole tick
    expect(x.ticks).toHaveLength(0);
    for (let i = 0; i < 20 && x.ticks.length === 0; i++) await turn();
    expect(x.ticks).toEqual([600]);
    for (let i = 0; i < 5; i++) await turn();
    expect(x.ticks).toEqual([600]);
    x.clock.advance(1000);
    expect(x.reg.tickInBackground()).toBe(true);
  });

  it("takes a listener's command inside a slice as part of that slice, without a fault", async () => {
    const x = many(600);
    let done = false;
    x.reg.on('change', () => {
      if (done) return;
      done = true;
      x.reg.setFastRecovery(true); // finishing the tick from inside it would step the generator that is running
    });
    x.reg.tickInBackground();
    for (let i = 0; i < 20 && x.ticks.length === 0; i++) await turn();
    expect(x.ticks).toEqual([600]);
    expect(x.errors).toEqual([]);
    expect(x.reg.fastRecovery).toBe(true);
  });

  it('that throws in a slice ends there, reported as a tick fault, and the next tick runs', async () => {
    let fail = true;
    const x = many(600, (id) => {
      if (id === 's300' && fail) throw new Error('sensing broke');
      return sig(3);
    });
    x.reg.tickInBackground();
    for (let i = 0; i < 20 && x.errors.length === 0; i++) await turn();
    expect(x.errors.map((e) => [e.code, e.source])).toEqual([['GEARSHIFT_LISTENER', 'a regulator tick']]);
    expect(x.ticks).toEqual([]);
    fail = false;
    x.clock.advance(1000);
    x.reg.tickInBackground();
    for (let i = 0; i < 20 && x.ticks.length === 0; i++) await turn();
    expect(x.ticks).toEqual([600]);
  });

  it('that throws while a command finishes it is reported as a tick fault, not thrown at the command', () => {
    let fail = true;
    const x = many(600, (id) => {
      if (id === 's300' && fail) throw new Error('sensing broke');
      return sig(3);
    });
    x.reg.tickInBackground();
    expect(() => x.reg.setCaps({})).not.toThrow();
    expect(x.errors).toHaveLength(1);
    fail = false;
  });
});

describe('a reload by a listener inside a tick', () => {
  it('ends the tick there: no change is recorded on loops that no longer reach a request', () => {
    for (const sliced of [false, true]) {
      const x = many(600);
      let reloaded = false;
      x.reg.on('change', (c) => {
        if (reloaded || c.scene !== 's300') return;
        reloaded = true;
        x.reg.reload(x.config);
      });
      const reports: TickReport[] = [];
      x.reg.on('tick', (r) => reports.push(r));
      if (sliced) x.reg.tickInBackground();
      else x.reg.tick();
      x.reg.gears(); // finishes a sliced tick
      expect(reports).toHaveLength(1);
      expect(reports[0]!.reloaded).toBe(true);
      expect(reports[0]!.scenes.map((s) => s.scene)).toEqual(Array.from({ length: 301 }, (_, i) => `s${i}`));
      // every change recorded is one requests get: the last change of each scene is its gear now
      const last = new Map(x.changes.map((c) => [c.scene, c.to]));
      expect(last.size).toBe(301);
      const gears = x.reg.gears();
      for (const [scene, to] of last) expect(gears[scene]!.p, scene).toBe(to);
      expect(x.reg.status()!.scenes).toHaveLength(600); // the state in force, not the tick's
      x.clock.advance(1000);
      x.reg.tick(); // the scenes the reload left unstepped step now
      expect(new Set(x.changes.map((c) => c.scene)).size).toBe(600);
    }
  });
});
