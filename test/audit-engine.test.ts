// Tests from a third mutation audit (engine, clock, gateway, response watch, Express access, signal, outcome, window
// stats, sample windows, process load, host times, time of day, release diff, scenario checks): each one fails with a
// fault that the other tests let through. Clocks are manual wherever time matters; the HTTP ones order their steps
// by events, not by sleeps.
import { EventEmitter } from 'node:events';
import { type Server, createServer, IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { createGateway } from '../src/adapters/gateway.js';
import { Trust } from '../src/adapters/trust.js';
import { lazySignalOn } from '../src/adapters/signal.js';
import { ManualClock } from '../src/clock.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import { Reason } from '../src/route/decision.js';
import { HistogramLayout } from '../src/sense/layout.js';
import { Outcome } from '../src/sense/outcome.js';
import { ProcessLoad } from '../src/sense/process-load.js';
import { SampleWindow } from '../src/sense/samples.js';
import { Series, SeriesShape } from '../src/sense/series.js';
import { Stats, StatsReader } from '../src/sense/stats.js';
import { feedScene } from '../src/simulate/model.js';
import { checkScenario } from '../src/simulate/scenario.js';
import { adapterConfig, KEY, observedEngine, portOf, waitFor } from './adapters-helpers.js';
import { feedConfig } from './helpers.js';
import { regConfig } from './regulate-helpers.js';
import type { GearshiftConfig } from '../src/config/schema.js';

const engines: Gearshift[] = [];
const servers: Server[] = [];
afterEach(async () => {
  engines.splice(0).forEach((e) => e.close());
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
/** An engine on a manual clock, without process sampling (no timers). */
const engineAt = (config: unknown, clock = new ManualClock(1000)) => {
  const e = createGearshift({ config: { ...(config as GearshiftConfig), sense: { process: { enabled: false } } }, clock });
  engines.push(e);
  return e;
};
const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
};

describe('engine', () => {
  it('takes the clock for a host start that is not a finite number, and counts none of them ahead', () => {
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const d = gs.route('feed', 'u1', null, bad);
      expect(d.startedAt).toBe(clock.now());
      clock.advance(10);
      expect(gs.complete(d)).toBe(true);
    }
    const s = gs.stats('feed')!;
    expect([s.rtCount, s.mean, s.max]).toEqual([3, 10, 10]);
    expect(gs.sensing.aheadOfClock).toBe(0);
  });

  it('records a host RT of 0 as given, without reading the clock', () => {
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    const d = gs.route('feed', 'u1');
    clock.advance(50);
    expect(gs.complete(d, 'success', 0)).toBe(true);
    const s = gs.stats('feed')!;
    expect([s.rtCount, s.max, s.mean]).toEqual([1, 0, 0]);
  });

  it('gives a rejected decision no gears and never sheds it, even while its scene sheds everything', () => {
    const gs = engineAt({ ...regConfig(), deployedHere: ['feed'] });
    const live = gs.regulator.scene('tail')!;
    live.shedShare = 1;
    const d = gs.route('tail', 'user-1'); // configured, not deployed here
    expect([d.ok, d.reason, d.gears]).toEqual([false, Reason.NotDeployed, null]);
    expect(gs.routeCounts().byReason).toMatchObject({ not_deployed: 1, shed: 0 });
  });

  it('puts back the gears it had when a reload fails after the regulator took a config without their point', () => {
    const gs = engineAt(regConfig());
    gs.regulator.setCaps({ feed: { a: 0 } }); // gear a of feed held at 0
    expect(gs.regulator.gears().feed).toMatchObject({ a: 0 });
    const next = regConfig({}, { points: { b: { gears: ['x', 'y', 'z'], cost: [1, 2, 3], value: [1, 1.8, 2.4] } } }); // no point a
    const spy = vi.spyOn(gs.sensing, 'reconfigure').mockImplementationOnce(() => {
      throw new Error('sensing refused');
    });
    expect(() => gs.reload(next)).toThrowError('sensing refused');
    spy.mockRestore();
    expect(gs.regulator.gears().feed).toMatchObject({ a: 0 });
    expect(gs.regulator.snapshot().scenes.feed!.caps).toMatchObject({ a: 0 });
  });
});

describe('manual clock', () => {
  it('takes a step of 0 and a set to the time it already shows', () => {
    const clock = new ManualClock(5);
    expect(() => clock.advance(0)).not.toThrow();
    expect(() => clock.set(5)).not.toThrow();
    expect(clock.now()).toBe(5);
  });
});

describe('gateway', () => {
  it('counts the remaining budget on the engine clock to the millisecond', () => {
    const clock = new ManualClock(1000);
    const gw = createGateway(engineAt(adapterConfig(), clock));
    const { decision } = gw.begin('feed', 'bob');
    expect(gw.remainingMs(decision)).toBe(200);
    clock.advance(30);
    expect(gw.remainingMs(decision)).toBe(170);
    clock.advance(200);
    expect(gw.remainingMs(decision)).toBe(-30);
  });

  it('passes the host RT of done() and complete() to the engine', () => {
    const clock = new ManualClock(1000);
    const gs = engineAt(adapterConfig(), clock);
    const gw = createGateway(gs);
    expect(gw.begin('feed', 'bob').done(200, 250)).toBe(true); // 250 ms by the host's watch: over feed's 200 ms
    expect(gw.complete(gw.route('feed', 'bob'), 200, 300)).toBe(true); // the clock has not moved: 0 ms by it
    const s = gs.stats('feed')!;
    expect([s.count, s.timeout, s.max, s.mean]).toEqual([2, 2, 300, 275]);
  });

  it('lets a signed token name the scene only when none is given', () => {
    const gs = engineAt(adapterConfig());
    const trust = new Trust({ keys: [KEY] });
    const gw = createGateway(gs, { trust });
    const token = trust.sign({ scene: 'feed', version: 'wip' });
    expect(gw.route(undefined, 'u', { signed: token }).version).toBe('wip');
    const d = gw.route(42, 'u', { signed: token }); // a scene the caller gave, unusable: refused, not replaced
    expect([d.ok, d.reason]).toEqual([false, Reason.InvalidScene]);
  });
});

describe('response watch', () => {
  it('Express: the finish of another response on the socket does not record the one parked there', async () => {
    const obs = observedEngine();
    engines.push(obs.engine);
    const mw = gearshift(obs.engine);
    let watchedRan = false;
    let answerWatched: () => void = () => {};
    const app = express();
    app.get('/plain', (_req, res) => {
      // not watched by gearshift; answers once the pipelined /watched has been parked on the same socket
      void waitFor(() => watchedRan).then(() => res.send('plain'));
    });
    app.get('/watched', mw, (_req, res) => {
      watchedRan = true;
      answerWatched = () => res.status(500).send('watched');
    });
    const port = await listen(createServer(app));
    const sock = connect(port, '127.0.0.1');
    try {
      const head = 'x-gearshift-scene: feed\r\nx-gearshift-unit: bob\r\nhost: x\r\n\r\n';
      let got = '';
      sock.on('data', (b) => (got += b.toString('latin1')));
      sock.write(`GET /plain HTTP/1.1\r\n${head}GET /watched HTTP/1.1\r\n${head}`);
      await waitFor(() => got.includes('plain'));
      expect(obs.recorded()).toHaveLength(0); // /plain finished: not ours, and /watched has not answered yet
      answerWatched();
      await waitFor(() => obs.recorded().length === 1);
      expect(obs.recorded().map((c) => c.outcome)).toEqual(['error']);
    } finally {
      sock.destroy();
    }
  });
});

describe('Express access', () => {
  it('leaves the decision on the request when a prototype between it and the base has a gearshift of its own', () => {
    const obs = observedEngine();
    engines.push(obs.engine);
    const mw = gearshift(obs.engine);
    const base = Object.create(IncomingMessage.prototype) as object; // where express.request would sit
    const theirs = Object.create(base, { gearshift: { value: 'theirs', writable: true, configurable: true } }) as object;
    const req = Object.assign(new IncomingMessage(null as never), { headers: { 'x-gearshift-scene': 'feed' } });
    Object.setPrototypeOf(req, theirs);
    const res = { on() {}, setHeader() {}, locals: {} } as unknown as ServerResponse;
    (req as unknown as { res: unknown }).res = res;
    mw(req as never, res as never, () => {});
    expect((req as unknown as { gearshift: { version: string } }).gearshift.version).toBe('main');
    expect(Object.getOwnPropertyDescriptor(base, 'gearshift')).toBeUndefined(); // no accessor under someone else's
  });
});

describe('deadline signal', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const decision = () => engineAt(adapterConfig()).route('feed', 'bob'); // feed's budget: 200 ms

  it('is aborted at once when no budget is left', () => {
    const signal = lazySignalOn(decision(), null, () => false, 0);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('fires when the budget is used up, not before: the timer rounds up', () => {
    vi.useFakeTimers();
    const signal = lazySignalOn(decision(), null, () => false, 10.5);
    vi.advanceTimersByTime(10);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(signal.aborted).toBe(true);
  });

  it('never fires after the exchange has closed', () => {
    vi.useFakeTimers();
    const closer = new EventEmitter();
    const signal = lazySignalOn(decision(), closer, () => false, 200);
    closer.emit('close'); // answered in time
    vi.advanceTimersByTime(1000);
    expect(signal.aborted).toBe(false);
  });

  it('asked for after the client already went away, is aborted at once', () => {
    const closer = Object.assign(new EventEmitter(), { closed: true });
    const signal = lazySignalOn(decision(), closer, () => true, 200);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('AbortError');
  });
});

describe('outcome reports', () => {
  it('say nothing was recorded when the engine throws', () => {
    const gs = engineAt(adapterConfig());
    const gw = createGateway(gs);
    const d = gw.route('feed', 'bob');
    gs.complete = () => {
      throw new Error('broken');
    };
    expect(gw.complete(d, 200)).toBe(false);
  });
});

describe('window stats', () => {
  const shape = new SeriesShape(10, 1000, 10, 1000, new HistogramLayout(3, 60_000));
  const read = (list: Series[], now: number, lastSlots = 0) => {
    for (const s of list) s.advance(now);
    return new StatsReader(shape).read(list, lastSlots, now, new Stats());
  };

  it('divides a merged rate by the time since the oldest series was born', () => {
    const old = new Series(shape, 0);
    const young = new Series(shape, 5000);
    for (let i = 0; i < 80; i++) old.record(Outcome.Success, 1, i * 100);
    const st = read([young, old], 8000);
    expect(st.spanMs).toBe(8000);
    expect(st.rate).toBeCloseTo(10, 9);
  });

  it('never reports a percentile above the exact max (a bucket midpoint is capped)', () => {
    const l = shape.layout;
    const v = l.lowerUnits(l.index(1000)) / 1000; // the lower edge of a wide bucket: its midpoint is above it
    expect(l.mid[l.index(v)]).toBeGreaterThan(v);
    const s = new Series(shape, 0);
    s.record(Outcome.Success, v, 1);
    const st = read([s], 2);
    expect([st.p50, st.p90, st.p99, st.p999, st.max]).toEqual([v, v, v, v, v]);
  });

  it('reads the max of the last slots only, and caps their percentiles by it', () => {
    const s = new Series(shape, 0);
    s.record(Outcome.Success, 150, 100);
    for (let i = 0; i < 10; i++) s.record(Outcome.Success, 5, 2100 + i);
    const last = read([s], 2500, 1);
    expect([last.rtCount, last.max]).toEqual([10, 5]);
    expect(last.p999).toBeLessThanOrEqual(5);
    expect(read([s], 2500).max).toBe(150);
  });

  it('stops at the slot where the samples reach the number asked for', () => {
    const clock = new ManualClock(0);
    const gs = engineAt(feedConfig(), clock);
    for (let sec = 0; sec < 3; sec++) {
      for (let i = 0; i < 10; i++) gs.complete(gs.route('feed', `u${i}`), Outcome.Success, 1);
      clock.advance(1000);
    }
    expect(gs.sensing.recent('feed', 10)!.count).toBe(10); // the empty current slot and the one before it, exactly 10
    expect(gs.sensing.recent('feed', 11)!.count).toBe(20);
  });
});

describe('sample windows', () => {
  it('start over after clear(): the next sample is the only one', () => {
    const w = new SampleWindow(3);
    [1, 2].forEach((v) => w.push(v));
    w.clear();
    expect(w.stats()).toEqual({ last: 0, mean: 0, max: 0, samples: 0, taken: 2 });
    w.push(5);
    expect(w.stats()).toEqual({ last: 5, mean: 5, max: 5, samples: 1, taken: 3 });
    [6, 7, 8].forEach((v) => w.push(v));
    expect(w.stats()).toEqual({ last: 8, mean: 7, max: 8, samples: 3, taken: 6 });
  });
});

describe('process load', () => {
  const hour = 3_600_000; // the timers never fire in a test: the samplers are called by hand
  const load = () =>
    new ProcessLoad({
      enabled: true,
      eventLoopDelay: { sampled: false, periodMs: hour, samples: 3, resolutionMs: 20 },
      eventLoopUtilization: { periodMs: hour, samples: 3 },
      cpu: { periodMs: hour, samples: 3 },
    });

  it('samples CPU per period, not since start', () => {
    let t = 0;
    let usedUs = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => t);
    const cpu = vi.spyOn(process, 'cpuUsage').mockImplementation(() => ({ user: usedUs, system: 0 }));
    const p = load();
    try {
      p.start();
      for (const [at, used] of [[100, 50_000], [200, 100_000], [300, 120_000]] as const) {
        t = at;
        usedUs = used;
        p.sampleCpu();
      }
    } finally {
      p.stop();
      now.mockRestore();
      cpu.mockRestore();
    }
    expect(p.cpu.stats().last).toBeCloseTo(0.2, 9);
    expect(p.cpu.stats().max).toBeCloseTo(0.5, 9);
  });

  it('starts again after a stop', () => {
    const p = load();
    try {
      p.start();
      p.stop();
      expect(p.running).toBe(false);
      p.start();
      expect(p.running).toBe(true);
    } finally {
      p.stop();
    }
  });
});

describe('host times', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const quiet = () => vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
  const slowScene = { scenes: { slow: { rtBudgetMs: 2000, versions: { v: { stage: 'base' } } } } };

  it('takes an honest host start behind the clock once the band is stale, without counting it ahead', () => {
    const clock = new ManualClock(1000); // the band: [0, 2000]
    const gs = engineAt(feedConfig(), clock);
    clock.set(5000);
    const d = gs.route('feed', 'u', null, 4900); // past the stale band's top: the clock is read, and it is in time
    expect([d.startedAt, gs.sensing.aheadOfClock]).toEqual([4900, 0]);
  });

  it('counts ahead only more than the tolerance past the clock', () => {
    quiet();
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    clock.set(1500);
    gs.complete(gs.route('feed', 'u'), 'success', 1000); // ends at 2500: exactly a second ahead of the clock
    expect(gs.sensing.aheadOfClock).toBe(0);
    gs.complete(gs.route('feed', 'u'), 'success', 1000.5);
    expect(gs.sensing.aheadOfClock).toBe(1);
  });

  it('counts short only more than the budget behind the clock', () => {
    quiet();
    const clock = new ManualClock(1000);
    const gs = engineAt(slowScene, clock);
    const exactly = gs.route('slow', 'u'); // at 1000
    const over = gs.route('slow', 'u', null, 1000);
    clock.set(5500);
    gs.complete(exactly, 'success', 2500); // ends at 3500: exactly the 2 s budget before the clock
    expect(gs.sensing.shortOfClock).toBe(0);
    gs.complete(over, 'success', 2499); // 2001 ms before
    expect(gs.sensing.shortOfClock).toBe(1);
  });

  it('never counts short a decision without a budget (an unknown scene)', () => {
    quiet();
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    const d = gs.route('nope', 'u');
    expect(d.rtBudgetMs).toBe(0);
    clock.set(5000);
    gs.complete(d, 'rejected', 1500); // ends 2.5 s before the clock
    expect(gs.sensing.shortOfClock).toBe(0);
  });

  it('checks an end more than a second behind the clock, not two', () => {
    quiet();
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    clock.set(3500);
    const d = gs.route('feed', 'u', null, 1990); // within the stale band: unchecked
    expect(gs.route('feed', 'u', null, 3500).startedAt).toBe(3500); // past the band's top: it moves to [2500, 4500]
    gs.complete(d, 'success', 10); // ends at 2000, 1.5 s behind: checked, and short of feed's 200 ms budget
    expect(gs.sensing.shortOfClock).toBe(1);
  });

  it('places at now an end more than a second behind, and leaves one exactly a second behind where it is', () => {
    quiet();
    const clock = new ManualClock(1000);
    const gs = engineAt(feedConfig(), clock);
    const d = gs.route('feed', 'u'); // at 1000
    clock.set(4000);
    gs.complete(d, 'success', 2000); // ends at 3000, exactly a second behind: stays in the slot of 3 s
    expect([gs.stats('feed', null, 1)!.count, gs.stats('feed', null, 2)!.count]).toEqual([0, 1]);
  });
});

