/**
 * Validation: first the document's shape (types, bounds, unknown fields), then the rules that span fields
 * (a scene needs one base, split weights add up, whitelists point at real versions, layers don't fight over a param).
 * Every problem is reported with its path; nothing is half-applied.
 */
import { ConfigError, type ConfigIssue } from '../errors.js';
import { keysOf, readDocument } from './document.js';
import { configShape, type GearshiftConfig, type SceneConfig } from './schema.js';
import { join, unreadable } from './shape.js';
import { checkRegulate } from './validate-regulate.js';

export const BUCKETS = 10_000;

/** The documents validateConfig returned: what the parts that take a validated config accept without checking again. */
const VALIDATED = new WeakSet<object>();
export const isValidated = (config: unknown): config is GearshiftConfig => typeof config === 'object' && config !== null && VALIDATED.has(config);

/**
 * Returns a frozen copy of the document (document.ts: read once, whatever getters it has), typed, or throws
 * ConfigError listing every issue.
 */
export function validateConfig(doc: unknown): GearshiftConfig {
  const issues: ConfigIssue[] = [];
  let read: unknown;
  try {
    read = readDocument(doc);
    configShape.check(read, '', issues);
    if (issues.length === 0) crossCheck(read as GearshiftConfig, issues);
  } catch (e) {
    issues.push(unreadable(e, '')); // a field whose read throws (a getter, a Proxy) is refused at its path
  }
  if (issues.length > 0) throw new ConfigError(issues);
  VALIDATED.add(read as object);
  return read as GearshiftConfig;
}

/** A percentage must name a whole number of the 10,000 buckets. */
export const toBuckets = (percent: number): number => Math.round(percent * (BUCKETS / 100));
const isBucketExact = (percent: number): boolean => Math.abs(percent * (BUCKETS / 100) - toBuckets(percent)) < 1e-6;

/** `weights` pairs each weight with its own path; `path` is where a wrong total is reported. */
function checkWeights(weights: [string, number][], path: string, what: string, issues: ConfigIssue[]): void {
  let total = 0;
  for (const [at, w] of weights) {
    if (!isBucketExact(w)) issues.push({ path: at, message: `expected a percentage with at most 2 decimals (0.01% = one of ${BUCKETS} buckets), got ${w}` });
    total += toBuckets(w);
  }
  if (total !== BUCKETS) issues.push({ path, message: `${what} must add up to 100 (percent), got ${total / (BUCKETS / 100)}` });
}

function crossCheck(config: GearshiftConfig, issues: ConfigIssue[]): void {
  const sceneIds = new Set(Object.keys(config.scenes));
  if (Array.isArray(config.deployedHere)) {
    const seen = new Set<string>();
    config.deployedHere.forEach((id, i) => {
      const path = join('deployedHere', i);
      if (seen.has(id)) issues.push({ path, message: `duplicate scene id ${JSON.stringify(id)}` });
      else if (!sceneIds.has(id)) issues.push({ path, message: `scene ${JSON.stringify(id)} is deployed here but not configured in scenes` });
      seen.add(id);
    });
  }
  for (const [id, scene] of Object.entries(config.scenes)) checkScene(id, scene, join('scenes', id), issues);
  checkRegulate(config, issues);
}

