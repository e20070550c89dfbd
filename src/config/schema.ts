/**
 * The config document: one declarative source for scenes, versions, whitelists, the code-experiment split and the
 * business-experiment layers. The TypeScript types below and the published JSON Schema are both derived from it.
 */
import { pointsShape, regulatorShape, sceneGoalsShape } from './schema-regulate.js';
import { senseShape } from './schema-sense.js';
import { anyOf, arr, type Infer, json, num, obj, oneOf, opt, rec, req, str } from './shape.js';

/** Names of scenes, versions, layers and arms: readable, safe in headers and metric labels. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const name = (description: string) => str({ min: 1, max: 128, pattern: NAME, description });
/** A percentage with 0.01 resolution: one of the 10,000 buckets. */
const percent = (description: string) => num({ min: 0, max: 100, description });

export const STAGES = ['dev', 'up', 'base', 'lt'] as const;
export type Stage = (typeof STAGES)[number];

const versionShape = obj(
  {
    stage: req(oneOf(STAGES, 'dev: reached only by explicit version or whitelist; up: canary/experiment share of the split; base: the rest; lt: load-test traffic only')),
    description: opt(str({ max: 1024 })),
  },
  'one code version of the scene that is online now',
);

const splitEntryShape = obj({
  version: req(name('a base or up version of this scene')),
  weight: req(percent('percent of units with 0.01 resolution; non-base entries take buckets from 0 upward in array order, base the rest')),
});

const armShape = obj({
  name: req(name('arm name, unique within its layer')),
  weight: req(percent('share of units, in percent with 0.01 resolution; the arms of a layer add up to 100')),
  params: opt(rec(json(), { max: 1000 }), {}, 'params this arm sets'),
});

const layerShape = obj({
  name: req(name('layer name, unique within the scene')),
  seed: opt(str({ min: 1 }), undefined, 'hash seed; default `<scene seed>/<layer name>`'),
  versions: opt(arr(name('version name'), { min: 1, max: 1000 }), undefined, 'versions this layer applies to; default all'),
  arms: req(arr(armShape, { min: 1, max: 1000 })),
});

const sceneShape = obj({
  rtBudgetMs: opt(num({ min: 1, max: 600_000 }), 200, 'front-end RT budget (ms): responses slower than this count as timeouts'),
  seed: opt(str({ min: 1 }), undefined, 'hash seed of the code-experiment split; default the scene id'),
  versions: req(rec(versionShape, { key: name('version name'), max: 1000 })),
  whitelist: opt(rec(name('version name'), { key: str({ min: 1, max: 256 }), max: 1_000_000 }), {}, 'unit id → version it is pinned to'),
  split: opt(arr(splitEntryShape, { min: 1, max: 1000 }), undefined, 'code-experiment split (base and up versions, adding up to 100); default 100% base'),
  params: opt(rec(json(), { max: 1000 }), {}, 'scene-wide param defaults, overridden by layer arms'),
  layers: opt(arr(layerShape, { max: 100 }), [], 'business-experiment layers, each an independent hash partition'),
  points: opt(pointsShape, undefined, 'regulation points: name → gears'),
  goals: opt(sceneGoalsShape, undefined, 'goals the regulator holds for this scene'),
  priority: opt(oneOf(['low', 'normal', 'high'] as const), 'normal', 'the order in which process goals degrade scenes (every gear of low-priority scenes first, high-priority last) and the shedding order when every gear is at its floor: load-test traffic first, then low-priority scenes'),
});

export const configShape = obj({
  version: opt(str({ min: 1, max: 128 }), undefined, 'label of this config version; default a hash of the document'),
  deployedHere: opt(anyOf(oneOf(['*'] as const), arr(name('scene id'), { max: 100_000 })), '*', 'scenes this process hosts; traffic for others is refused'),
  scenes: req(rec(sceneShape, { key: name('scene id'), max: 100_000 })),
  sense: opt(senseShape, undefined, 'rolling windows and process-load sampling'),
  regulator: opt(regulatorShape, undefined, 'the gear regulator'),
});

export type GearshiftConfig = Infer<typeof configShape>;
export type SceneConfig = Infer<typeof sceneShape>;
export type LayerConfig = Infer<typeof layerShape>;
export type ArmConfig = Infer<typeof armShape>;
export type SplitEntry = Infer<typeof splitEntryShape>;
export type VersionConfig = Infer<typeof versionShape>;

/** The JSON Schema of the config document, for editors and config review. */
export function configJsonSchema(): Record<string, unknown> {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'gearshift config', ...configShape.schema() };
}
