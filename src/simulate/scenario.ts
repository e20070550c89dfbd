/** What one simulated run is: scenes, servers, the offered load over time, disturbances, and where to measure. */
import type { RegulatorConfig } from '../config/schema-regulate.js';
import { isPlainObject, shown, UsageError } from '../errors.js';
import { CONTROLLERS, type ControllerKind } from './controllers.js';
import { checkMarks } from './marks.js';
import type { SimScene } from './model.js';
import { checkStalls, type Stall } from './stalls.js';

/** More servers than any one process runs; the cap keeps a typo from exhausting memory. */
const MAX_SERVERS = 100_000;

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly scenes: readonly SimScene[];
  readonly servers: number;
  readonly durationS: number;
  /** Offered load (requests/s) of a scene at time t (s): open loop, whatever the service does. */
  rate(scene: string, t: number): number;
  /** Share of a scene's traffic that is trusted load-test traffic (default 0). */
  loadTestShare?(scene: string, t: number): number;
  /** Service-time multiplier of one stage (point) at time t (a slow dependency); default 1. */
  slowdown?(scene: string, point: string, t: number): number;
  readonly regulator?: RegulatorConfig;
  /** Wall-clock start (epoch ms) for schedules; default 2026-01-01T00:00:00Z. */
  readonly startWall?: number;
  /** When the disturbance starts and (if it does) ends, in s: the metrics measure from and to these. */
  readonly disturbAt: number;
  readonly dropAt?: number;
  /** Phases (start s) for the oscillation check of load patterns; default [disturbAt, dropAt]. */
  readonly phases?: readonly number[];
  /** Log-normal shape of service-time noise (default 0.5). */
  readonly noise?: number;
  readonly seed?: number;
  /** Stalls of the whole process (a GC pause, a synchronous call): every server stops for `ms` from `atS` s. */
  readonly stalls?: readonly Stall[];
}

/**
 * A scenario made by hand is checked before it runs, each field named: a wrong one would otherwise surface as a
 * TypeError from deep inside the event loop of the simulation. The scenes' configs are checked by the controller
 * (`validateConfig`), with their paths.
 */
export function checkScenario(sc: unknown, kind: unknown): asserts sc is Scenario {
  if (!CONTROLLERS.includes(kind as ControllerKind)) throw new UsageError(`runScenario: controller: expected one of ${CONTROLLERS.join(', ')}, got ${shown(kind)}`);
  if (!isPlainObject(sc)) throw new UsageError(`runScenario(scenario): expected a Scenario object, got ${shown(sc)}`);
  const s = sc as Record<string, unknown>;
  const fail = (field: string, expected: string): never => {
    throw new UsageError(`runScenario: scenario.${field}: expected ${expected}, got ${shown(s[field])}`);
  };
  if (typeof s.name !== 'string') fail('name', 'a string');
  if (s.description !== undefined && typeof s.description !== 'string') fail('description', 'a string');
  if (!Array.isArray(s.scenes) || s.scenes.length === 0) fail('scenes', 'a non-empty array of { id, baseMs, config }');
  const ids = new Set<string>();
  (s.scenes as unknown[]).forEach((scene, i) => {
    const x = scene as Record<string, unknown> | null;
    if (!isPlainObject(x) || typeof x.id !== 'string' || !(typeof x.baseMs === 'number' && x.baseMs > 0 && x.baseMs < Infinity) || !isPlainObject(x.config)) {
      fail(`scenes[${i}]`, '{ id: string, baseMs: ms > 0, config: a scene config }');
    }
    if (ids.has(x!.id as string)) throw new UsageError(`runScenario: scenario.scenes[${i}].id: ${shown(x!.id)} is already the id of another scene`);
    ids.add(x!.id as string);
  });
  // Each server is a heap entry: 1e9 of them was a fatal, uncatchable V8 "invalid size" crash of the whole process.
  if (!Number.isInteger(s.servers) || (s.servers as number) < 1) fail('servers', 'an integer ≥ 1');
  if ((s.servers as number) > MAX_SERVERS) fail('servers', `at most ${MAX_SERVERS.toLocaleString('en')}`);
  if (!Number.isInteger(s.durationS) || (s.durationS as number) < 1 || (s.durationS as number) > 86_400) fail('durationS', 'whole seconds, 1–86,400');
  if (typeof s.rate !== 'function') fail('rate', 'a function (scene, t) → requests/s');
  for (const f of ['loadTestShare', 'slowdown'] as const) if (s[f] !== undefined && typeof s[f] !== 'function') fail(f, 'a function');
  checkStalls(s.stalls, s.durationS as number);
  checkMarks({ disturbAt: s.disturbAt, dropAt: s.dropAt, phases: s.phases }, s.durationS as number, (field) => `runScenario: scenario.${field}`);
  if (s.noise !== undefined && !(typeof s.noise === 'number' && s.noise >= 0 && s.noise < 10)) fail('noise', 'a log-normal σ, 0 ≤ σ < 10');
  if (s.seed !== undefined && !Number.isSafeInteger(s.seed)) fail('seed', 'a safe integer');
  // The schedules read the wall clock as a Date: past its range they threw "Invalid time value", naming no field.
  if (s.startWall !== undefined && !(typeof s.startWall === 'number' && Math.abs(s.startWall) <= 8.64e15)) fail('startWall', 'epoch ms within the Date range (±8.64e15)');
}
