/**
 * The one object users create. It owns the live config (validated, compiled, swapped atomically on reload) and
 * wires the router; later parts (sensing, the regulator) hang off it and share its clock and its `close()`.
 */
import { type Clock, clockOf } from './clock.js';
import type { ReleaseDiff } from './config/release.js';
import type { GearshiftConfig } from './config/schema.js';
import { type ResolvedSense, resolveSense } from './config/schema-sense.js';
import { validateConfig } from './config/validate.js';
import { namesProcessGoal } from './config/validate-regulate.js';
import { ClosedError, isPlainObject, refuseUnknownKeys, shown, UsageError } from './errors.js';
import { Decision, Reason, type RejectedDecision, type RoutedDecision } from './route/decision.js';
import { Regulator } from './regulate/regulator.js';
import { sensingSource } from './regulate/sensing-source.js';
import { releaseOf } from './route/release-diff.js';
import { type RouteCounts, type RouteHints, Router } from './route/router.js';
import { compileTables } from './route/tables.js';
import { classify, Outcome, type OutcomeCode, type OutcomeName, outcomeOf } from './sense/outcome.js';
import { Sensing } from './sense/sensing.js';
import type { WindowStats } from './sense/stats.js';

export interface GearshiftOptions {
  /** The config document (validated; an invalid one throws ConfigError). */
  config: GearshiftConfig;
  /** Monotonic time for windows, RTs and schedules; default the system clock. Tests pass a ManualClock. */
  clock?: Clock;
}

export class Gearshift {
  private readonly router: Router;
  private closed = false;
  private readonly clock: Clock;
  private readonly sense: Sensing;
  private readonly gearRegulator: Regulator;
  private readonly closeHooks: (() => void)[] = [];
  /** @internal Wall-clock ms when the engine was made: where `engineStatus`'s gear curves can start. */
  readonly startedWall: number;
  private lastRelease: { readonly at: number; readonly diff: ReleaseDiff } | null = null;

  constructor(options: GearshiftOptions) {
    if (!isPlainObject(options as unknown)) throw new UsageError(`createGearshift(options): expected { config, clock? }, got ${shown(options)}`);
    refuseUnknownKeys(options as unknown as Record<string, unknown>, ['config', 'clock'], 'createGearshift(options).');
    // Said by name: validating undefined said "(root): expected an object", of which it did not say.
    if (options.config === undefined) throw new UsageError('createGearshift(options).config: required (the config document; see validateConfig)');
    const clock = clockOf(options.clock, 'createGearshift');
    this.router = new Router(compileTables(validateConfig(options.config)));
    this.clock = clock;
    this.startedWall = clock.wallNow();
    this.sense = new Sensing(senseOf(this.router.tables.config), this.clock);
    this.sense.bind(this.router.tables.sceneList);
    this.sense.start();
    // The regulator reads sensing on its own unref'd timer (regulator.periodMs), never inside a request.
    this.gearRegulator = new Regulator({ config: this.router.tables.config, clock: this.clock, signals: sensingSource(this.sense), owned: true });
    this.gearRegulator.start();
  }

  /**
   * Decides scene → version → params for one request. Never throws: bad input yields a rejection decision.
   * Stamps `decision.startedAt` (one clock read), or takes `startedAt` from a host that already timestamped the
   * request (same clock as the engine's).
   */
  route(scene: unknown, unit?: unknown, hints?: RouteHints | null, startedAt?: number): RoutedDecision {
    let d = this.router.route(scene, unit, hints);
    const cs = d.compiledScene;
    // The scene's live gears by index (no string look-up); the regulator's last resort may shed the request.
    const live = cs !== null && d.ok ? this.gearRegulator.live(cs.index) : undefined;
    if (live !== undefined) {
      if (live.shedding && live.shouldShed(d.loadTest)) {
        this.router.recount(d.reason, Reason.Shed);
        d = new Decision(d.scene, Reason.Shed, -1, d.configVersion, d.ignored, d.loadTest, d.unitHash, false, null, cs) as RejectedDecision;
      } else d.degraded = live.degraded;
      d.gears = live;
    }
    d.startedAt = startedAt === undefined ? this.clock.now() : this.hostStart(startedAt);
    return d;
  }

  /**
   * A start the host gave `route`: not a finite number → the clock; past the clock's now → the clock, counted (see
   * sense/host-time.ts). Out of `route`, which every adapter calls without one, so that `route`'s bytecode, which
   * TurboFan's inlining budget counts, does not grow for a check the adapters never need.
   */
  private hostStart(startedAt: unknown): number {
    return typeof startedAt === 'number' && Number.isFinite(startedAt) ? this.sense.hostTime.start(startedAt) : this.clock.now();
  }

  /**
   * @internal A served decision whose request had waited past its scene's budget before it was read (see
   * adapters/request-start.ts): recorded now as a timeout of the version it was routed to, and returned as a `late`
   * rejection, which no handler serves and whose report is a no-op.
   */
  late(d: RoutedDecision): RejectedDecision {
    this.complete(d, Outcome.Timeout);
    this.router.recount(d.reason, Reason.Late);
    const late = new Decision(d.scene, Reason.Late, d.bucket, d.configVersion, d.ignored, d.loadTest, d.unitHash, false, null, d.compiledScene);
    late.startedAt = d.startedAt;
    late.gears = d.gears;
    late.completed = true;
    return late as RejectedDecision;
  }

