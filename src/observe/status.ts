/**
 * The engine's state for an operator, as one JSON-ready document: per scene, the traffic of each version, each point's
 * gear (served, with its curve over the last minutes), the goals and the last gear changes; the process's load and
 * the regulator's mode. What the Prometheus text gives a time-series store, this gives a person looking at one
 * process now (`statusPage` renders it). Built on read from the same reads as the metrics; nothing per request.
 */
import type { JsonValue } from '../config/shape.js';
import type { Gearshift } from '../engine.js';
import { checkEngine } from '../engine-arg.js';
import { isPlainObject, refuseUnknownKeys, shown, UsageError } from '../errors.js';
import type { ChangeReason, GearChange, GoalReport } from '../regulate/events.js';
import type { GoalKind, GoalStatus } from '../regulate/index.js';
import { exhausted } from '../regulate/goals.js';
import type { RegulatorMode } from '../config/schema-regulate.js';
import type { Stage } from '../config/schema.js';
import { hostedHere } from '../route/tables.js';
import type { SampleStats, WindowStats } from '../sense/index.js';
import { type GearCurve, gearCurve } from './gear-curve.js';

export interface StatusOptions {
  /** Scenes to show, by id (unknown ids are passed over). Default: every scene this process hosts. */
  scenes?: readonly string[] | undefined;
  /** Gear changes to list per scene, newest first (0–1000). Default 10. */
  changes?: number | undefined;
  /** How far back each point's gear curve goes, in seconds (1–86,400). Default 600. */
  curveS?: number | undefined;
}

/** A window's figures; `null` where there is nothing to measure (no request: no ratio, no response time). */
export interface TrafficStatus {
  readonly requests: number;
  /** Requests per second over the outcome window. */
  readonly rate: number;
  readonly timeoutRatio: number | null;
  readonly errorRatio: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly shed: number;
  readonly rejected: number;
}

export interface PointStatus {
  readonly point: string;
  /** The gear requests get now: its index and its value in the config. */
  readonly gear: number;
  readonly value: JsonValue | undefined;
  /** Shadow mode only: the gear the regulator computed, which no request gets. */
  readonly computed?: number;
  /** Index of the lowest gear the regulator may take it to, the normal top and the boost top. */
  readonly floor: number;
  readonly top: number;
  readonly boostTop: number;
  /** The gear requests got over the last `curveS`: `[at, gear]` steps, oldest first (wall-clock ms). */
  readonly curve: GearCurve;
}

export interface GoalStatusEntry {
  readonly goal: GoalKind;
  readonly status: GoalStatus;
  readonly measured: number | null;
  readonly target: number;
  readonly band: number;
  readonly pressure: number | null;
}

export interface ChangeEntry {
  readonly at: number;
  readonly point: string;
  readonly from: number;
  readonly to: number;
  readonly reason: ChangeReason;
  readonly goal?: GoalKind;
  readonly applied: boolean;
}

export interface SceneStatus {
  readonly scene: string;
  readonly hosted: boolean;
  readonly priority: 'low' | 'normal' | 'high';
  readonly rtBudgetMs: number;
  /** Every version and rejection of the scene together; null before its first request. */
  readonly traffic: TrafficStatus | null;
  /** Each version with its share of the code-experiment split in percent (null: not in the split) and its traffic. */
  readonly versions: readonly ({ readonly version: string; readonly stage: Stage; readonly splitPercent: number | null } & TrafficStatus)[];
  readonly points: readonly PointStatus[];
  /** Null before the regulator's first tick. */
  readonly allowance: number | null;
  readonly value: number | null;
  readonly cost: number | null;
  readonly degraded: boolean;
  /** Every point at its lower limit: nothing left to cut. */
  readonly atFloor: boolean;
  /** At its floor with a goal still violated at the last tick: the gears can do no more. */
  readonly exhausted: boolean;
  readonly boosted: boolean;
  readonly shedShare: number;
  readonly shedLoadTest: boolean;
  readonly goals: readonly GoalStatusEntry[];
  /** Newest first. */
  readonly changes: readonly ChangeEntry[];
}

