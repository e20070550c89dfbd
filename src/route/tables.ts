/**
 * Compiles a validated config into the immutable tables the hot path reads: per scene the bucket ranges of the code
 * split and a whitelist hash table, and per layer the bucket ranges of its arms; per version a param index that says
 * which layer owns each param, with each arm's value precomputed. Nothing here runs per request.
 */
import type { GearshiftConfig, SceneConfig, Stage } from '../config/schema.js';
import { boxedValues } from '../config/boxed-values.js';
import { canonicalJson } from '../config/canonical-json.js';
import { isRead, keysOf, readDocument } from '../config/document.js';
import type { JsonValue } from '../config/shape.js';
import { toBuckets } from '../config/validate.js';
import { hash32, murmurUtf8 } from './hash.js';
import { BucketRanges } from './ranges.js';
import { chooseSceneKey, type SceneKey } from './scene-key.js';
import { StringTable } from './string-table.js';

export interface CompiledArm {
  readonly name: string;
  readonly index: number;
  readonly params: Readonly<Record<string, JsonValue>>;
}

export interface CompiledLayer {
  readonly name: string;
  readonly seed: string;
  /** saltOf(seed), kept as an int32 (see hash.ts) */
  readonly salt: number;
  /** bucket → arm index */
  readonly arm: BucketRanges;
  readonly arms: readonly CompiledArm[];
  /** The arm of a request without a unit id: the first with any buckets (an arm at 0% gets no traffic, none). */
  readonly noUnitArm: number;
}

/** Where a version reads a param from: a layer's arms (a value per arm) or, without a layer, the scene default. */
export interface ParamSource {
  readonly name: string;
  readonly layer: CompiledLayer | null;
  /** The value per arm of `layer` (the scene default where an arm sets none); without a layer, `[default]`. */
  readonly values: readonly (JsonValue | undefined)[];
}

export interface CompiledVersion {
  readonly name: string;
  readonly stage: Stage;
  readonly index: number;
  readonly scene: CompiledScene;
  readonly layers: readonly CompiledLayer[];
  /**
   * name length → the params of that length. A param read then compares one or two names, by pointer when the name
   * is a literal (V8 interns both), where a Map would hash: the Map look-up was 9% of the CPU samples of a routed
   * request that read two params.
   */
  readonly paramsByLength: readonly (readonly ParamSource[] | undefined)[];
}

export interface CompiledScene {
  readonly id: string;
  readonly index: number;
  readonly deployed: boolean;
  readonly seed: string;
  /** saltOf(seed), kept as an int32 (see hash.ts) */
  readonly salt: number;
  readonly rtBudgetMs: number;
  readonly versions: readonly CompiledVersion[];
  readonly byName: ReadonlyMap<string, CompiledVersion>;
  readonly base: CompiledVersion;
  readonly lt: CompiledVersion | null;
  /** bucket → version index */
  readonly split: BucketRanges;
  /** unit id → version index */
  readonly whitelist: StringTable;
  readonly layers: readonly CompiledLayer[];
}

export interface RouteTables {
  readonly configVersion: string;
  /** scene id → index in sceneList, probed with `sceneKey` */
  readonly scenes: StringTable;
  readonly sceneKey: SceneKey;
  readonly sceneList: readonly CompiledScene[];
  /** The document these tables were compiled from (deep-frozen copy). */
  readonly config: Readonly<GearshiftConfig>;
}


function compileLayer(sceneSeed: string, layer: NonNullable<SceneConfig['layers']>[number]): CompiledLayer {
  const seed = layer.seed ?? `${sceneSeed}/${layer.name}`;
  const arms = layer.arms.map((a, index) => ({ name: a.name, index, params: a.params ?? {} }));
  const buckets = layer.arms.map((a) => toBuckets(a.weight));
  const arm = new BucketRanges(buckets.map((n, index) => ({ owner: index, buckets: n })));
  return { name: layer.name, seed, salt: hash32(seed, 0), arm, arms, noUnitArm: buckets.findIndex((n) => n > 0) };
}

