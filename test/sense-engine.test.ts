import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Clock, ManualClock } from '../src/clock.js';
import type { GearshiftConfig } from '../src/config/schema.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import { HostTimeError } from '../src/errors.js';
import type { Decision } from '../src/route/decision.js';
import { Outcome, OUTCOME_NAMES } from '../src/sense/outcome.js';
import type { WindowStats } from '../src/sense/stats.js';
import { feedConfig, units } from './helpers.js';

const engines: Gearshift[] = [];
const engine = (config: GearshiftConfig, clock: Clock = new ManualClock(0)) => {
  const e = createGearshift({ config: { ...config, sense: { process: { enabled: false }, ...config.sense } }, clock });
  engines.push(e);
  return e;
};
afterEach(() => engines.splice(0).forEach((e) => e.close()));

/** A manual clock at 1000 ms that counts its `now()` reads. */
const countingClock = () => {
  const manual = new ManualClock(1000);
  const clock: Clock & { reads: number } = { reads: 0, now: () => (clock.reads++, manual.now()), wallNow: () => manual.wallNow() };
  return { manual, clock };
};
const outcomeSum = (s: WindowStats) => OUTCOME_NAMES.reduce((n, k) => n + s[k], 0);
const trusted = { trusted: true, loadTest: true };

describe('engine sensing', () => {
  it('lands every request in exactly one outcome, under thousands of interleaved requests, aborts and double completes', () => {
    const clock = new ManualClock(0);
    const gs = engine(feedConfig(), clock);
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const open: Decision[] = [];
    const who = units(500);
    let routed = 0;
    let recorded = 0;
    for (let i = 0; i < 20_000; i++) {
      clock.advance(rand() * 0.4); // ~4 s in all: every request stays inside the 10 s window
      if (open.length === 0 || rand() < 0.55) {
        const r = rand();
        const scene = r < 0.05 ? `hostile-${i}` : r < 0.1 ? 'search' : 'feed';
        const d = gs.route(scene, who[i % who.length], r > 0.97 ? trusted : null);
        if (rand() < 0.1) d.degraded = true;
        open.push(d);
        routed++;
      } else {
        const d = open.splice(Math.floor(rand() * open.length), 1)[0]!;
        const outcome = OUTCOME_NAMES[Math.floor(rand() * 6)]!; // any reportable outcome, rejected included via routing
        const host = rand() < 0.3 ? rand() * 400 : undefined;
        if (gs.complete(d, outcome, host)) recorded++;
        expect(gs.complete(d, Outcome.Success)).toBe(false); // the second report is a no-op
      }
    }
    for (const d of open) if (gs.complete(d, Outcome.ClientAbort)) recorded++;
    expect(recorded).toBe(routed);

    const all = gs.stats()!;
    expect(all.count).toBe(routed);
    expect(outcomeSum(all)).toBe(all.count);
    const parts = [gs.stats('feed')!, gs.stats('search')!, gs.sensing.loadTestStats(), gs.sensing.unknownSceneStats()];
    for (const p of parts) expect(outcomeSum(p)).toBe(p.count);
    expect(parts.reduce((n, p) => n + p.count, 0)).toBe(all.count);
    const versions = gs.sensing.versionNames('feed').map((v) => gs.stats('feed', v)!);
    for (const v of versions) expect(outcomeSum(v)).toBe(v.count);
    expect(versions.reduce((n, v) => n + v.count, 0) + gs.stats('feed')!.rejected).toBe(gs.stats('feed')!.count);
  });

  it('keeps load-test traffic out of the scene and in the process load', () => {
    const gs = engine(feedConfig());
    const d = gs.route('feed', 'u1', trusted);
    expect(d.loadTest).toBe(true);
    gs.complete(d, Outcome.Success, 5);
    expect(gs.stats('feed')!.count).toBe(0);
    expect(gs.stats('feed', 'soak')!.count).toBe(0);
    expect(gs.sensing.loadTestStats().count).toBe(1);
    expect(gs.stats()!.count).toBe(1);
  });

  it("keeps a load test's rejection (a scene without an lt version) out of the scene too", () => {
    const gs = engine(feedConfig());
    gs.complete(gs.route('search', 'u1', trusted), Outcome.Success, 1);
    expect(gs.stats('search')!.count).toBe(0);
    expect(gs.sensing.loadTestStats().rejected).toBe(1);
  });

  it('counts rejections per known scene, and every unknown scene in one bounded bucket', () => {
    const gs = engine(feedConfig({ deployedHere: ['feed'] }));
    gs.complete(gs.route('search', 'u'), Outcome.Success, 1); // configured, not deployed here
    for (const id of units(5000, 'attack-')) gs.complete(gs.route(id, 'u'));
    gs.complete(gs.route(42, 'u'));
    expect(gs.stats('search')!.rejected).toBe(1);
    expect(gs.sensing.unknownSceneStats().rejected).toBe(5001);
    expect(gs.sensing.sceneIds().sort()).toEqual(['feed', 'search']);
    expect(gs.stats('attack-1')).toBeUndefined();
  });

  it('times with its clock, or with the host RT and no clock read, and counts RT over budget as timeout', () => {
    const { manual, clock } = countingClock();
    const gs = engine(feedConfig(), clock);
    clock.reads = 0;
    const a = gs.route('feed', 'u1');
    expect([a.startedAt, clock.reads]).toEqual([1000, 1]);
    manual.advance(250);
    gs.complete(a); // 250 ms > 200 ms budget
    expect(clock.reads).toBe(2);
    const b = gs.route('feed', 'u2', null, 1100); // host timestamp: no read
    gs.complete(b, 'success', 30); // host RT: no read
    expect(clock.reads).toBe(2);
    const s = gs.stats('feed')!;
    expect([s.count, s.timeout, s.success, s.max]).toEqual([2, 1, 1, 250]);
  });

  it('reads its clock for a host RT that cannot be one (negative, NaN, infinite)', () => {
    const { manual, clock } = countingClock();
    const gs = engine(feedConfig(), clock);
    for (const rt of [-5, Number.NaN, Infinity, -Infinity]) {
      const d = gs.route('feed', 'u1');
      manual.advance(40);
      gs.complete(d, 'success', rt);
    }
    const s = gs.stats('feed')!;
    expect([s.count, s.rtCount, s.mean, s.max]).toEqual([4, 4, 40, 40]); // each timed by the clock: 40 ms, none at 0
  });

  it('records nothing for what is not one of its decisions, and does not throw', () => {
    const gs = engine(feedConfig());
    const forged = { ...gs.route('feed', 'u1'), completed: false };
    for (const x of [forged, {}, null, undefined, 'feed']) expect(gs.complete(x as unknown as Decision, Outcome.Success, 10)).toBe(false);
    expect(gs.stats()!.count).toBe(0);
  });

  it('refuses options without a usable clock, naming it', () => {
    expect(() => createGearshift(undefined as never)).toThrow(/createGearshift\(options\): expected \{ config, clock\? \}/);
    expect(() => createGearshift({ config: feedConfig(), clok: new ManualClock() } as never)).toThrow(/^createGearshift\(options\)\.clok: unknown option \(expected one of: config, clock\)$/);
    for (const clock of [5, {}, { now: () => 0 }]) {
      expect(() => createGearshift({ config: feedConfig(), clock: clock as never })).toThrow(/clock must have now\(\) .* and wallNow\(\)/);
    }
  });

  it('counts a good answer below the top gear as degraded', () => {
    const gs = engine(feedConfig());
    const d = gs.route('feed', 'u1');
    d.degraded = true;
    gs.complete(d, Outcome.Success, 10);
    expect(gs.stats('feed')!.degraded).toBe(1);
  });

  it('keeps series across reloads, records decisions made before a reload, and retires removed versions after a window', () => {
    const clock = new ManualClock(0);
    const gs = engine(feedConfig(), clock);
    const canary = gs.route('feed', 'bob'); // whitelisted to canary
    expect(canary.version).toBe('canary');
    gs.complete(gs.route('feed', 'bob'), Outcome.Success, 10);

    const next = feedConfig({ upWeight: 0, whitelist: { alice: 'wip' } });
    delete (next.scenes.feed!.versions as Record<string, unknown>).canary;
    next.scenes.feed!.split = [{ version: 'refactor', weight: 10 }, { version: 'main', weight: 90 }];
    next.scenes.added = { versions: { one: { stage: 'base' } } };
    gs.reload(next);
    gs.complete(canary, Outcome.Error, 10); // an in-flight decision of the old tables
    gs.complete(gs.route('added', 'x'), Outcome.Success, 1);

    expect(gs.stats('feed', 'canary')!.count).toBe(2); // survived the reload, still readable
    expect(gs.stats('feed', 'canary')!.error).toBe(1);
    expect(gs.stats('added')!.count).toBe(1);
    expect(gs.stats()!.count).toBe(3); // the process read merges every series, the removed version's included
    expect(gs.stats()!.error).toBe(1);
    clock.advance(11_000);
    gs.reload(next); // a window later, the removed version goes
    expect(gs.stats('feed', 'canary')).toBeUndefined();
    expect(gs.sensing.versionNames('feed')).not.toContain('canary');
  });

  it('counts a late completion whose scene series was dropped since, in the process figures', () => {
    const clock = new ManualClock(0);
    const gs = engine(feedConfig(), clock);
    const inFlight = gs.route('feed', 'u1');
    const other: GearshiftConfig = { scenes: { other: { versions: { one: { stage: 'base' } } } } };
    gs.reload(other); // feed leaves the config; its series stay readable for one window
    clock.advance(11_000);
    gs.reload(other); // a window later they go
    expect(gs.stats('feed')).toBeUndefined();
    gs.complete(inFlight, Outcome.Success); // the straggler finishes, 11 s late: a timeout
    expect(gs.sensing.orphanStats().count).toBe(1);
    expect(gs.sensing.orphanStats().timeout).toBe(1);
    expect(gs.stats()!.count).toBe(1);
    expect(gs.stats()!.timeout).toBe(1);
    expect(gs.stats('feed')).toBeUndefined(); // no series is made again for the dropped scene
  });

  it('bounds the series kept for removed versions', () => {
    const clock = new ManualClock(0);
    const many = (n: number, tag: string): GearshiftConfig => ({
      scenes: Object.fromEntries(Array.from({ length: n }, (_, i) => [`${tag}${i}`, { versions: { v: { stage: 'base' } } }])),
      sense: { retiredSeries: 50 },
    });
    const gs = engine(many(200, 'a'), clock);
    gs.reload(many(200, 'b'));
    // 50 series: a removed scene is two (its own and its version's), so 25 of the 200 removed scenes stay
    expect(gs.sensing.sceneIds().length).toBe(225);
  });

  it('restarts the windows when a reload changes their shape', () => {
    const gs = engine(feedConfig());
    gs.complete(gs.route('feed', 'u1'), Outcome.Success, 10);
    gs.reload({ ...feedConfig(), sense: { process: { enabled: false } } });
    expect(gs.stats('feed')!.count).toBe(1);
    gs.reload({ ...feedConfig(), sense: { rt: { slots: 20 }, process: { enabled: false } } });
    expect(gs.stats('feed')!.count).toBe(0);
  });

  // Each field of the shape on its own: a histogram row read with another layout's buckets would be garbage.
  it.each([
    ['rt.slots', { rt: { slots: 20 } }],
    ['rt.slotMs', { rt: { slotMs: 500 } }],
    ['rt.precisionBits', { rt: { precisionBits: 4 } }],
    ['rt.maxMs', { rt: { maxMs: 10_000 } }],
    ['outcomes.slots', { outcomes: { slots: 20 } }],
    ['outcomes.slotMs', { outcomes: { slotMs: 500 } }],
  ])('restarts the windows when a reload changes %s alone', (_field, sense) => {
    const gs = engine(feedConfig());
    gs.complete(gs.route('feed', 'u1'), Outcome.Success, 10);
    gs.reload({ ...feedConfig(), sense: { ...sense, process: { enabled: false } } });
    expect(gs.stats('feed')!.count).toBe(0);
  });

  it('reads a recent window holding enough samples', () => {
    const clock = new ManualClock(0);
    const gs = engine(feedConfig(), clock);
    for (let sec = 0; sec < 5; sec++) {
      for (let i = 0; i < 10; i++) gs.complete(gs.route('feed', `u${i}`), Outcome.Success, sec + 1);
      clock.advance(1000);
    }
    expect(gs.sensing.recent('feed', 1)!.count).toBe(10); // the current slot is empty, so it reaches back one
    expect(gs.sensing.recent('feed', 15)!.count).toBe(20);
    expect(gs.sensing.recent('feed', 1000)!.count).toBe(50);
    const served = new Set(Array.from({ length: 10 }, (_, i) => gs.route('feed', `u${i}`).version!));
    const perVersion = [...served].map((v) => gs.sensing.recent('feed', 1000, v)!.count);
    expect(perVersion.every((n) => n > 0 && n % 5 === 0)).toBe(true); // each unit sent 5 requests to its one version
    expect(perVersion.reduce((a, b) => a + b, 0)).toBe(50);
    expect(gs.sensing.recent('feed', 1000, 'ghost')).toBeUndefined();
  });

  describe('host times ahead of the clock', () => {
    const warnings: unknown[] = [];
    const original = process.emitWarning;
    beforeEach(() => {
      warnings.length = 0;
      process.emitWarning = ((w: unknown) => void warnings.push(w)) as typeof process.emitWarning;
    });
    afterEach(() => {
      process.emitWarning = original;
    });
    const burst = (gs: Gearshift, n: number, rtMs: number, start?: number) => {
      for (let i = 0; i < n; i++) gs.complete(gs.route('feed', `u${i}`, null, start), Outcome.Success, rtMs);
    };

    it('keeps the window rolling after an RT in nanoseconds, places it at now, counts it and warns once', () => {
      const clock = new ManualClock(1000);
      const gs = engine(feedConfig(), clock);
      burst(gs, 100, 5);
      burst(gs, 1, 5e6); // 5 ms in nanoseconds: an end 83 minutes ahead, which froze the window until then
      for (let sec = 0; sec < 30; sec++) {
        clock.advance(1000);
        burst(gs, 100, 5);
      }
      const s = gs.stats('feed')!;
      expect(s.count).toBe(1000); // the 10 s window: the last ten bursts, not every burst since the bad one
      expect(s.max).toBe(5);
      expect(gs.sensing.aheadOfClock).toBe(1);
      burst(gs, 1, 1e308);
      expect(gs.sensing.aheadOfClock).toBe(2);
      expect(warnings).toHaveLength(1);
      const w = warnings[0] as HostTimeError;
      expect(w).toBeInstanceOf(HostTimeError);
      expect([w.code, w.kind, w.ms]).toEqual(['GEARSHIFT_HOST_TIME', 'ahead', 5e6]); // started at now: it claims to end 5e6 ms ahead
      expect(w.message).toMatch(/^a host-given time \(a start, or a start plus RT\) was 5000000 ms past the engine's clock's now \(replaced by now, .*\): .*ns, µs or s given as ms/);
      expect(gs.stats('feed')!.max).toBe(1e308); // the RT is the host's to give; only its place in time is not
    });

    it('warns once per kind, not once in all: ahead, then short, from one engine', () => {
      const clock = new ManualClock(5000);
      const gs = engine(feedConfig(), clock);
      burst(gs, 3, 5e6); // ahead
      clock.advance(1000);
      burst(gs, 3, 5, clock.now() / 1000); // short
      expect((warnings as HostTimeError[]).map((w) => w.kind)).toEqual(['ahead', 'short']);
    });

    it('places a start from another clock (Date.now() against the monotonic clock) at now', () => {
      const clock = new ManualClock(1000);
      const gs = engine(feedConfig(), clock);
      burst(gs, 10, 5, Date.now());
      clock.advance(20_000); // two windows later, the series must have rolled past those ten
      burst(gs, 1, 5);
      expect(gs.stats('feed')!.count).toBe(1);
      expect(gs.sensing.aheadOfClock).toBe(10);
      expect(warnings).toHaveLength(1);
    });

    it('replaces a start from Date.now() with the clock, so the RTs it then reads are real, not negative', () => {
      const clock = new ManualClock(1000);
      const gs = engine(feedConfig(), clock);
      for (let i = 0; i < 10; i++) {
        const d = gs.route('feed', `u${i}`, null, Date.now()); // epoch ms against a clock that started at 1000
        expect(d.startedAt).toBe(clock.now());
        clock.advance(250);
        gs.complete(d); // the engine reads its clock: 250 ms, over the 200 ms budget
      }
      const s = gs.stats('feed')!;
      expect([s.count, s.timeout, s.max]).toEqual([10, 10, 250]); // before: RTs of minus 56 years, counted as instant
      expect([gs.sensing.aheadOfClock, warnings.length, (warnings[0] as HostTimeError).kind]).toEqual([10, 1, 'ahead']);
      const honest = gs.route('feed', 'u', null, clock.now() + 500); // half a second ahead: within the tolerance
      expect([honest.startedAt, gs.sensing.aheadOfClock]).toEqual([clock.now() + 500, 10]);
    });

    it('keeps the window in the present when every start is behind the clock (seconds given as ms), and counts them short', () => {
      const clock = new ManualClock(5000);
      const gs = engine(feedConfig(), clock);
      for (let sec = 0; sec < 30; sec++) {
        clock.advance(1000);
        burst(gs, 100, 5, clock.now() / 1000); // every end hours behind: the series never rolled, and reads were empty
      }
      expect(gs.stats('feed')!.count).toBe(1000);
      expect(gs.sensing.shortOfClock).toBe(3000);
      expect([warnings.length, (warnings[0] as HostTimeError).kind]).toEqual([1, 'short']);
    });

    it('lets honest host times through with a clock read about once a second, and ends up to a second ahead without a word', () => {
      const { manual, clock } = countingClock();
      const gs = engine(feedConfig(), clock);
      clock.reads = 0;
      for (let i = 0; i < 1000; i++) {
        manual.advance(10); // 10 s of traffic, each request timestamped by the host and reporting its own RT
        gs.complete(gs.route('feed', 'u', null, manual.now()), Outcome.Success, 3);
      }
      expect(clock.reads).toBeLessThanOrEqual(11); // the horizon moved about once a second, and nothing else read the clock
      const before = gs.stats('feed')!.count;
      gs.complete(gs.route('feed', 'u', null, manual.now()), Outcome.Success, 999); // its host counted queueing
      expect([gs.sensing.aheadOfClock, gs.sensing.shortOfClock, warnings.length, gs.stats('feed')!.count]).toEqual([0, 0, 0, before + 1]);
    });

    it('counts a checked host RT that ends behind the clock by more than the budget (seconds given as ms), and warns once', () => {
      const clock = new ManualClock(1000);
      const gs = engine(feedConfig(), clock); // feed's budget: 200 ms
      const slow = (n: number, tookMs: number, reportedMs: number) => {
        for (let i = 0; i < n; i++) {
          const d = gs.route('feed', `u${i}`);
          clock.advance(tookMs);
          gs.complete(d, Outcome.Success, reportedMs);
        }
      };
      slow(100, 150, 0.15); // in time, in seconds: 149.85 ms short, within the budget, so it hides no timeout
      slow(100, 195, 40); // a host that times only its upstream's part, within the budget too
      expect([gs.sensing.shortOfClock, warnings.length]).toEqual([0, 0]);
      slow(100, 300, 0.3); // timeouts, reported in seconds: each looks like an answer in 0.3 ms
      // 30 s of them: the first end past the horizon is checked, about one a second (one in four requests here)
      expect(gs.sensing.shortOfClock).toBeGreaterThanOrEqual(20);
      expect(gs.sensing.shortOfClock).toBeLessThanOrEqual(31);
      expect(gs.stats('feed')!.timeout).toBe(0); // recorded as given: the warning says what is wrong
      expect(warnings).toHaveLength(1);
      const w = warnings[0] as HostTimeError;
      expect([w.code, w.kind]).toEqual(['GEARSHIFT_HOST_TIME', 'short']);
      expect(w.ms).toBeCloseTo(299.7, 6); // the clock saw 300 ms, the host said 0.3
      expect(w.message).toMatch(/^a completed request ended 300 ms before the engine's clock's now by its start and RT, .*: .*ns, µs or s given as ms, a start from Date.now\(\)/);
      expect(gs.sensing.aheadOfClock).toBe(0);
    });
  });
});