export interface EngineStatus {
  /** Wall-clock ms when this was read. */
  readonly at: number;
  /** Wall-clock ms when the engine was made. */
  readonly startedAt: number;
  readonly configVersion: string;
  /** The last reload that took: when (wall-clock ms), from and to which config version, and its release diff as text. */
  readonly lastReload: { readonly at: number; readonly from: string; readonly to: string; readonly diff: string } | null;
  readonly mode: RegulatorMode;
  readonly goalSet: string | null;
  readonly fastRecovery: boolean;
  /** Wall-clock ms of the regulator's last tick; null before the first. */
  readonly tickAt: number | null;
  readonly process: {
    /** Each the last sampling period's; null until sampled. */
    readonly eventLoopUtilization: number | null;
    readonly cpu: number | null;
    readonly eventLoopDelayP99Ms: number | null;
    readonly goals: readonly GoalStatusEntry[];
  };
  readonly scenes: readonly SceneStatus[];
}

/** The engine's state now, for an operator (see `statusPage` for it as HTML). */
export function engineStatus(engine: Gearshift, options: StatusOptions = {}): EngineStatus {
  checkEngine(engine, 'engineStatus(engine, options)');
  return statusOf(engine, checkOptions(options, 'engineStatus'));
}

/** @internal `engineStatus` with its options checked (`statusPage` checks its own, which include these). */
export function statusOf(engine: Gearshift, o: CheckedOptions): EngineStatus {
  const reg = engine.regulator;
  const at = engine.wallNow();
  const config = engine.config;
  const hosted = hostedHere(config);
  const history = reg.changes();
  const historySize = config.regulator?.historySize ?? 1000;
  // The curves start where the history does once it is full (what a change before it moved is gone), and never
  // before the engine did.
  const from = Math.max(at - o.curveS * 1000, engine.startedWall, history.length >= historySize ? history[0]!.at : -Infinity);
  const report = reg.status();
  const byScene = new Map(report?.scenes.map((s) => [s.scene, s]));
  const shadow = reg.mode === 'shadow';
  const ids = o.scenes ? new Set(o.scenes) : Object.keys(config.scenes).filter(hosted);
  // Each scene's changes, oldest first, found in one pass: not one pass over the whole history per point.
  const changesOf = new Map<string, GearChange[]>();
  for (const c of history) {
    let list = changesOf.get(c.scene);
    if (!list) changesOf.set(c.scene, (list = []));
    list.push(c);
  }
  const scenes: SceneStatus[] = [];
  for (const id of ids) {
    const sc = Object.hasOwn(config.scenes, id) ? config.scenes[id]! : undefined;
    const live = reg.scene(id);
    if (!sc || !live) continue;
    const computed = byScene.get(id);
    const mine = changesOf.get(id) ?? [];
    const served = reg.served(id)!;
    const points = live.points.map((p): PointStatus => {
      const gear = live.gearIndex(p.name);
      const own = computed?.gears[p.name];
      return {
        point: p.name, gear, value: p.gears[gear], ...(shadow && own !== undefined && { computed: own }),
        floor: p.floor, top: p.top, boostTop: p.boostTop, curve: gearCurve(mine, id, p.name, gear, from),
      };
    });
    const merged = engine.stats(id);
    // Without a split, base takes every unit the earlier steps leave (see Routing).
    const split = new Map((sc.split ?? Object.entries(sc.versions).filter(([, v]) => v.stage === 'base').map(([version]) => ({ version, weight: 100 }))).map((e) => [e.version, e.weight]));
    scenes.push({
      scene: id, hosted: hosted(id), priority: sc.priority ?? 'normal', rtBudgetMs: sc.rtBudgetMs ?? 200,
      traffic: merged && merged.count + merged.rtCount > 0 ? traffic(merged) : null,
      versions: Object.entries(sc.versions).map(([version, v]) => ({ version, stage: v.stage, splitPercent: split.get(version) ?? null, ...traffic(engine.stats(id, version)) })),
      points,
      allowance: computed ? computed.allowance : null, value: computed ? served.value : null, cost: computed ? served.cost : null,
      degraded: served.degraded, atFloor: served.atFloor, exhausted: exhausted(served.atFloor, computed?.goals ?? []), boosted: served.boosted, shedShare: served.shedShare, shedLoadTest: served.shedLoadTest,
      goals: (computed?.goals ?? []).map(goalEntry),
      changes: lastChanges(mine, o.changes),
    });
  }
  const load = engine.sensing.load();
  return {
    at, startedAt: engine.startedWall, configVersion: engine.configVersion, lastReload: reloadOf(engine), mode: reg.mode, goalSet: reg.goalSet, fastRecovery: reg.fastRecovery, tickAt: report?.at ?? null,
    process: {
      eventLoopUtilization: sampled(load.eventLoopUtilization), cpu: sampled(load.cpu), eventLoopDelayP99Ms: sampled(load.eventLoopDelayP99),
      goals: (report?.process ?? []).map(goalEntry),
    },
    scenes,
  };
}

