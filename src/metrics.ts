/**
 * The engine's figures in the Prometheus text exposition format (version 0.0.4), for a `/metrics` route: routing
 * counts, each scene and version's window, the regulator's last tick (gears, allowance, shedding, boost, goals), the
 * process's load and, given the adapters' Trust, its counts. Built on read, from the reads the regulator makes; nothing
 * is counted per request for it.
 *
 * Counters (`_total`) count since the engine started. Window figures are gauges over sensing's rolling windows: a
 * Prometheus `rate()` of them means nothing, the window already is a rate.
 */
import type { ProxyOffset } from './adapters/proxy-clock.js';
import type { RequestStartCounts } from './adapters/request-start.js';
import type { Gearshift } from './engine.js';
import { checkEngine } from './engine-arg.js';
import { isPlainObject, refuseUnknownKeys, shown, UsageError } from './errors.js';
import { hostedHere } from './route/tables.js';
import type { SceneReport, ServedState } from './regulate/events.js';
import { exhausted } from './regulate/goals.js';
import type { WindowStats } from './sense/stats.js';

/** Anything with Trust's `counts()`: an adapter's `.trust`, or one made with `createTrust`. */
export interface CountsTrust {
  counts(): { signed: number; proxy: number; untrusted: number; refused: Readonly<Record<string, number>> };
}

/** Anything with RequestStart's `counts()` (and, optionally, `offsets()`): an adapter's `.requestStart`. */
export interface CountsRequestStart {
  counts(): RequestStartCounts;
  offsets?(): readonly ProxyOffset[];
}

export interface MetricsOptions {
  /** Trusts whose counts to add (an adapter's `.trust`): one, or several (their counts are summed). Default: none. */
  trust?: CountsTrust | readonly CountsTrust[] | undefined;
  /**
   * Arrival-stamp readers whose counts to add (an adapter's `.requestStart`): one, or several (summed); null (the
   * option off) counts as none. Default: none.
   */
  requestStart?: CountsRequestStart | readonly (CountsRequestStart | null)[] | null | undefined;
  /** Prefix of every metric name. Default `gearshift_`. */
  prefix?: string | undefined;
  /**
   * The scenes whose series to write, by id (ids the config lacks are passed over): to keep a scrape of many scenes
   * to the ones that matter. The figures of no scene are written whatever it holds. Default: every scene.
   */
  scenes?: readonly string[] | undefined;
}

