import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RequestStart } from '../src/adapters/request-start.js';
import { Trust } from '../src/adapters/trust.js';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { prometheusText, prometheusTextAsync } from '../src/metrics.js';
import { KEY } from './adapters-helpers.js';

function engineWithTraffic() {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const engine = createGearshift({
    clock,
    config: {
      version: 'cfg "1"\\2',
      scenes: {
        feed: {
          rtBudgetMs: 100,
          versions: { main: { stage: 'base' }, canary: { stage: 'up' }, soak: { stage: 'lt' } },
          split: [{ version: 'canary', weight: 50 }, { version: 'main', weight: 50 }],
          points: { depth: { gears: [1, 2, 3] }, model: { gears: ['s', 'l'] } },
        },
      },
    },
  });
  for (let i = 0; i < 10; i++) {
    const d = engine.route('feed', `user-${i}`);
    clock.advance(10);
    engine.complete(d, i === 0 ? 'timeout' : 'success', i === 0 ? 150 : 20 + i);
  }
  engine.complete(engine.route('feed', 'tester', { loadTest: true, trusted: true }), 'success', 5);
  engine.route('nope', 'x');
  engine.regulator.tick();
  return engine;
}

/** name{labels} value → [name, labels, value] for every sample line. */
const samples = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(l);
      expect(m, l).not.toBeNull();
      return { name: m![1]!, labels: m![2] ?? '', value: Number(m![3]) };
    });
const value = (text: string, name: string, labels = '') => samples(text).find((s) => s.name === name && s.labels === labels)?.value;

