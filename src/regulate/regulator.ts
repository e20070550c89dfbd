/**
 * The gear regulator: owns one control loop per scene (and one for process-wide goals), runs them on an unref'd
 * timer (never in a request), applies schedules, templates, caps, pins and modes, emits every change with its reason,
 * keeps a bounded history and can snapshot and restore its state. Requests read the gears through `live(index)`.
 */
import { type Clock, clockOf } from '../clock.js';
import type { GearSet, RegulatorMode } from '../config/schema-regulate.js';
import type { GearshiftConfig } from '../config/schema.js';
import { isValidated, validateConfig } from '../config/validate.js';
import { isPlainObject, ListenerError, shown, UsageError } from '../errors.js';
import type { GearChange, RegulatorEvents, SceneReport, ServedState, TickReport } from './events.js';
import { processGoals } from './goals.js';
import { Ring } from './history.js';
import { GuardedEmitter } from './guarded-emitter.js';
import { LastReport } from './last-report.js';
import type { LiveScene } from './live.js';
import { NO_GOALS, ProcessLoop } from './process-loop.js';
import type { SceneLoop, StepContext } from './scene-loop.js';
import { SceneSet } from './scene-set.js';
import { type Settings, settings } from './settings.js';
import { RuleKeeper } from './rule-keeper.js';
import { Scheduler } from './schedule.js';
import { type SceneSignals, type SignalSource, silentSource } from './signals.js';
import { checkDuration, checkGearSet, checkMode, checkSnapshot, plainCopy } from './operator-input.js';
import { type RegulatorSnapshot, restoreScene, sceneSnapshot, SNAPSHOT_VERSION } from './snapshot.js';
import { type TickRun, TickRunner } from './tick-runner.js';

/** Scenes read, or stepped, per slice of a tick the timer starts: about 1 ms of work here (see TickRunner). */
const SLICE = 256;

export interface RegulatorOptions {
  config: GearshiftConfig;
  clock?: Clock;
  /** Where the goals' measurements come from; default: none (the regulator holds still). */
  signals?: SignalSource;
  /** @internal Made by an engine, whose router indexes its scenes: only the engine reloads it (`engineReload`). */
  owned?: boolean;
}

export class Regulator extends GuardedEmitter<RegulatorEvents> {
  private readonly clock: Clock;
  private signals: SignalSource;
  private config!: GearshiftConfig;
  private s!: Settings;
  /** The loops of the config in force: swapped whole by a reload. */
  private set!: SceneSet;
  private process!: ProcessLoop;
  private scheduler!: Scheduler;
  private currentMode: RegulatorMode = 'auto';
  private goalSetName: string | null = null;
  /** What schedule rules set, and whether an operator's command set it since. */
  private readonly rules = new RuleKeeper({
    mode: () => this.currentMode,
    goalSet: () => this.goalSetName,
    switchGoalSet: (name) => this.switchGoalSet(name),
    replaceCaps: (set) => this.set.replaceCaps(set),
    replacePins: (set) => this.set.replacePins(set),
    putTemplate: (name) => this.putTemplate(name),
    switchMode: (mode, reason) => this.switchMode(mode, reason),
    setFastRecovery: (on) => this.setFastRecovery(on),
    applyLimits: () => this.applyLimits(),
    ruleFired: (e) => this.emit('rule', e),
  });
  private fastUntil = -Infinity;
  private fastEpoch = 0;
  private lastWall: number;
  private timer: NodeJS.Timeout | null = null;
  /** Runs the ticks: the timer's in slices, between which requests are served. */
  private readonly runner = new TickRunner();
  private closed = false;
  private history!: Ring<GearChange>;
  private changesThisTick = 0;
  /** A gear rose in this tick: the process's probe (its raised limit) took effect. */
  private climbedThisTick = false;
  private readonly last = new LastReport();
  /** Made by an engine (see RegulatorOptions.owned). */
  private readonly owned: boolean;