const OUTCOMES = ['success', 'degraded', 'error', 'timeout', 'clientAbort', 'shed', 'rejected'] as const;
const QUANTILES = [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99'], ['0.999', 'p999']] as const;

/**
 * Labels as the text between a sample's braces, rendered once per scene, version or point and extended by
 * concatenation: a scrape writes 26 lines per scene, and building a label object per line (entries, a spread,
 * three regular expressions per value) kept the event loop for 60–110 ms a scrape at 1,000 scenes.
 */
type Labels = string;
/** A label value as the format wants it: backslash, double quote and line feed escaped. */
const escape = (v: string): string => (/[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);
const label = (name: string, value: string): Labels => `${name}="${escape(value)}"`;
/** `l` with one more label. */
const and = (l: Labels, more: Labels): Labels => (l === '' ? more : `${l},${more}`);
const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const OUTCOME_LABELS = OUTCOMES.map((o) => [o, label('outcome', snake(o))] as const);
const QUANTILE_LABELS = QUANTILES.map(([q, k]) => [label('quantile', q), k] as const);
const num = (x: number): string => (Number.isNaN(x) ? 'NaN' : x === Infinity ? '+Inf' : x === -Infinity ? '-Inf' : String(x));

/** A scene's gears and shedding: served (`prefix` ''), or computed in shadow mode and not applied (`shadow_`). */
function stateFigures(m: Exposition, prefix: '' | 'shadow_', s: ServedState, l: Labels): void {
  const of = prefix === '' ? '' : ' (shadow mode: computed, not applied)';
  for (const point in s.gears) m.add(`${prefix}gear`, 'gauge', `Gear index of each regulation point (0 = its lowest gear)${of}.`, s.gears[point]!, and(l, label('point', point)));
  m.add(`${prefix}cost_ratio`, 'gauge', `Cost of the gears relative to the normal top${of}.`, s.cost, l);
  m.add(`${prefix}value_ratio`, 'gauge', `Value of the gears relative to the normal top${of}.`, s.value, l);
  m.add(`${prefix}degraded`, 'gauge', `1 while some point is below its normal top${of}.`, s.degraded ? 1 : 0, l);
  m.add(`${prefix}at_floor`, 'gauge', `1 while every point is at its lower limit: nothing left to cut${of}.`, s.atFloor ? 1 : 0, l);
  m.add(`${prefix}boosted`, 'gauge', `1 while the scene's tidal boost is engaged${of}.`, s.boosted ? 1 : 0, l);
  m.add(`${prefix}shed_share`, 'gauge', `Share of the scene's own traffic being shed${of}.`, s.shedShare, l);
  m.add(`${prefix}shed_load_test`, 'gauge', `1 while the scene sheds its load-test traffic${of}.`, s.shedLoadTest ? 1 : 0, l);
}

/** Collects the samples of each metric under its one HELP and TYPE header, in the order first seen. */
class Exposition {
  /** By name without the prefix: the full name is made once per family, not once per sample. */
  private readonly families = new Map<string, { full: string; help: string; type: 'counter' | 'gauge'; lines: string[] }>();
  constructor(private readonly prefix: string) {}

  add(name: string, type: 'counter' | 'gauge', help: string, value: number, l: Labels = ''): void {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { full: this.prefix + name, help, type, lines: [] }));
    f.lines.push(l === '' ? `${f.full} ${num(value)}` : `${f.full}{${l}} ${num(value)}`);
  }

  /** The text, yielding after every few thousand lines (at 10,000 scenes one family, by outcome, is 70,000). */
  *text(): Generator<void, string> {
    let out = '';
    for (const f of this.families.values()) {
      out += `# HELP ${f.full} ${f.help}\n# TYPE ${f.full} ${f.type}\n`;
      for (let i = 0; i < f.lines.length; i += LINES_PER_SLICE) {
        out += `${f.lines.slice(i, i + LINES_PER_SLICE).join('\n')}\n`;
        if (f.lines.length > LINES_PER_SLICE) yield;
      }
    }
    return out;
  }
}

/**
 * One window's figures, as `window_*` (a scene's version) or `load_test_window_*` (every load test, merged). Times in
 * seconds, Prometheus's base unit. A window without requests has no ratio and no response time: NaN, not 0, which a
 * graph drew as a latency drop and which pulled an average over versions or instances toward 0.
 */
function windowFigures(m: Exposition, family: string, w: WindowStats, l: Labels): void {
  for (const [o, ol] of OUTCOME_LABELS) m.add(`${family}requests`, 'gauge', 'Requests completed in the outcome window, by outcome.', w[o], and(l, ol));
  m.add(`${family}rate`, 'gauge', 'Requests per second over the outcome window.', w.rate, l);
  m.add(`${family}timeout_ratio`, 'gauge', "Share of the window's requests slower than their scene's RT budget (NaN: none).", w.count > 0 ? w.timeoutRate : NaN, l);
  const timed = w.rtCount > 0;
  for (const [ql, k] of QUANTILE_LABELS) m.add(`${family}rt_seconds`, 'gauge', 'Response time quantiles over the RT window, seconds (NaN: no requests).', timed ? w[k] / 1000 : NaN, and(l, ql));
  m.add(`${family}rt_max_seconds`, 'gauge', 'Slowest response time in the RT window, seconds, exact (NaN: no requests).', timed ? w.max / 1000 : NaN, l);
}