describe('prometheusText', () => {
  it('writes the text format: every family with HELP and TYPE before its samples, counters named _total', () => {
    const engine = engineWithTraffic();
    const text = prometheusText(engine);
    engine.close();
    expect(text.endsWith('\n')).toBe(true);
    const declared = new Map<string, string>();
    for (const line of text.split('\n').filter(Boolean)) {
      const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
      if (type) declared.set(type[1]!, type[2]!);
      else if (!line.startsWith('# HELP ')) {
        const name = line.split(/[{ ]/)[0]!;
        expect(declared.has(name), `${name} sampled before its TYPE`).toBe(true);
        expect(name.startsWith('gearshift_')).toBe(true);
      }
    }
    for (const [name, type] of declared) expect(name.endsWith('_total'), name).toBe(type === 'counter');
    // Each family's HELP and TYPE appear once.
    expect(text.match(/^# TYPE gearshift_window_requests /gm)).toHaveLength(1);
  });

  it('reports routing, each version window, the load tests, the regulator and trust', () => {
    const engine = engineWithTraffic();
    const a = new Trust({ keys: [KEY] });
    const b = new Trust({ keys: [KEY] });
    a.verify('junk');
    b.verify('junk');
    b.verify(b.sign({ scene: 'feed' }));
    const text = prometheusText(engine, { trust: [a, b] });
    engine.close();
    expect(value(text, 'gearshift_config_info', '{config_version="cfg \\"1\\"\\\\2"}')).toBe(1);
    expect(value(text, 'gearshift_decisions_total', '{reason="split"}')).toBe(10);
    expect(value(text, 'gearshift_decisions_total', '{reason="unknown_scene"}')).toBe(1);
    expect(value(text, 'gearshift_decisions_total', '{reason="load_test"}')).toBe(1);
    const served = ['main', 'canary'].map((v) => value(text, 'gearshift_window_requests', `{scene="feed",version="${v}",outcome="success"}`)!);
    const timeouts = ['main', 'canary'].map((v) => value(text, 'gearshift_window_requests', `{scene="feed",version="${v}",outcome="timeout"}`)!);
    expect(served[0]! + served[1]!).toBe(9);
    expect(timeouts[0]! + timeouts[1]!).toBe(1);
    expect(value(text, 'gearshift_window_requests', '{scene="feed",version="soak",outcome="success"}')).toBe(0); // load tests stay out
    expect(value(text, 'gearshift_load_test_window_requests', '{outcome="success"}')).toBe(1);
    expect(value(text, 'gearshift_window_rt_max_seconds', '{scene="feed",version="main"}')! + value(text, 'gearshift_window_rt_max_seconds', '{scene="feed",version="canary"}')!).toBeGreaterThan(0.15);
    expect(value(text, 'gearshift_gear', '{scene="feed",point="depth"}')).toBe(2);
    expect(value(text, 'gearshift_gear', '{scene="feed",point="model"}')).toBe(1);
    expect(value(text, 'gearshift_regulator_mode', '{mode="auto"}')).toBe(1);
    expect(value(text, 'gearshift_shed_share', '{scene="feed"}')).toBe(0);
    expect(value(text, 'gearshift_trust_refused_total', '{reason="malformed"}')).toBe(2); // summed over both
    expect(value(text, 'gearshift_trust_total', '{kind="signed"}')).toBe(1);
  });

  it('takes a prefix, and refuses options it cannot use by name', () => {
    const engine = engineWithTraffic();
    try {
      expect(prometheusText(engine, { prefix: 'svc_gs_' })).toMatch(/^svc_gs_decisions_total\{reason="split"\} 10$/m);
      for (const [options, message] of [
        [{ prefx: 'x_' }, /^prometheusText: prefx: unknown option/],
        [{ prefix: '9bad' }, /^prometheusText: prefix: expected a metric name prefix/],
        [{ trust: { keys: [KEY] } }, /^prometheusText: trust: expected a Trust/],
        [{ trust: [new Trust({ keys: [KEY] }), 5] }, /^prometheusText: trust\[1\]: expected a Trust/],
        [{ requestStart: { late: 'reject' } }, /^prometheusText: requestStart: expected a RequestStart/],
        [{ scenes: 'feed' }, /^prometheusText: scenes: expected an array of scene ids/],
        [{ scenes: ['feed', null] }, /^prometheusText: scenes: expected an array of scene ids/],
        ['x', /^prometheusText\(engine, options\): options must be an object/],
      ] as const) {
        expect(() => prometheusText(engine, options as never)).toThrow(message);
        expect(() => prometheusText(engine, options as never)).toThrow(UsageError);
      }
    } finally {
      engine.close();
    }
  });

  it('writes the series of the scenes it is given alone, in the config’s order, and the process’s whole', () => {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const scenes = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { versions: { v: { stage: 'base' as const } }, points: { depth: { gears: [1, 2] } } }]));
    const engine = createGearshift({ clock, config: { deployedHere: ['a', 'b'], scenes } });
    try {
      for (const id of ['a', 'b', 'c']) engine.complete(engine.route(id, 'u'), 'success', 10);
      engine.regulator.tick();
      const sceneOf = (text: string) => [...new Set(samples(text).map((x) => /scene="([^"]*)"/.exec(x.labels)?.[1]).filter(Boolean))];
      expect(sceneOf(prometheusText(engine))).toEqual(['a', 'b', 'c']);
      const some = prometheusText(engine, { scenes: ['c', 'a', 'nope', '__proto__', 'a'] });
      expect(sceneOf(some)).toEqual(['a', 'c']);
      // a's series are all there (its window and its gears); c, not deployed here, has its refusals alone, as without the option
      const of = (text: string, scene: string) => samples(text).filter((x) => x.labels.includes(`scene="${scene}"`));
      expect(of(some, 'a')).toEqual(of(prometheusText(engine), 'a'));
      expect(of(some, 'c').map((x) => x.name)).toEqual(['gearshift_scene_window_rejected']);
      // what is not a scene's is written whatever scenes are chosen
      const rest = (text: string) => samples(text).filter((x) => !x.labels.includes('scene='));
      expect(rest(prometheusText(engine, { scenes: [] }))).toEqual(rest(prometheusText(engine)));
      expect(sceneOf(prometheusText(engine, { scenes: [] }))).toEqual([]);
    } finally {
      engine.close();
    }
  });

  it('says when the gears can do no more, for a scene and for the process, and when the regulator last ticked', () => {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    // the default process goal, ELU at most 0.85, is there too
    const engine = createGearshift({ clock, config: { scenes: { feed: { rtBudgetMs: 100, versions: { v: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] } } } } } });
    try {
      const second = (slow: boolean) => {
        for (let i = 0; i < 100; i++) engine.complete(engine.route('feed', `u${i}`), 'success', slow ? 150 : 20);
        clock.advance(1000);
        engine.regulator.tick();
      };
      expect(value(prometheusText(engine), 'gearshift_exhausted', '{scene="feed"}')).toBeUndefined(); // nothing before a tick
      second(true);
      let text = prometheusText(engine);
      expect([value(text, 'gearshift_at_floor', '{scene="feed"}'), value(text, 'gearshift_exhausted', '{scene="feed"}')]).toEqual([0, 0]);
      expect(value(text, 'gearshift_regulator_last_tick_timestamp_seconds')).toBe(Date.UTC(2026, 0, 1, 0, 0, 1) / 1000);
      for (let t = 0; t < 5; t++) second(true);
      text = prometheusText(engine);
      expect([value(text, 'gearshift_at_floor', '{scene="feed"}'), value(text, 'gearshift_exhausted', '{scene="feed"}')]).toEqual([1, 1]);
      // the process's ELU has not been sampled (no data): not violated, so not exhausted
      expect(value(text, 'gearshift_process_exhausted')).toBe(0);
      expect(value(text, 'gearshift_regulator_last_tick_timestamp_seconds')).toBe(Date.UTC(2026, 0, 1, 0, 0, 6) / 1000);
      // The process's ELU over its goal, every scene at its floor: the process is out of gears too.
      let taken = 0;
      engine.regulator.setSignals({
        scene: () => ({ count: 100, mean: 150, p50: 150, p90: 150, p99: 150, p999: 150, timeoutRate: 1 }),
        process: () => ({ elu: 0.99, count: ++taken, taken: { elu: taken } }),
      });
      engine.regulator.tick();
      expect(engine.regulator.status()!.process.map((g) => [g.goal, g.status])).toEqual([['elu', 'violated']]);
      expect(value(prometheusText(engine), 'gearshift_process_exhausted')).toBe(1);
    } finally {
      engine.close();
    }
  });

  it('has every figure the README’s alert rules name', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rules = readme.slice(readme.indexOf('### Alerting'), readme.indexOf('### Status page'));
    const named = [...new Set([...rules.matchAll(/expr: .*/g)].flatMap((m) => m[0].match(/gearshift_[a-z_]+/g) ?? []))];
    expect(named.length).toBeGreaterThanOrEqual(5);
    const engine = engineWithTraffic(); // one tick behind it, and the default process goal
    try {
      const names = new Set(samples(prometheusText(engine)).map((x) => x.name));
      expect(named.filter((n) => !names.has(n))).toEqual([]);
    } finally {
      engine.close();
    }
  });

  it('sums the arrival-stamp counts of the adapters it is given', () => {
    const engine = engineWithTraffic();
    try {
      const a = new RequestStart({ now: () => 1_763_800_000_000 });
      const b = new RequestStart({ now: () => 1_763_800_000_000 });
      a.waitOf('t=1763799999.900', true); // 100 ms
      a.waitOf('soon', true);
      b.waitOf('t=1763799999.900', true);
      b.waitOf('t=1763799999.900', false);
      b.stats.late++;
      const text = prometheusText(engine, { requestStart: [a, b] });
      expect(value(text, 'gearshift_request_start_total', '{kind="applied"}')).toBe(2);
      expect(value(text, 'gearshift_request_start_late_total', '')).toBe(1); // a part of `applied`: its own counter since the twenty-third session
      expect(value(text, 'gearshift_request_start_total', '{kind="malformed"}')).toBe(1);
      expect(value(text, 'gearshift_request_start_total', '{kind="untrusted"}')).toBe(1);
      expect(value(text, 'gearshift_request_start_total', '{kind="bad_clock"}')).toBe(0);
      expect(prometheusText(engine)).not.toMatch(/request_start/);
    } finally {
      engine.close();
    }
  });
});