/** The options with their defaults, checked (a wrong one throws UsageError naming it). */
type CheckedOptions = Required<Omit<StatusOptions, 'scenes'>> & Pick<StatusOptions, 'scenes'>;

export function checkOptions(options: StatusOptions, where: string, more: readonly string[] = []): CheckedOptions {
  if (!isPlainObject(options as unknown)) throw new UsageError(`${where}(engine, options): options must be an object, got ${shown(options)}`);
  refuseUnknownKeys(options as Record<string, unknown>, ['scenes', 'changes', 'curveS', ...more], `${where}: `);
  const { scenes, changes = 10, curveS = 600 } = options;
  if (scenes !== undefined && (!Array.isArray(scenes) || !scenes.every((s) => typeof s === 'string'))) throw new UsageError(`${where}: scenes: expected an array of scene ids, got ${shown(scenes)}`);
  if (!Number.isInteger(changes) || changes < 0 || changes > 1000) throw new UsageError(`${where}: changes: expected an integer 0–1000, got ${shown(changes)}`);
  if (typeof curveS !== 'number' || !(curveS >= 1 && curveS <= 86_400)) throw new UsageError(`${where}: curveS: expected seconds 1–86400, got ${shown(curveS)}`);
  return { scenes, changes, curveS };
}

function reloadOf(engine: Gearshift): EngineStatus['lastReload'] {
  const last = engine.lastReload;
  return last === null ? null : { at: last.at, from: last.diff.from, to: last.diff.to, diff: last.diff.toString() };
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function traffic(w: WindowStats | undefined): TrafficStatus {
  if (!w) return { requests: 0, rate: 0, timeoutRatio: null, errorRatio: null, p50Ms: null, p99Ms: null, shed: 0, rejected: 0 };
  const timed = w.rtCount > 0;
  return {
    requests: w.count, rate: w.rate, timeoutRatio: w.count > 0 ? w.timeoutRate : null, errorRatio: w.count > 0 ? w.errorRate : null,
    p50Ms: timed ? w.p50 : null, p99Ms: timed ? w.p99 : null, shed: w.shed, rejected: w.rejected,
  };
}

const goalEntry = (g: GoalReport): GoalStatusEntry => ({
  goal: g.goal, status: g.status, measured: orNull(g.measured), target: g.target, band: g.band, pressure: orNull(g.pressure),
});

const sampled = (s: SampleStats): number | null => (s.samples > 0 ? s.last : null);

/** The last `n` of a scene's changes, newest first. */
function lastChanges(mine: readonly GearChange[], n: number): ChangeEntry[] {
  const out: ChangeEntry[] = [];
  for (let i = mine.length - 1; i >= 0 && out.length < n; i--) {
    const c = mine[i]!;
    out.push({ at: c.at, point: c.point, from: c.from, to: c.to, reason: c.reason, ...(c.goal && { goal: c.goal }), applied: c.applied });
  }
  return out;
}