  /** `config`: a config document (validated here unless it came from `validateConfig` or `engine.config`). */
  constructor(options: RegulatorOptions) {
    super();
    if (!isPlainObject(options as unknown)) throw new UsageError(`new Regulator(options): expected { config, clock?, signals? }, got ${shown(options)}`);
    const config = validated(options.config);
    this.clock = clockOf(options.clock, 'new Regulator(options)');
    this.signals = signalsOf(options.signals);
    this.owned = options.owned === true;
    this.lastWall = this.clock.wallNow();
    this.load(config, true);
  }

  /**
   * Compiles a config (validated here unless it already was: an invalid one throws ConfigError and changes nothing).
   * Gears, caps and pins of points that still exist carry over.
   */
  reload(document: GearshiftConfig): void {
    // An engine's requests read their gears by the router's scene index: a config given to its regulator alone
    // (scenes in another order) would hand each scene another's gears.
    if (this.owned) throw new UsageError('regulator.reload: this regulator belongs to an engine; reload the engine (engine.reload(config)), which reloads its router and its regulator together');
    this.reloadConfig(document);
  }

  /** @internal The engine's way in: its router has the same config, in the same order. */
  engineReload(document: GearshiftConfig): void {
    this.reloadConfig(document);
  }

  private reloadConfig(document: GearshiftConfig): void {
    const config = validated(document);
    this.runner.finish();
    this.last.invalidate();
    const before = this.snapshot();
    const setBefore = this.set;
    const processBefore = this.process;
    const modeBefore = this.config.regulator?.mode ?? 'auto';
    const period = this.s.periodMs;
    this.load(config, false);
    this.process.carryFrom(processBefore, this.s.limits);
    // The carry-over is silent (requests already had those gears); what the new config's limits move is reported.
    this.apply(before, { silent: true }, false);
    for (const sc of this.set.loops) {
      const old = setBefore.get(sc.id);
      if (old) sc.carryFrom(old, this.s.limits);
    }
    this.rules.reload(this.scheduler.replay(this.clock.wallNow()), this.config.regulator?.mode ?? 'auto', modeBefore);
    this.settleShedding(true);
    if (this.timer && this.s.periodMs !== period) {
      clearInterval(this.timer);
      this.timer = null;
      this.start();
    }
  }

  private load(config: GearshiftConfig, first: boolean): void {
    const r = config.regulator;
    this.config = config;
    this.s = settings(r);
    const historySize = r?.historySize ?? 1000;
    if (first || !this.history) this.history = new Ring(historySize);
    else if (this.history.capacity !== historySize) {
      // a reload that resizes the history keeps its newest entries
      const kept = this.history.toArray().slice(-historySize);
      this.history = new Ring(historySize);
      for (const c of kept) this.history.push(c);
    }
    this.set = new SceneSet(config, this.s, this.goalSetName);
    this.process = new ProcessLoop(processGoals(r, this.goalSetName), this.set.points, this.set.ladder, this.s.limits.dwellMs);
    const schedulerBefore = first ? undefined : this.scheduler;
    this.scheduler = new Scheduler(r?.schedules ?? [], r?.timeZone ?? 'UTC');
    if (schedulerBefore) this.scheduler.carryFrom(schedulerBefore);
    if (first) {
      this.currentMode = r?.mode ?? 'auto';
      this.rules.replay(this.scheduler.replay(this.clock.wallNow()));
      this.lastWall = this.clock.wallNow();
      for (const sc of this.set.loops) sc.step(undefined, this.context());
    }
  }

  get mode(): RegulatorMode {
    return this.currentMode;
  }

  /** The goal set in force: a name from `regulator.goalSets`, or null for the configured goals. */
  get goalSet(): string | null {
    return this.goalSetName;
  }

  get periodMs(): number {
    return this.s.periodMs;
  }

  /** Switches mode. Leaving shadow resumes from the live gears (shadow moves were never applied). */
  setMode(mode: RegulatorMode, reason = 'manual'): void {
    checkMode(mode, 'setMode');
    this.runner.finish();
    this.rules.operatorSet('mode');
    this.switchMode(mode, reason);
  }

  private switchMode(mode: RegulatorMode, reason: string): void {
    const from = this.currentMode;
    if (from === mode) return;
    this.currentMode = mode;
    this.last.invalidate();
    if (from === 'shadow') for (const sc of this.set.loops) this.resync(sc);
    this.emit('mode', { from, to: mode, reason, at: this.clock.wallNow() });
    this.settleShedding();
  }

