/**
 * Review of prometheusText (src/metrics.ts) as a Prometheus server and its dashboards/alerts would consume it. Each
 * `it` is one fault, written as the behaviour that SHOULD hold: every one fails against the code as it is.
 */
import { describe, expect, it } from 'vitest';
import { RequestStart } from '../src/adapters/request-start.js';
import { ManualClock } from '../src/clock.js';
import type { GearshiftConfig } from '../src/config/schema.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import { prometheusText } from '../src/metrics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  raw: string;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

/**
 * A strict reader of the text exposition format 0.0.4: HELP/TYPE once per family and before its samples, a family's
 * samples contiguous, no repeated series, label values unescaped as the format says. Throws on any breach.
 */
function parse(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('no trailing newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | null = null;
  const family = (name: string): Family => {
    if (current?.name === name) return current;
    if (closed.has(name) || families.has(name)) throw new Error(`family ${name} is not contiguous`);
    if (current) closed.add(current.name);
    current = { name, type: 'untyped', help: '', samples: [] };
    families.set(name, current);
    return current;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      const f = family(help[1]!);
      if (f.help !== '' || f.samples.length) throw new Error(`HELP of ${f.name} twice or after samples`);
      f.help = help[2]!;
      continue;
    }
    if (type) {
      const f = family(type[1]!);
      if (f.type !== 'untyped' || f.samples.length) throw new Error(`TYPE of ${f.name} twice or after samples`);
      f.type = type[2]!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      if (!l) throw new Error(`bad labels ${JSON.stringify(body)}`);
      if (l[1]! in labels) throw new Error(`label ${l[1]} twice`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      at = re.lastIndex;
    }
    const raw = m[3]!;
    if (!/^(NaN|[+-]Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(raw)) throw new Error(`bad value ${raw}`);
    const f = family(m[1]!);
    const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series ${line}`);
    seen.add(key);
    f.samples.push({ name: m[1]!, labels, raw, value: raw === 'NaN' ? NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return families;
}

const series = (text: string, name: string): Sample[] => parse(text).get(name)?.samples ?? [];
const pick = (text: string, name: string, labels: Record<string, string> = {}): Sample[] =>
  series(text, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

function make(config: GearshiftConfig): { engine: Gearshift; clock: ManualClock } {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  return { engine: createGearshift({ clock, config }), clock };
}

describe('prometheusText review', () => {
  it('follows a reload: a removed scene or point has no regulator series, a new one has them, the mode is the one in force', () => {
    // A dashboard/alert on gear{scene,point} or regulator_mode shows the old config for up to regulator.periodMs (≤ 10 min).
    const { engine } = make({
      scenes: {
        feed: { versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] } } },
        gone: { versions: { v1: { stage: 'base' } }, points: { model: { gears: ['s', 'l'] } } },
      },
    });
    try {
      engine.regulator.tick();
      engine.reload({
        regulator: { mode: 'frozen' },
        scenes: {
          feed: { versions: { main: { stage: 'base' } }, points: { breadth: { gears: [1, 2] } } },
          fresh: { versions: { v1: { stage: 'base' } }, points: { model: { gears: ['s', 'l'] } } },
        },
      });
      expect(engine.regulator.mode).toBe('frozen');
      const text = prometheusText(engine);
      const scenes = new Set(Object.keys(engine.config.scenes));
      const stale = ['gear', 'allowance', 'cost_ratio', 'value_ratio', 'degraded', 'shed_share', 'goal_pressure']
        .flatMap((n) => series(text, `gearshift_${n}`))
        .filter((s) => !scenes.has(s.labels.scene!));
      expect(stale.map((s) => `${s.name}{scene=${s.labels.scene}}`)).toEqual([]);
      expect(pick(text, 'gearshift_gear', { scene: 'feed', point: 'depth' })).toEqual([]);
      expect(pick(text, 'gearshift_gear', { scene: 'feed', point: 'breadth' })).toHaveLength(1);
      expect(pick(text, 'gearshift_gear', { scene: 'fresh', point: 'model' })).toHaveLength(1);
      expect(pick(text, 'gearshift_regulator_mode', { mode: 'frozen' }).map((s) => s.value)).toEqual([1]);
    } finally {
      engine.close();
    }
  });

  it('reports a scene without regulation points as at its top (allowance, cost_ratio, value_ratio 1), not as cut to 0', () => {
    // `value_ratio < 1` / `allowance < 0.5` alerts fire forever for every scene without points, while degraded says 0.
    const { engine } = make({ scenes: { plain: { versions: { main: { stage: 'base' } } } } });
    try {
      engine.regulator.tick();
      const text = prometheusText(engine);
      expect(pick(text, 'gearshift_degraded', { scene: 'plain' }).map((s) => s.value)).toEqual([0]);
      for (const n of ['allowance', 'cost_ratio', 'value_ratio']) {
        const v = pick(text, `gearshift_${n}`, { scene: 'plain' }).map((s) => s.value);
        expect(v.length === 0 || v[0] === 1, `${n} = ${v}`).toBe(true);
      }
    } finally {
      engine.close();
    }
  });

  it('gives no response-time figure for a window without requests (NaN or absent), not a 0 ms latency', () => {
    // A version whose traffic stopped (or never started) shows p99 = max = 0 ms: dashboards plot a latency drop, and
    // avg()/min() over versions or instances are pulled toward 0. Client libraries write NaN for an empty summary.
    const { engine, clock } = make({ scenes: { feed: { rtBudgetMs: 100, versions: { main: { stage: 'base' } } } } });
    try {
      for (let i = 0; i < 20; i++) engine.complete(engine.route('feed', `u${i}`), 'success', 80);
      clock.advance(60_000); // well past both 10 s windows
      const text = prometheusText(engine);
      expect(pick(text, 'gearshift_window_requests', { scene: 'feed', version: 'main', outcome: 'success' })[0]!.value).toBe(0);
      for (const s of [...pick(text, 'gearshift_window_rt_ms', { scene: 'feed' }), ...pick(text, 'gearshift_window_rt_max_ms', { scene: 'feed' }), ...series(text, 'gearshift_load_test_window_rt_ms')])
        expect(s.raw, `${s.name}${JSON.stringify(s.labels)}`).toBe('NaN');
    } finally {
      engine.close();
    }
  });

  it('leaves out event_loop_utilization and cpu_ratio while they are not sampled, as it does the delay', () => {
    // With sense.process.enabled: false (or before the first period) the process reads as perfectly idle (0), so
    // saturation alerts are silently disarmed and a dashboard cannot tell "idle" from "not measured".
    const { engine } = make({ sense: { process: { enabled: false } }, scenes: { feed: { versions: { main: { stage: 'base' } } } } });
    try {
      expect(engine.sensing.load().eventLoopUtilization.samples).toBe(0);
      expect(engine.sensing.load().cpu.samples).toBe(0);
      const fams = parse(prometheusText(engine));
      expect(fams.has('gearshift_event_loop_delay_p99_ms')).toBe(false); // already so
      for (const n of ['gearshift_event_loop_utilization', 'gearshift_cpu_ratio']) {
        const v = fams.get(n)?.samples.map((s) => s.raw) ?? [];
        expect(v.every((r) => r === 'NaN'), `${n} ${v}`).toBe(true);
      }
    } finally {
      engine.close();
    }
  });

  it('keeps request_start_total{kind} a partition: sum by kind counts each stamp once', () => {
    // `late` and `ahead` are also counted in `applied`, so sum(rate(request_start_total[5m])) over-counts stamps and
    // a ratio like applied / sum() is wrong; sub-counts belong in their own counters.
    const { engine } = make({ scenes: { feed: { versions: { main: { stage: 'base' } } } } });
    try {
      const rs = new RequestStart({ now: () => 1_763_800_000_000 });
      expect(rs.waitOf('t=1763799999.000', true)).toBe(1000); // 1000 ms wait: applied (and late for a 200 ms budget, once apply() sees it)
      rs.stats.late++; // what apply() does for that request
      expect(rs.waitOf('t=1763800001.000', true)).toBe(0); // 1 s ahead of this host: applied and ahead
      expect(rs.counts()).toMatchObject({ applied: 2, late: 1, ahead: 1 });
      const stamps = 2;
      const text = prometheusText(engine, { requestStart: rs });
      const total = series(text, 'gearshift_request_start_total').reduce((a, s) => a + s.value, 0);
      expect(total).toBe(stamps);
    } finally {
      engine.close();
    }
  });

  it('names durations in seconds (base unit), not milliseconds', () => {
    // Prometheus naming practice: base units (`_seconds`). `_ms` families cannot be combined with other exporters'
    // latency metrics or compared against `histogram_quantile` outputs without hand-written /1000 in every query.
    const { engine } = make({ regulator: { goals: { eventLoopDelayMs: { target: 50 } } }, scenes: { feed: { versions: { main: { stage: 'base' } } } } });
    try {
      engine.complete(engine.route('feed', 'u'), 'success', 12);
      const names = [...parse(prometheusText(engine)).keys()];
      expect(names.filter((n) => /_ms$|_ms_/.test(n))).toEqual([]);
      expect(names).toContain('gearshift_window_rt_seconds');
    } finally {
      engine.close();
    }
  });

  it('exports no per-version window or regulator series for scenes this process does not host (deployedHere)', () => {
    // With one shared config listing every scene of the fleet, every process exports ~25 all-zero series per
    // (scene, version) it never serves: cardinality grows as scenes × processes, and avg()/min() over instances of
    // rt quantiles, gear or value_ratio are diluted by processes that never see the scene's traffic.
    const { engine } = make({
      deployedHere: ['here'],
      scenes: {
        here: { versions: { main: { stage: 'base' } } },
        elsewhere: { versions: { main: { stage: 'base' }, canary: { stage: 'up' } }, split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }], points: { depth: { gears: [1, 2] } } },
      },
    });
    try {
      engine.regulator.tick();
      const text = prometheusText(engine);
      const foreign = [...parse(text).values()]
        .flatMap((f) => f.samples)
        .filter((s) => s.labels.scene === 'elsewhere' && s.name !== 'gearshift_scene_window_rejected');
      expect(foreign.map((s) => `${s.name}${JSON.stringify(s.labels)}`)).toEqual([]);
    } finally {
      engine.close();
    }
  });
});
