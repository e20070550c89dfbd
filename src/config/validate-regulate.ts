/**
 * Cross-field rules of the regulator's config: gear arrays agree in length and order, templates and schedules name
 * real scenes, points and gears, times and the time zone parse. Shape errors are caught before this runs.
 */
import { type ConfigIssue, isPlainObject, shown } from '../errors.js';
import type { GearSet, PointConfig, ProcessGoalsConfig, RegulatorConfig } from './schema-regulate.js';
import type { GearshiftConfig } from './schema.js';
import { isTimeZone, parseAbsolute, parseDaily } from './time-of-day.js';
import { join } from './shape.js';

function checkPoint(p: PointConfig, path: string, issues: ConfigIssue[]): void {
  const n = p.gears.length;
  for (const key of ['cost', 'value'] as const) {
    const xs = p[key];
    if (!xs) continue;
    if (xs.length !== n) issues.push({ path: join(path, key), message: `expected ${n} entries (one per gear), got ${xs.length}` });
    else if (xs.some((x, i) => i > 0 && x < xs[i - 1]!)) issues.push({ path: join(path, key), message: `must not decrease from one gear to the next (gear 0 is the cheapest)` });
  }
  const boost = p.boost ?? 0;
  if (boost >= n) return void issues.push({ path: join(path, 'boost'), message: `at most ${n - 1} of the ${n} gears can be boost gears` });
  const top = n - 1 - boost;
  const floor = p.floor ?? 0;
  if (floor > top) issues.push({ path: join(path, 'floor'), message: `floor ${floor} is above the normal top gear ${top}` });
  if (p.default !== undefined && p.default > top) issues.push({ path: join(path, 'default'), message: `default ${p.default} is above the normal top gear ${top}` });
  else if (p.default !== undefined && p.default < floor) issues.push({ path: join(path, 'default'), message: `default ${p.default} is below the floor ${floor}` });
}

/**
 * A gear set (caps, pins, a template): every scene and point known, every gear on its point's ladder. `gearCounts`
 * gives a scene's points with their number of gears, or undefined for a scene that does not exist. The config's
 * validation and the regulator's run-time commands (`setCaps`, `setFixed`) both use it, so they agree on the rule
 * and on its words; the shape checks only ever fire at run time, where no schema has looked at the value first.
 */
export function gearSetIssues(set: unknown, gearCounts: (scene: string) => ReadonlyMap<string, number> | undefined, path: string, issues: ConfigIssue[]): void {
  if (!isPlainObject(set)) return void issues.push({ path, message: `expected { scene: { point: gear index } }, got ${shown(set)}` });
  for (const [scene, points] of Object.entries(set)) {
    const at = join(path, scene);
    const counts = gearCounts(scene);
    if (counts === undefined) { issues.push({ path: at, message: `unknown scene ${JSON.stringify(scene)}` }); continue; }
    if (!isPlainObject(points)) { issues.push({ path: at, message: `expected { point: gear index }, got ${shown(points)}` }); continue; }
    for (const [point, gear] of Object.entries(points)) {
      const n = counts.get(point);
      if (n === undefined) issues.push({ path: join(at, point), message: `unknown point ${JSON.stringify(point)} (the scene has ${[...counts.keys()].join(', ') || 'none'})` });
      else if (!Number.isInteger(gear) || (gear as number) < 0 || (gear as number) >= n) issues.push({ path: join(at, point), message: `expected a gear index 0–${n - 1}, got ${shown(gear)}` });
    }
  }
}

function checkGearSet(set: GearSet, config: GearshiftConfig, path: string, issues: ConfigIssue[]): void {
  gearSetIssues(set, (scene) => (Object.hasOwn(config.scenes, scene) ? new Map(Object.entries(config.scenes[scene]!.points ?? {}).map(([name, p]) => [name, p.gears.length])) : undefined), path, issues);
}