describe('twenty-fifth session: shadow mode', () => {
  function overloaded(mode: 'shadow' | 'auto', clock = new ManualClock(0, Date.UTC(2026, 0, 1))) {
    const engine = createGearshift({
      clock,
      config: {
        regulator: { mode },
        scenes: { feed: { rtBudgetMs: 100, versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] }, model: { gears: ['s', 'l'] } } } },
      },
    });
    for (let tick = 0; tick < 5; tick++) {
      for (let i = 0; i < 200; i++) {
        const d = engine.route('feed', `user-${i}`);
        clock.advance(1);
        engine.complete(d, i % 3 === 0 ? 'timeout' : 'success', i % 3 === 0 ? 150 : 20);
      }
      engine.regulator.tick();
    }
    return engine;
  }

  it('shows the gears requests get as gear, and what shadow computed as shadow_gear', () => {
    const engine = overloaded('shadow');
    const text = prometheusText(engine);
    const computed = engine.regulator.status()!.scenes[0]!;
    expect(computed.degraded).toBe(true); // shadow computed cuts …
    expect(engine.regulator.scene('feed')!.gearIndex('depth')).toBe(2); // … that reach no request
    expect(value(text, 'gearshift_gear', '{scene="feed",point="depth"}')).toBe(2);
    expect(value(text, 'gearshift_gear', '{scene="feed",point="model"}')).toBe(1);
    expect(value(text, 'gearshift_degraded', '{scene="feed"}')).toBe(0);
    expect(value(text, 'gearshift_cost_ratio', '{scene="feed"}')).toBe(1);
    expect(value(text, 'gearshift_shadow_degraded', '{scene="feed"}')).toBe(1);
    expect(value(text, 'gearshift_shadow_cost_ratio', '{scene="feed"}')).toBe(computed.cost);
    expect(value(text, 'gearshift_shadow_gear', '{scene="feed",point="depth"}')! + value(text, 'gearshift_shadow_gear', '{scene="feed",point="model"}')!).toBeLessThan(3);
    engine.close();
  });

  it('says where shadow would have run out of gears: shadow_exhausted, while exhausted (what requests get) stays 0', () => {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const engine = overloaded('shadow', clock);
    const computed = engine.regulator.status()!.scenes[0]!;
    expect(computed.atFloor).toBe(true);
    expect(computed.goals.some((g) => g.status === 'violated')).toBe(true);
    const text = prometheusText(engine);
    expect(value(text, 'gearshift_shadow_exhausted', '{scene="feed"}')).toBe(1);
    expect(value(text, 'gearshift_exhausted', '{scene="feed"}')).toBe(0);
    expect(value(text, 'gearshift_shadow_process_exhausted', '')).toBe(0); // the process's goals read no overload here
    for (let tick = 0; tick < 12; tick++) { // the overload leaves: the goal is no longer violated
      for (let i = 0; i < 200; i++) engine.complete(engine.route('feed', `user-${i}`), 'success', 20);
      clock.advance(1000);
      engine.regulator.tick();
    }
    expect(value(prometheusText(engine), 'gearshift_shadow_exhausted', '{scene="feed"}')).toBe(0);
    engine.close();
  });

  it('writes no shadow_ figures outside shadow mode, where what is computed is served', () => {
    const engine = overloaded('auto');
    const text = prometheusText(engine);
    expect(text).not.toContain('shadow_');
    expect(value(text, 'gearshift_degraded', '{scene="feed"}')).toBe(1);
    expect(engine.regulator.scene('feed')!.degraded).toBe(true);
    engine.close();
  });
});