function checkScene(id: string, scene: SceneConfig, path: string, issues: ConfigIssue[]): void {
  const versions = Object.entries(scene.versions);
  const byStage = (stage: string) => versions.filter(([, v]) => v.stage === stage).map(([n]) => n);
  const bases = byStage('base');
  if (bases.length !== 1) {
    issues.push({ path: join(path, 'versions'), message: bases.length === 0 ? 'a scene needs exactly one version with stage "base"' : `a scene has exactly one "base" version, got ${bases.join(', ')}` });
  }
  const lts = byStage('lt');
  if (lts.length > 1) issues.push({ path: join(path, 'versions'), message: `a scene has at most one "lt" (load-test) version, got ${lts.join(', ')}` });

  // Per pinned version, not per entry: a whitelist may hold a million units and pin them to a handful of versions.
  const wl = scene.whitelist ?? {};
  const pinTo = new Map<string, string | null>(); // version → what is wrong with pinning to it (null: nothing)
  for (const unit of keysOf(wl)) {
    const version = wl[unit]!;
    let wrong = pinTo.get(version);
    if (wrong === undefined) {
      const v = Object.hasOwn(scene.versions, version) ? scene.versions[version] : undefined;
      wrong = !v ? `pins to version ${JSON.stringify(version)}, which this scene does not have` : v.stage === 'lt' ? `pins to the load-test version ${JSON.stringify(version)}; lt is reached only by load-test traffic` : null;
      pinTo.set(version, wrong);
    }
    if (wrong !== null) issues.push({ path: join(join(path, 'whitelist'), unit), message: wrong });
  }

  if (scene.split) {
    const splitPath = join(path, 'split');
    const seen = new Set<string>();
    scene.split.forEach(({ version }, i) => {
      const at = join(join(splitPath, i), 'version');
      const v = Object.hasOwn(scene.versions, version) ? scene.versions[version] : undefined;
      if (seen.has(version)) issues.push({ path: at, message: `duplicate version ${JSON.stringify(version)} in the split` });
      else if (!v) issues.push({ path: at, message: `version ${JSON.stringify(version)} does not exist in this scene` });
      else if (v.stage !== 'base' && v.stage !== 'up') issues.push({ path: at, message: `only "base" and "up" versions take split traffic; ${version} is "${v.stage}"` });
      seen.add(version);
    });
    checkWeights(scene.split.map((e, i): [string, number] => [join(join(splitPath, i), 'weight'), e.weight]), splitPath, 'split weights', issues);
  }

  const seeds = new Map<string, string>([[scene.seed ?? id, join(path, 'seed')]]);
  const layerNames = new Set<string>();
  const paramOwners = new Map<string, { layer: string; versions: Set<string> | null }[]>();
  (scene.layers ?? []).forEach((layer, i) => {
    const lp = join(join(path, 'layers'), i);
    if (layerNames.has(layer.name)) issues.push({ path: join(lp, 'name'), message: `duplicate layer name ${JSON.stringify(layer.name)}` });
    layerNames.add(layer.name);
    const seed = layer.seed ?? `${scene.seed ?? id}/${layer.name}`;
    const clash = seeds.get(seed);
    if (clash) issues.push({ path: join(lp, 'seed'), message: `seed ${JSON.stringify(seed)} is also used at ${clash}; equal seeds make two partitions identical` });
    seeds.set(seed, join(lp, 'seed'));
    for (const [j, v] of (layer.versions ?? []).entries()) {
      if (!Object.hasOwn(scene.versions, v)) issues.push({ path: join(join(lp, 'versions'), j), message: `version ${JSON.stringify(v)} does not exist in this scene` });
    }
    const armNames = new Set<string>();
    layer.arms.forEach((arm, j) => {
      if (armNames.has(arm.name)) issues.push({ path: join(join(join(lp, 'arms'), j), 'name'), message: `duplicate arm name ${JSON.stringify(arm.name)}` });
      armNames.add(arm.name);
    });
    checkWeights(layer.arms.map((a, j): [string, number] => [join(join(join(lp, 'arms'), j), 'weight'), a.weight]), join(lp, 'arms'), 'arm weights', issues);

    const scope = layer.versions ? new Set(layer.versions) : null;
    const params = new Set(layer.arms.flatMap((a) => Object.keys(a.params ?? {})));
    for (const param of params) {
      const owners = paramOwners.get(param) ?? [];
      for (const other of owners) {
        const shared = scope === null ? (other.versions === null ? 'every version' : [...other.versions][0]) : other.versions === null ? [...scope][0] : [...scope].find((v) => other.versions!.has(v));
        if (shared) issues.push({ path: lp, message: `param ${JSON.stringify(param)} is also set by layer ${JSON.stringify(other.layer)} for ${shared === 'every version' ? shared : `version ${JSON.stringify(shared)}`}; one param has one owner per version` });
      }
      owners.push({ layer: layer.name, versions: scope });
      paramOwners.set(param, owners);
    }
  });
}