  /**
   * Records how a request ended, once: a second call for the same decision is a no-op returning false. `outcome` is
   * what the host saw (default success); the recorded class also follows from the decision (rejected, degraded) and
   * the RT (over the scene's budget: timeout). `rtMs` is the host's own RT if it measured one: no clock read per
   * request then (sensing checks one completion's times against it about once a second); otherwise the engine
   * reads its clock. Load-test traffic counts toward process load only. Never throws.
   */
  complete(decision: Decision | null | undefined, outcome: OutcomeCode | OutcomeName = Outcome.Success, rtMs?: number): boolean {
    if (!(decision instanceof Decision) || decision.completed) return false; // not one of this engine's decisions
    decision.completed = true;
    let end: number;
    let rt: number;
    if (typeof rtMs === 'number' && rtMs >= 0 && rtMs < Infinity) {
      rt = rtMs;
      end = decision.startedAt + rtMs;
      const band = this.sense.hostTime; // an end from host times is checked against the clock (sense/host-time.ts)
      if (end > band.limit || end < band.floor) end = band.place(end, decision.rtBudgetMs);
    } else {
      end = this.clock.now();
      rt = end - decision.startedAt;
    }
    const reported = decision.reason === Reason.Shed ? Outcome.Shed : outcomeOf(outcome);
    const o = classify(reported, decision.ok, decision.degraded, rt, decision.rtBudgetMs);
    this.sense.record(decision.compiledScene, decision.compiled, decision.loadTest, o, rt, end);
    return true;
  }

  /**
   * Window figures: no scene = the whole process (load tests included); a scene = its versions merged; a scene and
   * a version = that series. `lastSlots` 0 = whole windows. Undefined for an unknown scene or version.
   */
  stats(scene?: string | null, version?: string | null, lastSlots = 0, out?: WindowStats): WindowStats | undefined {
    return this.sense.stats(scene, version, lastSlots, out);
  }

  /** Now on the engine's monotonic clock (the clock of `decision.startedAt`): adapters compute deadlines with it. */
  now(): number {
    return this.clock.now();
  }

  /** @internal Wall-clock ms on the engine's clock, as events and the change history are stamped (for `engineStatus`). */
  wallNow(): number {
    return this.clock.wallNow();
  }

  /** @internal The last reload that took, and when (wall-clock ms): `engineStatus` shows it. */
  get lastReload(): { readonly at: number; readonly diff: ReleaseDiff } | null {
    return this.lastRelease;
  }

  /** The sensing layer: per-series reads, load-test and unknown-scene figures, process load. */
  get sensing(): Sensing {
    return this.sense;
  }

  /** The gear regulator: gears, modes, templates, schedules, events, history, snapshot/restore. */
  get regulator(): Regulator {
    return this.gearRegulator;
  }

  /** The label of the config now serving. */
  get configVersion(): string {
    return this.router.tables.configVersion;
  }

  /** The config now serving (a deep-frozen copy). */
  get config(): Readonly<GearshiftConfig> {
    return this.router.tables.config;
  }

  /**
   * Validates, compiles and atomically swaps in a new config, returning the release diff. An invalid document
   * throws ConfigError and the old config keeps serving; decisions already made keep the tables they were made with.
   */
  reload(config: GearshiftConfig): ReleaseDiff {
    if (this.closed) throw new ClosedError('reload');
    const before = this.router.tables;
    const after = compileTables(validateConfig(config));
    // Every part takes the new config before the router swaps (nothing runs in between: this is synchronous). If a
    // part fails, the parts already moved go back, and the old config keeps serving.
    const gears = this.gearRegulator.snapshot();
    try {
      this.gearRegulator.engineReload(after.config);
      this.sense.reconfigure(senseOf(after.config));
      this.sense.bind(after.sceneList);
    } catch (err) {
      this.gearRegulator.engineReload(before.config);
      this.gearRegulator.restore(gears, { silent: true });
      this.sense.reconfigure(senseOf(before.config));
      this.sense.bind(before.sceneList);
      throw err;
    }
    this.router.swap(after);
    const diff = releaseOf(before, after);
    this.lastRelease = { at: this.clock.wallNow(), diff };
    return diff;
  }

  /** Counts of decisions by reason and of ignored hints since start. */
  routeCounts(): RouteCounts {
    return this.router.counts();
  }

  /**
   * @internal Runs `release` once when the engine closes, at once if it has: what an adapter holds for the engine's
   * sake (the process-wide finish subscription of `gearshift/express`) is let go with it.
   */
  onClose(release: () => void): void {
    if (this.closed) release();
    else this.closeHooks.push(release);
  }

  /** Stops timers and refuses further reloads. Routing keeps answering from the last config. */
  close(): void {
    this.closed = true;
    this.sense.close();
    this.gearRegulator.close();
    for (const release of this.closeHooks.splice(0)) release();
  }
}

/** Sensing's settings: the config's, with the event-loop delay monitor on when a process goal reads it (`auto`). */
const senseOf = (config: GearshiftConfig): ResolvedSense => resolveSense(config.sense, namesProcessGoal(config.regulator, 'eventLoopDelayMs'));

export const createGearshift = (options: GearshiftOptions): Gearshift => new Gearshift(options);