describe('thirtieth session: prometheusTextAsync, the scrape in slices', () => {
  function many(n: number) {
    const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
    const scenes = Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { rtBudgetMs: 100, versions: { main: { stage: 'base' as const } }, points: { depth: { gears: [1, 2, 3] } } }]));
    const engine = createGearshift({ clock, config: { scenes } });
    engine.regulator.close();
    for (let i = 0; i < n; i++) engine.complete(engine.route(`s${i}`, 'u'), i % 2 ? 'success' : 'timeout', 20 + i);
    clock.advance(1000);
    engine.regulator.tick();
    return engine;
  }

  it('writes the same text as prometheusText, serving the event loop between its slices', async () => {
    const engine = many(700); // 700 scenes: five slices of scenes, and families of thousands of lines
    const whole = prometheusText(engine, { prefix: 'x_' });
    let turns = 0;
    const probe = () => {
      turns++;
      if (!done) setImmediate(probe);
    };
    let done = false;
    setImmediate(probe);
    const sliced = await prometheusTextAsync(engine, { prefix: 'x_' });
    done = true;
    expect(sliced).toBe(whole);
    expect(turns).toBeGreaterThanOrEqual(5); // requests were served while it was built
    engine.close();
  });

  it('a reload in the middle of a sliced scrape leaves out the scenes it removed or added, and the scrape completes', async () => {
    const engine = many(700);
    const scrape = prometheusTextAsync(engine);
    await new Promise<void>((resolve) => setImmediate(resolve)); // the scrape is under way, a slice or two in
    const kept = Object.fromEntries(Object.entries(engine.config.scenes).slice(0, 10));
    const fresh = { rtBudgetMs: 100, versions: { main: { stage: 'base' as const } }, points: { depth: { gears: [1, 2] } } };
    engine.reload({ ...engine.config, version: 'fewer', scenes: { ...kept, fresh } });
    const text = await scrape;
    expect(text).toContain('scene="s0"');
    expect(text).not.toContain('scene="s699"'); // removed meanwhile: its windows were still there to read
    expect(text).not.toContain('scene="fresh"'); // added meanwhile: its gears, without its windows
    expect(text).toMatch(/\n$/);
    engine.close();
  });

  it('refuses what prometheusText refuses, as a rejection naming itself', async () => {
    const engine = many(1);
    await expect(prometheusTextAsync(engine, { prefix: '1x' })).rejects.toThrow(UsageError);
    await expect(prometheusTextAsync(engine, { prefix: '1x' })).rejects.toThrow(/^prometheusTextAsync: prefix/);
    await expect(prometheusTextAsync({} as never)).rejects.toThrow(/prometheusTextAsync\(engine, options\)/);
    engine.close();
  });
});