  /**
   * What may no longer be shed stops now, not at the next tick (see SceneLoop.settleShedding). After a reload, a share
   * above the new `shedding.maxShare` comes down to it too; a restored snapshot's share (any share 0–1) is kept as
   * it was, as before: the next tick that sheds more bounds it.
   */
  private settleShedding(reload = false): void {
    const ctx = this.context();
    for (const sc of this.set.loops) sc.settleShedding(ctx, this.currentMode !== 'shadow', reload ? this.s.shed.maxShare : 1);
  }

  private resync(sc: SceneLoop): void {
    sc.gears.set(sc.live.gears);
    sc.allowance.u = sc.allowanceOfGears();
    // Shedding computed in shadow never reached requests either: control resumes from what did.
    [sc.shedding.share, sc.shedding.loadTest] = [sc.live.shedShare, sc.live.shedLoadTest];
  }

  /** Sets the signal source (the engine wires sensing after construction). */
  setSignals(source: SignalSource): void {
    const signals = signalsOf(source);
    this.runner.finish();
    this.signals = signals;
  }

  /** @internal The live gears of the scene at `index` (config order, as the router's compiled scene index). */
  live(index: number): LiveScene | undefined {
    return this.set.loops[index]?.live;
  }

  scene(id: string): LiveScene | undefined {
    return this.set.get(id)?.live;
  }

  /**
   * @internal What each scene's requests get now (the live gears and shedding), by scene id: `status()`'s but in
   * shadow mode, whose computed moves reach no request. For the metrics, which show both there.
   */
  served(id: string): ServedState | undefined {
    return this.set.get(id)?.served();
  }

  /**
   * Current gear index of every point: scene → point → gear, in objects of the caller's own (a tick report's `gears`
   * is frozen and shared by the reports of the ticks in which the scene's gears did not move).
   */
  gears(): Record<string, Record<string, number>> {
    this.runner.finish();
    return Object.fromEntries(this.set.loops.map((s) => [s.id, Object.fromEntries(s.points.map((p, i) => [p.name, s.gears[i]!]))]));
  }

  /** Gear changes, oldest first (bounded by regulator.historySize). */
  changes(): GearChange[] {
    return this.history.toArray();
  }

  /**
   * The last tick's report (goals, statuses, allowance, value and cost per scene), brought up to the state in force
   * when a reload, a restore or a command moved it since (see LastReport). Null before the first tick.
   */
  status(): TickReport | null {
    return this.last.read(() => ({ mode: this.currentMode, fastRecovery: this.fastRecovery, scenes: this.set.loops, processGoals: this.process.loops.map((l) => l.goal) }));
  }

  get fastRecovery(): boolean {
    return this.clock.now() < this.fastUntil;
  }

  /** Starts a fast-recovery window now (or ends it with `false`). */
  setFastRecovery(on: boolean, durationMs = this.s.fastMs): void {
    if (typeof on !== 'boolean') throw new UsageError(`setFastRecovery: expected true or false, got ${shown(on)}`);
    checkDuration(durationMs, 'setFastRecovery.durationMs');
    this.runner.finish();
    this.fastUntil = on ? this.clock.now() + durationMs : -Infinity;
    this.last.invalidate();
    if (on) this.fastEpoch++;
  }

  applyTemplate(name: string): void {
    // A name that is not a string is refused before it is used as a key: an object without a prototype cannot be one.
    const templates = this.config.regulator?.templates ?? {};
    if (typeof name !== 'string' || !Object.hasOwn(templates, name)) throw new UsageError(`applyTemplate: unknown template ${shown(name)}`);
    this.runner.finish();
    this.rules.operatorSet('template');
    this.putTemplate(name);
  }

  /** Sets the gears of a template of the config (checked: an operator's name, or a validated rule's). */
  private putTemplate(name: string): void {
    const t = this.config.regulator!.templates![name]!;
    // Within the limits in force: a pin still wins, a cap still holds, and a boost gear waits for a boost.
    this.set.forEachPoint(t, (sc, slot, gear) => sc.setGear(slot, sc.withinLimits(slot, gear), 'template', this.context(), this.currentMode !== 'shadow'));
    this.publishAll();
  }

