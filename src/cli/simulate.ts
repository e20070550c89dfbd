/**
 * `gearshift simulate`: a config's scene and regulator section run through the README's load shapes (a 2x step, a
 * 10x step, a sawtooth, a burst) in the simulator, beside no regulation and a reject-only shedder, at the scale the
 * command line gives (normal load, servers, time a request takes at full gear). It answers "what does this goal
 * change do under a peak" before the config ships.
 */
import type { GearSet, RegulatorConfig } from '../config/schema-regulate.js';
import type { GearshiftConfig } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { hostedHere } from '../route/tables.js';
import { CONTROLLERS } from '../simulate/controllers.js';
import { metricsOf } from '../simulate/metrics.js';
import { runScenario } from '../simulate/run.js';
import { loadShapes } from '../simulate/scenarios.js';
import { formatTable, row } from '../simulate/table.js';

/** The model's scale, as the command line gives it (checked there). */
export interface SimulateOptions {
  readonly scene: string | undefined;
  readonly rate: number;
  readonly servers: number;
  readonly baseMs: number;
  readonly shape: string | undefined;
  readonly json: boolean;
}

export const SHAPES = loadShapes(1).map((s) => s.id);

/** The scene to simulate: the one named, or the first deployed here that has points (else a UsageError). */
export function sceneToSimulate(config: GearshiftConfig, named: string | undefined): string {
  if (named !== undefined) {
    if (!Object.hasOwn(config.scenes, named)) throw new UsageError(`--scene: the config has no scene ${JSON.stringify(named)}`);
    return named;
  }
  const hosted = hostedHere(config);
  const id = Object.keys(config.scenes).find((s) => hosted(s) && Object.keys(config.scenes[s]!.points ?? {}).length > 0);
  if (id === undefined) throw new UsageError('no scene deployed here has points to regulate: name one with --scene');
  return id;
}

/** Runs the shapes; the tables as text, or the metrics as JSON. */
export function simulate(config: GearshiftConfig, scene: string, o: SimulateOptions): string {
  const shapes = loadShapes(o.rate).filter((s) => o.shape === undefined || s.id === o.shape);
  const capacity = (o.servers * 1000) / o.baseMs;
  const results = shapes.map(({ id, ...shape }) => {
    const scenario = { ...shape, scenes: [{ id: scene, baseMs: o.baseMs, config: config.scenes[scene]! }], servers: o.servers, ...(config.regulator && { regulator: regulatorFor(config.regulator, scene) }) };
    const runs = CONTROLLERS.map((kind) => ({ controller: kind, metrics: metricsOf(runScenario(scenario, kind), shape.disturbAt, shape.dropAt, shape.phases) }));
    return { id, shape, runs };
  });
  if (o.json) return `${JSON.stringify(results.map((r) => ({ shape: r.id, description: r.shape.description, runs: r.runs })), null, 2)}\n`;
  const head = `scene ${scene}: ${o.servers} server${o.servers === 1 ? '' : 's'}, ${o.baseMs} ms a request at full gear (capacity ${+capacity.toFixed(1)} req/s), normal load ${o.rate} req/s (utilisation ${(o.rate / capacity).toFixed(2)})`;
  return `${[head, ...results.map((r) => formatTable(`${r.shape.name}: ${r.shape.description}`, r.runs.map((x) => row(x.controller, x.metrics))))].join('\n\n')}\n`;
}

/**
 * The regulator section as a config of `scene` alone has it: the templates, schedules' caps and pins and goal sets
 * keep that scene's entries (a config refuses one naming a scene it lacks, and the simulation holds one scene).
 */
function regulatorFor(r: RegulatorConfig, scene: string): RegulatorConfig {
  const only = (set: GearSet): GearSet => (Object.hasOwn(set, scene) ? { [scene]: set[scene]! } : {});
  const each = <T>(record: Readonly<Record<string, T>>, f: (x: T) => T) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
  return {
    ...r,
    ...(r.templates && { templates: each(r.templates, only) }),
    ...(r.schedules && { schedules: r.schedules.map((rule) => ({ ...rule, ...(rule.caps && { caps: only(rule.caps) }), ...(rule.fixed && { fixed: only(rule.fixed) }) })) }),
    ...(r.goalSets && { goalSets: each(r.goalSets, (g) => ({ ...g, ...(g.scenes && { scenes: Object.hasOwn(g.scenes, scene) ? { [scene]: g.scenes[scene]! } : {} }) })) }),
  };
}