/** Scenes written between two yields of a scrape run in slices: about 3 ms of the event loop each, here. */
const SLICE = 128;
/** Lines joined into the text between two yields. */
const LINES_PER_SLICE = 4096;

/** The engine's figures as Prometheus text (serve it with `content-type: text/plain; version=0.0.4`). */
export function prometheusText(engine: Gearshift, options: MetricsOptions = {}): string {
  const run = scrape(engine, options, 'prometheusText');
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/**
 * `prometheusText`, built in slices of scenes with the event loop served between them (a `setImmediate` each), so
 * that a scrape of many scenes does not hold every request: at 10,000 scenes the text is about 16 MB and took
 * 220–300 ms in one piece. The figures of one scene are read together; the scenes of one scrape are read a few
 * milliseconds apart. Which scenes it writes is the config's in force when it began, and the regulator's figures are
 * its last report as the scrape reaches them: a scene a reload removes or adds meanwhile is left out.
 */
export async function prometheusTextAsync(engine: Gearshift, options: MetricsOptions = {}): Promise<string> {
  const run = scrape(engine, options, 'prometheusTextAsync');
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The scrape, yielding after every SLICE scenes written and between the families of the text. */
function* scrape(engine: Gearshift, options: MetricsOptions, fn: string): Generator<void, string> {
  checkEngine(engine, `${fn}(engine, options)`);
  if (!isPlainObject(options as unknown)) throw new UsageError(`${fn}(engine, options): options must be an object, got ${shown(options)}`);
  refuseUnknownKeys(options as Record<string, unknown>, ['trust', 'requestStart', 'prefix', 'scenes'], `${fn}: `);
  const prefix = options.prefix ?? 'gearshift_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new UsageError(`${fn}: prefix: expected a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${shown(prefix)}`);
  const trusts = options.trust === undefined ? [] : Array.isArray(options.trust) ? options.trust : [options.trust as CountsTrust];
  for (const [i, t] of trusts.entries()) if (typeof (t as CountsTrust | null)?.counts !== 'function') throw new UsageError(`${fn}: trust${Array.isArray(options.trust) ? `[${i}]` : ''}: expected a Trust (an adapter's .trust), got ${shown(t)}`);
  // An adapter's `.requestStart` is null with the option off: passed as it is, it is none, not a broken scrape.
  const listed: readonly unknown[] = options.requestStart == null ? [] : Array.isArray(options.requestStart) ? options.requestStart : [options.requestStart];
  for (const [i, r] of listed.entries()) if (r !== null && typeof (r as CountsRequestStart)?.counts !== 'function') throw new UsageError(`${fn}: requestStart${Array.isArray(options.requestStart) ? `[${i}]` : ''}: expected a RequestStart (an adapter's .requestStart), got ${shown(r)}`);
  const starts = listed.filter((r) => r !== null) as CountsRequestStart[];
  if (options.scenes !== undefined && (!Array.isArray(options.scenes) || !options.scenes.every((s) => typeof s === 'string'))) throw new UsageError(`${fn}: scenes: expected an array of scene ids, got ${shown(options.scenes)}`);
  const chosen = options.scenes === undefined ? null : new Set(options.scenes);

  const m = new Exposition(prefix);
  m.add('config_info', 'gauge', 'The config version in force (always 1).', 1, label('config_version', engine.configVersion));

  const counts = engine.routeCounts();
  for (const [reason, n] of Object.entries(counts.byReason)) m.add('decisions_total', 'counter', 'Routing decisions since start, by reason.', n, label('reason', reason));
  for (const [hint, n] of Object.entries(counts.ignored)) m.add('ignored_hints_total', 'counter', 'Hints routing ignored since start, by kind.', n, label('hint', snake(hint)));

  // A scene this process does not host has no traffic here but its refusals: its zero series only multiplied a
  // shared fleet config's cardinality by the processes, and diluted averages over instances.
  const config = engine.config;
  const hosted = hostedHere(config);
  // Written in the config's order whatever order `scenes` lists them in: a scrape's families keep one order.
  // In a scrape run in slices, a scene of the config it began with that a reload has removed since, or one a reload
  // added, is left out: each scene written has its windows and its gears, from one config.
  const wanted = (scene: string): boolean =>
    (chosen === null || chosen.has(scene)) && (engine.config === config || (Object.hasOwn(config.scenes, scene) && Object.hasOwn(engine.config.scenes, scene)));
  let written = 0;
  for (const [scene, sc] of Object.entries(config.scenes)) {
    if (!wanted(scene)) continue;
    if (++written % SLICE === 0) yield;
    const l = label('scene', scene);
    for (const version of hosted(scene) ? Object.keys(sc.versions) : []) {
      const w = engine.stats(scene, version);
      if (w) windowFigures(m, 'window_', w, and(l, label('version', version)));
    }
    const merged = engine.stats(scene);
    if (merged) {
      if (hosted(scene)) m.add('scene_window_shed', 'gauge', 'Requests the scene shed in the outcome window.', merged.shed, l);
      m.add('scene_window_rejected', 'gauge', 'Requests the scene refused in the outcome window (not deployed here, and the like).', merged.rejected, l);
    }
  }
  windowFigures(m, 'load_test_window_', engine.sensing.loadTestStats(), '');

  const status = engine.regulator.status();
  if (status) {
    m.add('regulator_mode', 'gauge', 'The regulator\'s mode (1 for the mode in force).', 1, label('mode', status.mode));
    m.add('fast_recovery', 'gauge', '1 while a fast-recovery window is open.', status.fastRecovery ? 1 : 0);
    // A regulator that stopped ticking (its signal source throws, its engine was closed) holds the gears where they
    // are: `time() - this` tells, where every other figure would look calm.
    m.add('regulator_last_tick_timestamp_seconds', 'gauge', 'Wall-clock time of the regulator\'s last tick, seconds since the epoch.', status.at / 1000);
    // The gears and shedding are what requests get. In shadow mode the regulator's computed ones reach no request:
    // they go under `shadow_` (until the twenty-fifth session they were the plain gauges, and a dashboard showed a
    // service cut and shedding while it served every request at full gear).
    const shadow = status.mode === 'shadow';
    const servedOf = (s: SceneReport): ServedState => (shadow && engine.regulator.served(s.scene)) || s;
    for (const s of status.scenes) {
      if (!hosted(s.scene) || !wanted(s.scene)) continue;
      if (++written % SLICE === 0) yield;
      const l = label('scene', s.scene);
      const served = servedOf(s);
      stateFigures(m, '', served, l);
      if (shadow) stateFigures(m, 'shadow_', s, l);
      // The one figure to page on: the gears requests get can be cut no further and a goal is still violated.
      m.add('exhausted', 'gauge', '1 while every point is at its lower limit and a goal is still violated: the gears can do no more.', exhausted(served.atFloor, s.goals) ? 1 : 0, l);
      // In shadow mode requests get every gear, so `exhausted` stays 0: whether the regulator would have run out is this.
      if (shadow) m.add('shadow_exhausted', 'gauge', '1 while the computed gears are all at their lower limits and a goal is still violated (shadow mode).', exhausted(s.atFloor, s.goals) ? 1 : 0, l);
      m.add('allowance', 'gauge', 'The scene\'s cost allowance (1 = its normal top; in shadow mode, the computed one).', s.allowance, l);
      for (const g of s.goals) m.add('goal_pressure', 'gauge', 'Smoothed measured/target of each goal at the last tick (NaN: no data).', g.pressure, and(l, label('goal', g.goal)));
    }
    // The process's goals bind every scene: out of room when every hosted scene is at its floor and one is violated.
    const everyFloor = status.scenes.every((s) => !hosted(s.scene) || servedOf(s).atFloor);
    if (status.process.length > 0) m.add('process_exhausted', 'gauge', '1 while every hosted scene is at its lower limit and a process goal is still violated.', exhausted(everyFloor, status.process) ? 1 : 0);
    if (shadow && status.process.length > 0) {
      const computedFloor = status.scenes.every((s) => !hosted(s.scene) || s.atFloor);
      m.add('shadow_process_exhausted', 'gauge', '1 while every hosted scene\'s computed gears are at their lower limits and a process goal is still violated (shadow mode).', exhausted(computedFloor, status.process) ? 1 : 0);
    }
    for (const g of status.process) m.add('process_goal_pressure', 'gauge', 'Smoothed measured/target of each process goal at the last tick.', g.pressure, label('goal', g.goal));
  }

  const load = engine.sensing.load();
  // Each only once sampled: a 0 read as an idle process, and quietly disarmed a saturation alert.
  if (load.eventLoopUtilization.samples > 0) m.add('event_loop_utilization', 'gauge', 'Event-loop utilisation of the last sampling period (0–1).', load.eventLoopUtilization.last);
  if (load.cpu.samples > 0) m.add('cpu_ratio', 'gauge', 'Process CPU time as a share of one core, last sampling period.', load.cpu.last);
  if (load.eventLoopDelayP99.samples > 0) m.add('event_loop_delay_p99_seconds', 'gauge', 'p99 event-loop delay of the last sampling period, seconds.', load.eventLoopDelayP99.last / 1000);

  if (trusts.length > 0) {
    const sum = { signed: 0, proxy: 0, untrusted: 0 };
    const refused = new Map<string, number>();
    for (const t of trusts) {
      const c = t.counts();
      sum.signed += c.signed;
      sum.proxy += c.proxy;
      sum.untrusted += c.untrusted;
      for (const [reason, n] of Object.entries(c.refused) as [string, number][]) refused.set(reason, (refused.get(reason) ?? 0) + n);
    }
    for (const [kind, n] of Object.entries(sum)) m.add('trust_total', 'counter', 'Hints since start: signed tokens honoured, plain hints from trusted proxies, hints from untrusted peers.', n, label('kind', kind));
    for (const [reason, n] of refused) m.add('trust_refused_total', 'counter', 'Signed tokens refused since start, by reason.', n, label('reason', reason));
  }
  if (starts.length > 0) {
    const sum = new Map<string, number>();
    for (const r of starts) for (const [kind, n] of Object.entries(r.counts()) as [string, number][]) sum.set(kind, (sum.get(kind) ?? 0) + n);
    // `kind` is a partition (a sum over it counts each stamp once); late and ahead are parts of `applied`, apart.
    for (const [kind, n] of sum) {
      if (kind === 'late' || kind === 'ahead') m.add(`request_start_${kind}_total`, 'counter', kind === 'late' ? 'Applied stamps that had waited past their scene\'s budget, since start.' : 'Applied stamps ahead of this host\'s clock, since start.', n);
      else m.add('request_start_total', 'counter', 'Arrival stamps (X-Request-Start) since start: applied, or ignored by why.', n, label('kind', snake(kind)));
    }
    // Several readers may have learnt the same proxy: its offset is the least of theirs, as each is a least reading.
    const offsets = new Map<string, number>();
    for (const r of starts) for (const o of typeof r.offsets === 'function' ? r.offsets() : []) offsets.set(o.peer, Math.min(offsets.get(o.peer) ?? Infinity, o.offsetMs));
    for (const [peer, ms] of offsets) m.add('request_start_clock_offset_ms', 'gauge', 'How far each front proxy\'s clock runs behind, as learnt (least now minus stamp of the last ten minutes, at least 0), ms.', ms, label('peer', peer));
  }
  return yield* m.text();
}