  /** Replaces the caps (max gear per point) with `set`; `{}` clears them. */
  setCaps(input: GearSet): void {
    const set = plainCopy(input, 'setCaps');
    checkGearSet(set, this.set.pointsOf, 'setCaps');
    this.runner.finish();
    this.rules.operatorSet('caps');
    this.set.replaceCaps(set);
    this.applyLimits();
  }

  /** Replaces the pinned gears with `set`; `{}` clears them. */
  setFixed(input: GearSet): void {
    const set = plainCopy(input, 'setFixed');
    checkGearSet(set, this.set.pointsOf, 'setFixed');
    this.runner.finish();
    this.rules.operatorSet('pins');
    this.set.replacePins(set);
    this.applyLimits();
  }

  /**
   * Caps and pins of a command hold at once: the gears that break them move now (a tick would, up to a period later).
   * Not those of schedule rules: they are applied in a tick, or replayed at start, where several may fall together (a
   * cap at 20:01, lifted at 20:10), and only the limits in force after the last one may move gears, which the step
   * that follows does. Applied one by one, the first cap would take a gear down that lifting it does not give back.
   */
  private applyLimits(): void {
    this.last.invalidate();
    const ctx = this.context();
    for (const sc of this.set.loops) sc.applyLimits(ctx);
  }

  /** Switches to a named goal set (`null` or "default": the configured goals). */
  setGoalSet(name: string | null): void {
    if (name !== null && (typeof name !== 'string' || (name !== 'default' && !Object.hasOwn(this.config.regulator?.goalSets ?? {}, name)))) {
      throw new UsageError(`setGoalSet: unknown goal set ${shown(name)} (configured: ${Object.keys(this.config.regulator?.goalSets ?? {}).join(', ') || 'none'})`);
    }
    this.runner.finish();
    this.rules.operatorSet('goalSet');
    this.switchGoalSet(name === 'default' ? null : name);
  }

  private switchGoalSet(name: string | null): void {
    this.goalSetName = name;
    this.last.invalidate();
    this.set.setGoals(this.config, name);
    this.process.setGoals(processGoals(this.config.regulator, name));
  }

  private context(): StepContext {
    const now = this.clock.now();
    return {
      now, wall: this.clock.wallNow(), mode: this.currentMode, law: this.s.law, limits: this.s.limits,
      fast: now < this.fastUntil, fastEpoch: this.fastEpoch, fastMaxUp: this.s.fastMaxUp, boost: this.s.boost, shed: this.s.shed, transients: this.s.transients,
      processLimit: this.process.limit, processShed: false, processHold: false, processTight: false, processRoom: Infinity, processGaveBack: false,
      change: (c) => this.record(c),
      event: (kind, scene, engaged, share) => {
        const applied = this.currentMode !== 'shadow';
        if (kind === 'boost') this.emit('boost', { scene, engaged, at: this.clock.wallNow(), applied });
        else this.emit('shed', { scene, share, loadTest: engaged, at: this.clock.wallNow(), applied });
      },
    };
  }

  private record(c: GearChange): void {
    this.changesThisTick++;
    if (c.to > c.from) this.climbedThisTick = true;
    this.history.push(c);
    this.emit('change', c);
  }

  private publishAll(): void {
    this.last.invalidate();
    if (this.currentMode === 'shadow') return;
    for (const sc of this.set.loops) sc.publishGears();
  }

  /** One control step, whole, now (a tick the timer started finishes first). Tests and the simulator call it. */
  tick(): TickReport {
    return this.runner.now(this.steps());
  }