function compileScene(id: string, index: number, cfg: SceneConfig, deployed: boolean): CompiledScene {
  const seed = cfg.seed ?? id;
  const layerCfgs = cfg.layers ?? [];
  const layers = layerCfgs.map((l) => compileLayer(seed, l));
  const versions: CompiledVersion[] = [];
  const scene = { id, index, deployed, seed, salt: hash32(seed, 0), rtBudgetMs: cfg.rtBudgetMs ?? 200, versions, layers } as Omit<
    CompiledScene,
    'byName' | 'base' | 'lt' | 'split' | 'whitelist'
  > as CompiledScene;

  for (const [name, v] of Object.entries(cfg.versions)) {
    const applying = layers.filter((_, i) => !layerCfgs[i]!.versions || layerCfgs[i]!.versions!.includes(name));
    const params = new Map<string, ParamSource>();
    for (const [param, value] of Object.entries(cfg.params ?? {})) params.set(param, { name: param, layer: null, values: boxedValues([value]) });
    for (const layer of applying) {
      const names = new Set(layer.arms.flatMap((a) => Object.keys(a.params)));
      for (const param of names) {
        const fallback = cfg.params && Object.hasOwn(cfg.params, param) ? cfg.params[param] : undefined;
        const values = boxedValues(layer.arms.map((a) => (Object.hasOwn(a.params, param) ? a.params[param] : fallback)));
        params.set(param, { name: param, layer, values });
      }
    }
    const paramsByLength: ParamSource[][] = [];
    for (const src of params.values()) (paramsByLength[src.name.length] ??= []).push(src);
    versions.push({ name, stage: v.stage, index: versions.length, scene, layers: applying, paramsByLength: Array.from(paramsByLength) });
  }
  const byName = new Map(versions.map((v) => [v.name, v]));
  const base = versions.find((v) => v.stage === 'base')!;
  const shares = (cfg.split ?? []).filter((e) => e.version !== base.name);
  const split = new BucketRanges(shares.map((e) => ({ owner: byName.get(e.version)!.index, buckets: toBuckets(e.weight) })), base.index);
  const wl = cfg.whitelist ?? {};
  const whitelist = new StringTable(keysOf(wl), (unit) => byName.get(wl[unit]!)!.index, (unit) => hash32(unit, 0));
  return Object.assign(scene, { byName, base, lt: versions.find((v) => v.stage === 'lt') ?? null, split, whitelist });
}

/**
 * A stable label for a document without `version`: murmur3 (seed 0) of the UTF-8 of its canonical JSON as RFC 8785
 * (JCS) defines it (config/canonical-json.ts), so that any language with a JCS library can compute it.
 */
export function contentVersion(config: unknown): string {
  return `h${murmurUtf8(canonicalJson(config), 0).toString(16).padStart(8, '0')}`;
}


/** Whether this process hosts a scene of `config` (its `deployedHere`: a list, or `'*'` and missing for every scene). */
export function hostedHere(config: GearshiftConfig): (scene: string) => boolean {
  const here = config.deployedHere === undefined || config.deployedHere === '*' ? null : new Set(config.deployedHere);
  return (scene) => here === null || here.has(scene);
}

/** `config` must already be valid: validateConfig's result, a frozen copy read once (config/document.ts). */
export function compileTables(config: GearshiftConfig): RouteTables {
  const frozen = (isRead(config) ? config : readDocument(config)) as GearshiftConfig;
  const hosted = hostedHere(frozen);
  const sceneList = Object.entries(frozen.scenes).map(([id, cfg], i) => compileScene(id, i, cfg, hosted(id)));
  // Shallow freezes of the objects. Not of `versions`: an indexed read from a frozen array is a generic keyed
  // load in optimised code (measured: 6% of a whitelist hit). The arrays and typed tables are never handed out.
  for (const s of sceneList) {
    s.versions.forEach((v) => Object.freeze(v));
    Object.freeze(s);
  }
  const sceneKey = chooseSceneKey(sceneList.map((s) => s.id));
  return Object.freeze({
    configVersion: frozen.version ?? contentVersion(frozen),
    scenes: new StringTable(sceneList.map((s) => s.id), (_id, i) => sceneList[i]!.index, sceneKey),
    sceneKey,
    sceneList,
    config: frozen,
  });
}