describe('outcomes', () => {
  it('time a client abort: its RT goes into the histogram', () => {
    const gs = engineAt(feedConfig());
    gs.complete(gs.route('feed', 'u'), 'clientAbort', 30);
    const s = gs.stats('feed')!;
    expect([s.clientAbort, s.rtCount, s.max]).toEqual([1, 1, 30]);
  });
});

describe('release diff', () => {
  it('is empty only without changes', () => {
    const gs = engineAt({ ...feedConfig(), version: 'a' });
    const one = gs.reload({ ...feedConfig(), version: 'b', sense: { process: { enabled: false } } });
    expect([one.changes.length, one.empty]).toEqual([1, false]);
    expect(gs.reload({ ...feedConfig(), version: 'b', sense: { process: { enabled: false } } }).empty).toBe(true);
  });
});

describe('scenario checks', () => {
  const mine = {
    name: 'mine', description: '', servers: 1, durationS: 86_400, disturbAt: 10, dropAt: 11, noise: 9.99, seed: 7,
    scenes: [{ id: 'checkout', baseMs: 20, config: feedScene('checkout', { rtBudgetMs: 100 }) }],
    rate: () => 100, slowdown: () => 1,
  };
  it('takes the edges of every range', () => {
    expect(() => checkScenario(mine, 'gearshift')).not.toThrow();
  });
  it.each([
    ['durationS', { durationS: 86_401 }],
    ['dropAt', { dropAt: 10 }],
    ['noise', { noise: 10 }],
    ['seed', { seed: 1.5 }],
    ['scenes\\[0\\]', { scenes: [{ ...mine.scenes[0], baseMs: 0 }] }],
    ['slowdown', { slowdown: 2 }],
  ])('refuses %s past its edge', (field, change) => {
    expect(() => checkScenario({ ...mine, ...change }, 'gearshift')).toThrow(new RegExp(`^runScenario: scenario\\.${field}: expected`));
  });
});