describe('sensing made by hand', () => {
  it('takes settings only from resolveSense, which checks the section as the config validator does', async () => {
    const { Sensing } = await import('../src/sense/sensing.js');
    const { resolveSense, SENSE_DEFAULTS } = await import('../src/config/schema-sense.js');
    const { ConfigError, UsageError } = await import('../src/errors.js');
    const clock = new ManualClock(0);
    expect(resolveSense({ rt: { slots: 4 } }).rt).toMatchObject({ slots: 4, slotMs: 1000 });
    expect(() => new Sensing(resolveSense({ rt: { slots: 4 } }), clock)).not.toThrow();
    expect(() => new Sensing(SENSE_DEFAULTS, clock)).not.toThrow();
    expect(() => resolveSense({ rt: { slots: 0 } })).toThrow(ConfigError);
    expect(() => resolveSense({ rt: { slots: 0 } })).toThrow(/sense\.rt\.slots/);
    expect(() => resolveSense({ rt: { slot: 4 } } as never)).toThrow(/sense\.rt\.slot/);
    expect(() => resolveSense(undefined, 'yes' as never)).toThrow(UsageError);
    const throwing = { rt: { get slots(): number { throw new Error('no'); } } };
    expect(() => resolveSense(throwing)).toThrow(/^  sense\.rt\.slots: could not be read: no$/m); // at the field, as the validator does
    // a hand-made object or nothing at all: refused at once, not inside a timer or a request later
    expect(() => new Sensing(undefined as never, clock)).toThrow(/^new Sensing\(options, clock\): options must come from resolveSense\(sense\)/);
    expect(() => new Sensing({ ...SENSE_DEFAULTS }, clock)).toThrow(UsageError);
    expect(Object.isFrozen(SENSE_DEFAULTS.rt) && Object.isFrozen(resolveSense(undefined).process.cpu)).toBe(true); // trusted, so unchangeable
    expect(() => new Sensing(SENSE_DEFAULTS, {} as never)).toThrow(/clock must have now\(\)/);
    const s = new Sensing(SENSE_DEFAULTS, clock);
    expect(() => s.reconfigure({ ...SENSE_DEFAULTS })).toThrow(/^sensing\.reconfigure\(options\): options must come from resolveSense/);
  });
});
