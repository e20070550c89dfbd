/**
 * The sensing registry: one series per scene × version, plus per scene one for its rejected decisions, plus three
 * process-level series (load tests, rejections of unknown scenes, late completions whose series was dropped). Series
 * are keyed by scene id and version name, so they survive reloads; per reload `bind` builds an array indexed like the
 * compiled tables, so the hot path finds a series by two array reads and an identity check instead of a Map look-up
 * on request strings.
 *
 * Each request is recorded in exactly one series. The process's figures are every series merged at read time, not a
 * second series recorded per request: in a Fastify server the two records took 14% of gearshift's per-request CPU,
 * and the second only made cheaper a read that neither the request path nor the regulator makes.
 *
 * It knows the router's tables only by shape (SceneRef/VersionRef): sensing imports nothing from route, and from config
 * only the mark of settings resolveSense checked (it takes no others, since it checks nothing itself).
 */
import { type Clock, clockOf } from '../clock.js';
import { isResolvedSense } from '../config/schema-sense.js';
import { UsageError } from '../errors.js';
import { HostTimeCheck } from './host-time.js';
import { HistogramLayout } from './layout.js';
import type { OutcomeCode } from './outcome.js';
import { type ProcessLoadOptions, ProcessLoad, type ProcessLoadStats } from './process-load.js';
import { Series, SeriesShape } from './series.js';
import { Stats, StatsReader, type WindowStats } from './stats.js';

/** Every sensing setting (the config's `sense` section with defaults filled in by `resolveSense`). */
export interface SenseOptions {
  readonly rt: { readonly slots: number; readonly slotMs: number; readonly precisionBits: number; readonly maxMs: number };
  readonly outcomes: { readonly slots: number; readonly slotMs: number };
  readonly process: ProcessLoadOptions;
  readonly retiredSeries: number;
}

/** The parts of a compiled scene / version sensing needs (the router's CompiledScene/CompiledVersion fit). */
export interface VersionRef {
  readonly name: string;
  readonly index: number;
}
export interface SceneRef {
  readonly id: string;
  readonly index: number;
  readonly versions: readonly VersionRef[];
}

/** A scene's series, across reloads. */
class SceneEntry {
  readonly versions = new Map<string, Series>();
  /** Every series of the scene (scene-level first), for merged reads without allocating. */
  all: Series[] = [];
  retiredAt = -1;
  constructor(readonly scene: Series) {}
}

/** One scene of the config now serving: the ref identifies decisions made with these tables. */
class Bound {
  constructor(
    readonly ref: SceneRef,
    readonly entry: SceneEntry,
    readonly versions: readonly Series[],
  ) {}
}

const sameShape = (a: SenseOptions, b: SenseOptions): boolean =>
  a.rt.slots === b.rt.slots && a.rt.slotMs === b.rt.slotMs && a.rt.precisionBits === b.rt.precisionBits && a.rt.maxMs === b.rt.maxMs &&
  a.outcomes.slots === b.outcomes.slots && a.outcomes.slotMs === b.outcomes.slotMs;

/** Settings are filled in and checked by resolveSense; anything else would fail later, inside a timer or a request. */
function checkOptions(options: unknown, where: string): void {
  if (!isResolvedSense(options)) throw new UsageError(`${where}: options must come from resolveSense(sense)`);
}

export class Sensing {
  private shape!: SeriesShape;
  private reader!: StatsReader;
  private scenes = new Map<string, SceneEntry>();
  private bound: (Bound | undefined)[] = [];
  private refs: readonly SceneRef[] = [];
  /** Every series (the process-level ones first): what a process read merges. Rebuilt by `bind`. */
  private everySeries: Series[] = [];
  /** When the oldest retired series kept has had its window (Infinity: none kept). */
  private nextPruneAt = Infinity;
  private lt!: Series;
  private unknown!: Series;
  private orphans!: Series;
  private processLoad: ProcessLoad;
  private running = false;
  /** Checks the ends that host-given times make against the clock (`complete` calls it, see host-time.ts). */
  readonly hostTime: HostTimeCheck;

  private readonly clock: Clock;

  constructor(
    private options: SenseOptions,
    clock?: Clock,
  ) {
    checkOptions(options, 'new Sensing(options, clock)');
    this.clock = clockOf(clock, 'new Sensing(options, clock)');
    this.hostTime = new HostTimeCheck(this.clock);
    this.reset();
    this.processLoad = new ProcessLoad(options.process);
  }

  /** Starts process-load sampling (unref'd timers). */
  start(): void {
    this.running = true;
    this.processLoad.start();
  }

  /** Stops every timer. Recording and reads keep working. */
  close(): void {
    this.running = false;
    this.processLoad.stop();
  }

  /**
   * Applies new settings from a reload. Changed window or histogram settings restart every series empty (their slots
   * would not line up); changed sampling settings restart the samplers. Unchanged settings change nothing.
   */
  reconfigure(options: SenseOptions): void {
    checkOptions(options, 'sensing.reconfigure(options)');
    const old = this.options;
    this.options = options;
    if (!sameShape(old, options)) {
      this.reset();
      this.bind(this.refs);
    }
    if (JSON.stringify(old.process) !== JSON.stringify(options.process)) {
      this.processLoad.stop();
      this.processLoad = new ProcessLoad(options.process, this.processLoad);
      if (this.running) this.processLoad.start();
    }
  }

