import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Regulator } from '../src/regulate/regulator.js';
import { regConfig, Script, setup, sig } from './regulate-helpers.js';

const VIOLATED = sig(1.5);

describe('listeners are the host\'s code, and cannot break a tick', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a throwing change listener stops neither the tick nor the other scenes, and is reported as an error event', () => {
    const a = setup();
    const b = setup();
    for (const s of [a, b]) s.script.set('feed', VIOLATED).set('tail', VIOLATED);
    const errors: unknown[] = [];
    a.reg.on('change', () => {
      throw new Error('dashboard down');
    });
    a.reg.on('error', (e) => errors.push(e));
    for (let i = 0; i < 3; i++) {
      a.tick();
      b.tick();
    }
    expect(a.reg.gears()).toEqual(b.reg.gears()); // as if the listener were not there
    expect(a.changes.map((c) => `${c.scene}.${c.point}:${c.to}`)).toEqual(b.changes.map((c) => `${c.scene}.${c.point}:${c.to}`));
    expect(a.reg.status()?.scenes.length).toBe(2);
    expect(errors.length).toBe(a.changes.length);
    expect(errors[0]).toMatchObject({ code: 'GEARSHIFT_LISTENER', message: expect.stringMatching(/a "change" listener threw: dashboard down/) });
  });

  it('without an error listener, a throwing listener becomes a process warning, once per event name', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const a = setup();
    a.script.set('feed', VIOLATED);
    a.reg.on('tick', () => {
      throw new Error('metrics sink full');
    });
    a.tick();
    a.tick();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/a "tick" listener threw: metrics sink full/);
    expect(a.reg.status()).toBeDefined();
    // Once per event name, not once in all: another event's faulty listener is reported too.
    a.reg.on('change', () => {
      throw new Error('audit log down');
    });
    a.script.set('feed', sig(3, 1000, 0.3)).set('tail', sig(3, 1000, 0.3)); // far over: gears move, changes are emitted
    const before = a.changes.length;
    for (let i = 0; i < 4; i++) a.tick();
    expect(a.changes.length).toBeGreaterThan(before);
    expect(warn.mock.calls.map((c) => String(c[0]).match(/a "(\w+)" listener/)?.[1])).toEqual(['tick', 'change']);
  });

  it('an error listener that throws itself is not called again for its own error', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const a = setup();
    a.script.set('feed', VIOLATED);
    let calls = 0;
    a.reg.on('change', () => {
      throw new Error('first');
    });
    a.reg.on('error', () => {
      calls++;
      throw new Error('second');
    });
    expect(() => a.tick()).not.toThrow();
    expect(calls).toBe(a.changes.length);
  });
});

describe('the regulator\'s own timer', () => {
  afterEach(() => vi.useRealTimers());

  it('ticks every period, follows a period changed by reload, and reports a tick that threw without stopping', () => {
    vi.useFakeTimers();
    const script = new Script().set('feed', sig(1));
    const reg = new Regulator({ config: regConfig({ periodMs: 1000 }), clock: new ManualClock(0), signals: script });
    let ticks = 0;
    const errors: unknown[] = [];
    reg.on('tick', () => ticks++);
    reg.on('error', (e) => errors.push(e));
    reg.start();
    vi.advanceTimersByTime(3000);
    expect(ticks).toBe(3);
    reg.reload(regConfig({ periodMs: 250 }));
    vi.advanceTimersByTime(1000);
    expect(ticks).toBe(7);
    script.scene = () => {
      throw new Error('source offline');
    };
    vi.advanceTimersByTime(500);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'GEARSHIFT_LISTENER', message: 'a regulator tick threw: source offline' });
    reg.close();
    vi.advanceTimersByTime(5000);
    expect(errors).toHaveLength(2);
  });
});