  /**
   * The tick, yielding between slices of `SLICE` scenes (their signals read, then their loops stepped). Every scene
   * is read and stepped against one context taken at the start, as in a tick run whole.
   */
  private *steps(): TickRun<TickReport> {
    this.changesThisTick = 0;
    const wall = this.clock.wallNow();
    for (const due of this.scheduler.due(this.lastWall, wall)) this.rules.apply(due.rule, due.index, due.at, false);
    this.lastWall = wall;
    let ctx = this.context();
    const control = ctx.mode === 'auto' || ctx.mode === 'shadow';
    // The loops of this tick: a listener that reloads inside a slice must not leave it stepping another config's.
    const set = this.set;
    const loops = set.loops;
    const reads: (SceneSignals | undefined)[] = [];
    for (let i = 0; i < loops.length; i++) {
      if (i > 0 && i % SLICE === 0) yield;
      const sc = loops[i]!;
      reads.push(control ? this.signals.scene(sc.id, sc.minSamples) : undefined);
    }
    // The process's offered load, for its dwell: a real drop resets a backed-off dwell, as a scene's does (until the
    // twentieth session the process loop was given no rate, and after failed probes waited up to maxDwellMs once the
    // load had gone).
    const rate = reads.reduce((sum, s) => sum + (s?.rate ?? 0), 0);
    const proc = control ? this.process.step(this.signals.process(), ctx.now, this.s.law, ctx.fast ? { ...this.s.limits, maxUp: this.s.fastMaxUp } : this.s.limits, this.s.transients, ctx.fast, () => set.heldPosition(), rate) : NO_GOALS;
    // Shared resources over their limit with every scene at its floor: what may be shed, is.
    // At its lower limit, as a scene's own shedding reads it: a pin above the floor is as low as that point goes.
    const everyFloor = loops.every((sc) => sc.gears.every((g, i) => g <= sc.lower[i]!));
    ctx = { ...ctx, processLimit: this.process.limit, processShed: proc.violated && !proc.easing && everyFloor && this.s.shed.enabled, processHold: proc.hold, processTight: proc.tight, processRoom: proc.room, processGaveBack: proc.gaveBack };
    const scenes: SceneReport[] = [];
    this.climbedThisTick = false;
    const from = control && this.process.limit ? set.heldPosition() : 0;
    // Only a listener of a step can reload mid-tick (a reload from outside finishes the tick first): after such a step
    // the loops left are no longer the ones requests read.
    for (let i = 0; i < loops.length && this.set === set; i++) {
      // Past one slice of scenes, the steps start a slice of their own: the last reads and the process step were one.
      if (i % SLICE === 0 && loops.length > SLICE) yield;
      scenes.push(loops[i]!.step(reads[i], ctx));
    }
    // A reload ends the tick where it came (see `reloaded` in the tick's report). Until the twenty-seventh session the
    // tick went on stepping the old loops: their changes were recorded and emitted but reached no request.
    const reloaded = this.set !== set;
    if (!reloaded && this.climbedThisTick && control && this.process.limit) this.process.climbed(ctx.now, from, rate);
    if (!reloaded && ctx.fast && scenes.every((r) => r.atTop)) this.fastUntil = -Infinity;
    const report: TickReport = { at: wall, mode: this.currentMode, fastRecovery: ctx.fast, scenes, process: proc.goals, changes: this.changesThisTick, ...(reloaded && { reloaded }) };
    this.last.set(report, reloaded);
    this.emit('tick', report);
    return report;
  }

  /**
   * @internal The timer's tick: started now, run in slices with the event loop served between them (see
   * TickRunner); skipped, returning false, while the last one is still under way. A fault is reported as the timer
   * reports it.
   */
  tickInBackground(): boolean {
    // Listeners cannot get here (the emitter guards them): a signal source that threw, or a fault of our own.
    return this.runner.spread(() => this.steps(), (e) => this.fault(new ListenerError('a regulator tick', e)));
  }