  /**
   * Points the hot path at the scenes of a new config (`scenes[i].index === i`). Series of versions or scenes that are
   * gone stay readable for one window, then go; at most `retiredSeries` of them are kept.
   */
  bind(scenes: readonly SceneRef[]): void {
    const now = this.clock.now();
    const bound: (Bound | undefined)[] = new Array(scenes.length);
    const live = new Set<SceneEntry>();
    for (const ref of scenes) {
      let entry = this.scenes.get(ref.id);
      if (entry === undefined) this.scenes.set(ref.id, (entry = new SceneEntry(new Series(this.shape, now))));
      entry.retiredAt = -1;
      live.add(entry);
      const names = new Set<string>();
      const versions = ref.versions.map((v) => {
        names.add(v.name);
        let s = entry.versions.get(v.name);
        if (s === undefined) entry.versions.set(v.name, (s = new Series(this.shape, now)));
        s.retiredAt = -1;
        return s;
      });
      for (const [name, s] of entry.versions) if (!names.has(name) && s.retiredAt < 0) s.retiredAt = now;
      bound[ref.index] = new Bound(ref, entry, versions);
    }
    for (const entry of this.scenes.values()) if (!live.has(entry) && entry.retiredAt < 0) entry.retiredAt = now;
    this.refs = scenes;
    this.bound = bound;
    this.prune(now);
  }

  /**
   * Records one finished request. O(1), allocation-free once the series has storage. `version` is null for
   * rejections; `scene` is null when the scene is unknown (counted in one process-level bucket, never a series per
   * requested string). `now` is the request's end on the injected clock (a host-given end has passed `hostTime`).
   */
  record(scene: SceneRef | null, version: VersionRef | null, loadTest: boolean, outcome: OutcomeCode, rtMs: number, now: number): void {
    if (loadTest) return this.lt.record(outcome, rtMs, now);
    if (scene === null) return this.unknown.record(outcome, rtMs, now);
    const b = this.bound[scene.index];
    if (b === undefined || b.ref !== scene) return this.recordStale(scene, version, outcome, rtMs, now);
    const s = version === null ? b.entry.scene : b.versions[version.index];
    (s ?? b.entry.scene).record(outcome, rtMs, now);
  }

  /**
   * Figures over the whole windows (`lastSlots` 0) or the last N slots of each. No scene: the process (all traffic,
   * load tests included). A scene: its versions and its rejections merged. A scene and a version: that series.
   * Undefined for a scene or version sensing has never heard of. Pass `out` to read without allocating.
   */
  stats(scene?: string | null, version?: string | null, lastSlots = 0, out: WindowStats = new Stats()): WindowStats | undefined {
    const now = this.readNow();
    this.pruneIfDue(now);
    if (scene === undefined || scene === null) return this.readAll(this.everySeries, lastSlots, now, out);
    const entry = this.scenes.get(scene);
    if (entry === undefined) return undefined;
    if (version === undefined || version === null) return this.readAll(entry.all, lastSlots, now, out);
    const s = entry.versions.get(version);
    return s === undefined ? undefined : this.read(s, lastSlots, now, out);
  }

  /**
   * A scene's figures over its most recent slots holding at least `minSamples` RT samples (the whole window when
   * traffic is too thin): what a regulator tick wants. `version` narrows to one series. Undefined if unknown.
   */
  recent(scene: string, minSamples: number, version?: string | null, out: WindowStats = new Stats()): WindowStats | undefined {
    const now = this.readNow();
    this.pruneIfDue(now);
    const entry = this.scenes.get(scene);
    if (entry === undefined) return undefined;
    let list = entry.all;
    if (version !== undefined && version !== null) {
      const s = entry.versions.get(version);
      if (s === undefined) return undefined;
      this.one[0] = s;
      list = this.one;
    }
    for (const s of list) s.advance(now);
    return this.reader.read(list, this.reader.slotsHolding(list, minSamples), now, out);
  }

  /** Load-test traffic only (kept out of every scene's figures). */
  loadTestStats(lastSlots = 0, out: WindowStats = new Stats()): WindowStats {
    return this.read(this.lt, lastSlots, this.readNow(), out);
  }

  /** Rejections of scene ids not in the config (or not strings at all). */
  unknownSceneStats(lastSlots = 0, out: WindowStats = new Stats()): WindowStats {
    return this.read(this.unknown, lastSlots, this.readNow(), out);
  }

  /**
   * Completions of decisions made before a reload whose scene series has since been dropped (a window after the
   * scene left the config, or past the `retiredSeries` cap). Kept so the process figures still count them.
   */
  orphanStats(lastSlots = 0, out: WindowStats = new Stats()): WindowStats {
    return this.read(this.orphans, lastSlots, this.readNow(), out);
  }

