/**
 * What an operator hands the regulator at run time (a mode, caps, pins, a goal set, a snapshot) is checked here, in
 * full, before anything moves: the config's validation never sees it, and a half-applied command or snapshot would
 * leave the gears in a state nobody asked for. A bad value throws UsageError with the path of the bad field.
 */
import { types } from 'node:util';
import { readDocument } from '../config/document.js';
import { type GearSet, MODES, type RegulatorMode } from '../config/schema-regulate.js';
import { gearSetIssues } from '../config/validate-regulate.js';
import { type ConfigIssue, isPlainObject, shown, UsageError } from '../errors.js';
import { MAX_BACKOFF } from './boost.js';
import type { Point } from './points.js';
import { type RegulatorSnapshot, SNAPSHOT_VERSION } from './snapshot.js';


/**
 * What the caller handed in, copied and read once by the config's own reader (config/document.ts): the checks and the
 * change that follows see the same values, a getter that throws is a refused input (UsageError), not an error
 * half-way through a change, and a Map or class instance stays what it is, for the check to refuse by name
 * (`structuredClone`, used here first, turned a class instance into a plain object that passed). A Proxy at the top
 * is refused whole: it may answer each read differently, and an operator's command or snapshot is plain data.
 */
export function plainCopy(x: unknown, path: string): unknown {
  const refused = (why: string) => new UsageError(`${path}: could not be read as plain data (${why})`);
  if (types.isProxy(x)) throw refused('a Proxy');
  try {
    return readDocument(x);
  } catch (e) {
    throw refused(e instanceof Error ? e.message : String(e));
  }
}

export function checkMode(mode: unknown, path: string): asserts mode is RegulatorMode {
  if (!(MODES as readonly unknown[]).includes(mode)) throw new UsageError(`${path}: expected one of ${MODES.join(', ')}, got ${shown(mode)}`);
}

/** Caps or pins: scene → point → gear index, every scene and point known, every index on its point's ladder. */
export function checkGearSet(set: unknown, pointsOf: (scene: string) => readonly Point[] | undefined, path: string): asserts set is GearSet {
  const issues: ConfigIssue[] = [];
  gearSetIssues(set, (scene) => {
    const points = pointsOf(scene);
    return points && new Map(points.map((p) => [p.name, p.boostTop + 1]));
  }, path, issues);
  if (issues.length > 0) throw new UsageError(`${issues[0]!.path}: ${issues[0]!.message}`);
}

/** A duration in ms: finite and not negative. */
export function checkDuration(ms: unknown, path: string): asserts ms is number {
  if (typeof ms !== 'number' || !(ms >= 0 && ms < Infinity)) throw new UsageError(`${path}: expected a duration in ms ≥ 0, got ${shown(ms)}`);
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function checkIndexes(x: unknown, path: string): void {
  if (!isPlainObject(x)) throw new UsageError(`${path}: expected { point: gear index }, got ${shown(x)}`);
  for (const [k, v] of Object.entries(x)) if (!Number.isInteger(v)) throw new UsageError(`${path}.${k}: expected a gear index, got ${shown(v)}`);
}

/**
 * A snapshot's shape and values. Scenes, points and goal sets it names that the config no longer has are not errors:
 * a snapshot outlives config changes, and restore skips them.
 */
export function checkSnapshot(snap: unknown, path = 'restore'): asserts snap is RegulatorSnapshot {
  if (!isPlainObject(snap)) throw new UsageError(`${path}: expected a snapshot object, got ${shown(snap)}`);
  if (snap.version !== SNAPSHOT_VERSION) throw new UsageError(`${path}: snapshot version ${shown(snap.version)} is not ${SNAPSHOT_VERSION}`);
  if (!finite(snap.at)) throw new UsageError(`${path}.at: expected the wall-clock ms it was taken at, got ${shown(snap.at)}`);
  checkMode(snap.mode, `${path}.mode`);
  if (snap.goalSet !== null && typeof snap.goalSet !== 'string') throw new UsageError(`${path}.goalSet: expected a goal set name or null, got ${shown(snap.goalSet)}`);
  checkDuration(snap.fastRecoveryLeftMs, `${path}.fastRecoveryLeftMs`);
  if (!finite(snap.processAllowance) || snap.processAllowance < 0) throw new UsageError(`${path}.processAllowance: expected a number ≥ 0, got ${shown(snap.processAllowance)}`);
  if (!isPlainObject(snap.scenes)) throw new UsageError(`${path}.scenes: expected { scene: state }, got ${shown(snap.scenes)}`);
  for (const [id, s] of Object.entries(snap.scenes)) {
    const at = `${path}.scenes.${id}`;
    if (!isPlainObject(s)) throw new UsageError(`${at}: expected a scene state, got ${shown(s)}`);
    for (const k of ['gears', 'live', 'caps', 'pins'] as const) checkIndexes(s[k], `${at}.${k}`);
    if (!finite(s.allowance) || s.allowance < 0) throw new UsageError(`${at}.allowance: expected a number ≥ 0, got ${shown(s.allowance)}`);
    if (!finite(s.shedShare) || s.shedShare < 0 || s.shedShare > 1) throw new UsageError(`${at}.shedShare: expected a share 0–1, got ${shown(s.shedShare)}`);
    if (s.fastLeft !== undefined && typeof s.fastLeft !== 'boolean') throw new UsageError(`${at}.fastLeft: expected true or false, got ${shown(s.fastLeft)}`);
    for (const k of ['boosted', 'shedLoadTest'] as const) if (typeof s[k] !== 'boolean') throw new UsageError(`${at}.${k}: expected true or false, got ${shown(s[k])}`);
    const b = s.boostBackoff;
    if (b !== undefined && !(finite(b) && b >= 1 && b <= MAX_BACKOFF)) throw new UsageError(`${at}.boostBackoff: expected a number 1–${MAX_BACKOFF} (holds the next boost waits), got ${shown(b)}`);
    if (!isPlainObject(s.pressures)) throw new UsageError(`${at}.pressures: expected { goal: pressure }, got ${shown(s.pressures)}`);
    // A pressure is NaN before a goal's first measurement, and JSON writes NaN as null.
    for (const [k, v] of Object.entries(s.pressures)) if (v !== null && !finite(v) && !Number.isNaN(v)) throw new UsageError(`${at}.pressures.${k}: expected a number, got ${shown(v)}`);
  }
}