  /** Starts the unref'd timer (idempotent). */
  start(): void {
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => this.tickInBackground(), this.s.periodMs);
    this.timer.unref();
  }

  /** Stops the timer; the gears stay where they are and keep being served. */
  close(): void {
    this.runner.finish();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  snapshot(): RegulatorSnapshot {
    this.runner.finish();
    return {
      version: SNAPSHOT_VERSION, at: this.clock.wallNow(), mode: this.currentMode, goalSet: this.goalSetName,
      fastRecoveryLeftMs: Math.max(0, this.fastUntil - this.clock.now()), processAllowance: this.process.allowance.u,
      scenes: Object.fromEntries(this.set.loops.map((sc) => [sc.id, sceneSnapshot(sc, this.fastRecovery && sc.leftFast(this.fastEpoch))])),
    };
  }

  /**
   * Restores a snapshot: scenes, points and a goal set that no longer exist are skipped, gears are clamped to what
   * exists. A malformed snapshot throws UsageError before anything changes.
   */
  restore(input: RegulatorSnapshot, o: { silent?: boolean } = {}): void {
    if (!isPlainObject(o)) throw new UsageError(`restore(snapshot, options): options must be { silent? }, got ${shown(o)}`);
    const snap = plainCopy(input, 'restore');
    checkSnapshot(snap);
    this.runner.finish();
    const from = this.currentMode;
    this.apply(snap, o);
    if (!o.silent && this.currentMode !== from) this.emit('mode', { from, to: this.currentMode, reason: 'restore', at: this.clock.wallNow() });
    this.settleShedding(); // a snapshot's share, under a config or a mode that sheds nothing
    this.rules.restored();
    // Rules due since the snapshot was taken (the process was down): their state, as at start-up, so that an older
    // snapshot does not undo them (a preset left in force for a day because its end fired while the process was down).
    const now = this.clock.wallNow();
    this.rules.replay(this.scheduler.due(snap.at, now));
    this.lastWall = Math.max(this.lastWall, now); // not again, as actions, in the next tick; its step enforces their limits
  }

  /**
   * `restore` without the check: for the regulator's own snapshot, carried across a reload. `limitsSilent`: whether
   * the moves the limits then force are silent too (a reload reports them: a floor raised, a gear that is a boost
   * gear now, changed what requests get, and until the twenty-second session no event or history entry said so).
   */
  private apply(snap: RegulatorSnapshot, o: { silent?: boolean }, limitsSilent = o.silent === true): void {
    this.last.invalidate();
    const goalSet = snap.goalSet !== null && Object.hasOwn(this.config.regulator?.goalSets ?? {}, snap.goalSet) ? snap.goalSet : null;
    if (goalSet !== this.goalSetName) this.switchGoalSet(goalSet);
    this.currentMode = snap.mode;
    this.fastUntil = snap.fastRecoveryLeftMs > 0 ? this.clock.now() + snap.fastRecoveryLeftMs : -Infinity;
    // The restored window is one of its own, with the scenes that had left it out of it: until the twenty-second
    // session a restart let a scene a cut had taken out of the window climb at the fast rate again, and on the same
    // regulator a scene's mark from an earlier window could keep it out of the restored one.
    this.fastEpoch++;
    this.process.allowance.u = snap.processAllowance;
    let ctx = { ...this.context(), change: o.silent ? () => undefined : (c: GearChange) => this.record(c) };
    for (const [id, s] of Object.entries(snap.scenes)) {
      const sc = this.set.get(id);
      if (sc) restoreScene(sc, s, ctx, this.currentMode !== 'shadow', this.fastEpoch);
    }
    // The process allowance restored, kept where it must be to hold the restored gears (see ProcessLoop.keep), is
    // the process limit from now on, not the new loop's (every point's top) or the last tick's: a reload let a
    // high-value request take gears the process had cut until the next tick.
    this.process.keep(this.set.positionKeeping(() => true));
    this.process.refreshLimit();
    ctx = { ...ctx, processLimit: this.process.limit, change: limitsSilent ? () => undefined : (c: GearChange) => this.record(c) };
    // The limits restored hold at once, and requests see them (a high-value request's DCAF bound, too).
    for (const sc of this.set.loops) sc.applyLimits(ctx);
  }
}

/** A config as the regulator needs it: checked once. The engine's (and `validateConfig`'s) pass as they are. */
const validated = (config: unknown): GearshiftConfig => (isValidated(config) ? config : validateConfig(config));

/** Where the goals' measurements come from: the default holds still; anything else must answer both reads. */
function signalsOf(source: unknown): SignalSource {
  if (source === undefined) return silentSource;
  const s = source as SignalSource | null;
  if (s === null || typeof s !== 'object' || typeof s.scene !== 'function' || typeof s.process !== 'function') {
    throw new UsageError(`regulator signals: expected { scene(id, minSamples), process() }, got ${shown(source)}`);
  }
  return s;
}