  /**
   * Host starts and completions that claimed a time more than a second past the engine's clock's now (another clock
   * or unit), since the engine started. Each was replaced by now; the first one was also a process warning.
   */
  get aheadOfClock(): number {
    return this.hostTime.aheadCount;
  }

  /**
   * Completions checked against the clock (about one a second, see host-time.ts) whose end, start plus the host's
   * RT, was behind the clock's now by more than the scene's RT budget: timeouts the host reported as answers in time.
   * The first one was also a process warning.
   */
  get shortOfClock(): number {
    return this.hostTime.shortCount;
  }

  /** Scene ids with series, configured ones and recently removed ones. */
  sceneIds(): string[] {
    this.pruneIfDue(this.clock.now());
    return [...this.scenes.keys()];
  }

  /** Version names with series in a scene (configured and recently removed). */
  versionNames(scene: string): string[] {
    this.pruneIfDue(this.clock.now());
    return [...(this.scenes.get(scene)?.versions.keys() ?? [])];
  }

  /** Process load over each metric's window. */
  load(out?: ProcessLoadStats): ProcessLoadStats {
    return this.processLoad.stats(out);
  }

  /** The samplers, for tests and simulators that sample by hand. */
  get sampler(): ProcessLoad {
    return this.processLoad;
  }

  private read(s: Series, lastSlots: number, now: number, out: WindowStats): WindowStats {
    this.one[0] = s;
    return this.readAll(this.one, lastSlots, now, out);
  }

  /**
   * The clock's now for a read, which also centres the host-time check's band on it: a read (a regulator tick, a
   * metrics scrape) is a clock read the engine makes anyway, and a band left where the last host time moved it let
   * every end of requests stuck through a quiet spell pass unchecked (a 3-s stall reported as 5-ms answers).
   */
  private readNow(): number {
    const now = this.clock.now();
    this.hostTime.observe(now);
    return now;
  }

  /** Brings every series up to `now` (idle ones read as empty), then reads them merged. */
  private readAll(list: readonly Series[], lastSlots: number, now: number, out: WindowStats): WindowStats {
    for (const s of list) s.advance(now);
    return this.reader.read(list, lastSlots, now, out);
  }
  private readonly one: Series[] = [];

  /** A decision made with tables a reload has since replaced: find its series by name (rare, off the fast path). */
  private recordStale(scene: SceneRef, version: VersionRef | null, outcome: number, rtMs: number, now: number): void {
    const entry = this.scenes.get(scene.id);
    if (entry === undefined) return this.orphans.record(outcome, rtMs, now); // its scene's series were dropped since
    const s = version === null ? undefined : entry.versions.get(version.name);
    (s ?? entry.scene).record(outcome, rtMs, now);
  }

  private reset(): void {
    const o = this.options;
    const now = this.clock.now();
    this.shape = new SeriesShape(o.outcomes.slots, o.outcomes.slotMs, o.rt.slots, o.rt.slotMs, new HistogramLayout(o.rt.precisionBits, o.rt.maxMs));
    this.reader = new StatsReader(this.shape);
    this.scenes = new Map();
    this.bound = [];
    this.lt = new Series(this.shape, now);
    this.unknown = new Series(this.shape, now);
    this.orphans = new Series(this.shape, now);
    this.everySeries = [this.lt, this.unknown, this.orphans];
  }

  /** Prunes once the oldest retired series' window has passed: the reads call it, so no reload has to come first. */
  private pruneIfDue(now: number): void {
    if (now >= this.nextPruneAt) this.prune(now);
  }

  /**
   * Drops retired series whose whole window has passed, then the oldest beyond the `retiredSeries` cap (a retired
   * scene counts as its own series and each of its versions').
   */
  private prune(now: number): void {
    const o = this.options;
    const windowMs = Math.max(o.outcomes.slots * o.outcomes.slotMs, o.rt.slots * o.rt.slotMs);
    const retired: { at: number; series: number; drop: () => void }[] = [];
    for (const [id, entry] of this.scenes) {
      if (entry.retiredAt >= 0) {
        if (now - entry.retiredAt >= windowMs) this.scenes.delete(id);
        else retired.push({ at: entry.retiredAt, series: 1 + entry.versions.size, drop: () => this.scenes.delete(id) });
        continue;
      }
      for (const [name, s] of entry.versions) {
        if (s.retiredAt < 0) continue;
        if (now - s.retiredAt >= windowMs) entry.versions.delete(name);
        else retired.push({ at: s.retiredAt, series: 1, drop: () => entry.versions.delete(name) });
      }
    }
    let kept = retired.reduce((n, r) => n + r.series, 0);
    retired.sort((a, b) => a.at - b.at);
    let first = 0; // the oldest one kept
    for (; first < retired.length && kept > o.retiredSeries; first++) {
      retired[first]!.drop();
      kept -= retired[first]!.series;
    }
    this.nextPruneAt = first < retired.length ? retired[first]!.at + windowMs : Infinity;
    this.everySeries = [this.lt, this.unknown, this.orphans];
    for (const entry of this.scenes.values()) {
      entry.all = [entry.scene, ...entry.versions.values()];
      this.everySeries.push(...entry.all);
    }
  }
}