/**
 * Whether any process goal the config can put in force (the goals, any zone's, any goal set's) is of this kind: what
 * sensing must sample for it. Zones and goal sets count whether active or not, so a schedule's switch finds it
 * sampled. Without `regulator.goals` the default holds utilisation only.
 */
export function namesProcessGoal(reg: RegulatorConfig | undefined, kind: Exclude<keyof ProcessGoalsConfig, 'zones'>): boolean {
  const goals = reg?.goals;
  if (goals?.[kind] || Object.values(goals?.zones ?? {}).some((z) => z[kind])) return true;
  return Object.values(reg?.goalSets ?? {}).some((set) => set.process?.[kind]);
}

/** A process goal the config names must have its measurement: sampling switched off would leave it idle silently. */
function checkProcessGoalsMeasured(config: GearshiftConfig, issues: ConfigIssue[]): void {
  const p = config.sense?.process;
  const named = (['eventLoopDelayMs', 'elu', 'cpu'] as const).filter((kind) => namesProcessGoal(config.regulator, kind));
  if (p?.enabled === false && named.length > 0) {
    issues.push({ path: 'sense.process.enabled', message: `false leaves the regulator's ${named.join(', ')} goal without a measurement: sample process load or drop the goal` });
  } else if (p?.eventLoopDelay?.sample === 'never' && named.includes('eventLoopDelayMs')) {
    issues.push({ path: 'sense.process.eventLoopDelay.sample', message: `'never' leaves the regulator's eventLoopDelayMs goal without a measurement: use 'auto' or drop the goal` });
  }
}

export function checkRegulate(config: GearshiftConfig, issues: ConfigIssue[]): void {
  for (const [id, scene] of Object.entries(config.scenes)) {
    for (const [name, p] of Object.entries(scene.points ?? {})) checkPoint(p, join(join(join('scenes', id), 'points'), name), issues);
  }
  const r = config.regulator;
  checkProcessGoalsMeasured(config, issues);
  if (!r) return;
  const tz = r.timeZone ?? 'UTC';
  if (!isTimeZone(tz)) issues.push({ path: 'regulator.timeZone', message: `unknown IANA time zone ${JSON.stringify(tz)}` });
  const templates = r.templates ?? {};
  for (const [name, set] of Object.entries(templates)) checkGearSet(set, config, join('regulator.templates', name), issues);
  for (const [name, set] of Object.entries(r.goalSets ?? {})) {
    for (const scene of Object.keys(set.scenes ?? {})) {
      if (!Object.hasOwn(config.scenes, scene)) issues.push({ path: join(join(join('regulator.goalSets', name), 'scenes'), scene), message: `unknown scene ${JSON.stringify(scene)}` });
    }
  }
  (r.schedules ?? []).forEach((rule, i) => {
    const path = join('regulator.schedules', i);
    if (parseDaily(rule.at) === undefined && (!isTimeZone(tz) || parseAbsolute(rule.at, tz) === undefined)) {
      issues.push({ path: join(path, 'at'), message: `expected "HH:MM:SS" (daily) or "YYYY-MM-DDTHH:MM:SS" with optional Z/±HH:MM (once), got ${JSON.stringify(rule.at)}` });
    }
    if (rule.template !== undefined && !Object.hasOwn(templates, rule.template)) issues.push({ path: join(path, 'template'), message: `unknown template ${JSON.stringify(rule.template)}` });
    if (rule.goals !== undefined && rule.goals !== 'default' && !Object.hasOwn(r.goalSets ?? {}, rule.goals)) issues.push({ path: join(path, 'goals'), message: `unknown goal set ${JSON.stringify(rule.goals)}` });
    if (rule.caps) checkGearSet(rule.caps, config, join(path, 'caps'), issues);
    if (rule.fixed) checkGearSet(rule.fixed, config, join(path, 'fixed'), issues);
    const acts = ['template', 'caps', 'fixed', 'goals', 'mode', 'fastRecovery'] as const;
    if (!acts.some((k) => rule[k] !== undefined)) issues.push({ path, message: `a rule must do something: one of ${acts.join(', ')}` });
  });
}
