import { describe, expect, it } from 'vitest';
import { configJsonSchema, type GearshiftConfig } from '../src/config/schema.js';
import { createGearshift } from '../src/engine.js';
import { validateConfig } from '../src/config/validate.js';
import { ConfigError, GearshiftError } from '../src/errors.js';
import { feedConfig } from './helpers.js';

/** Validates a mutated copy of the feed config and returns the issues as "path: message" lines. */
function issuesOf(mutate: (c: any) => void): string[] {
  const c: any = structuredClone(feedConfig());
  mutate(c);
  try {
    validateConfig(c);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(GearshiftError);
    expect((e as ConfigError).code).toBe('GEARSHIFT_CONFIG_INVALID');
    return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}

const expectIssue = (mutate: (c: any) => void, path: string, message: RegExp) => {
  const issues = issuesOf(mutate);
  expect(issues.some((i) => i.startsWith(`${path}: `) && message.test(i)), `got:\n${issues.join('\n')}`).toBe(true);
};

describe('config validation', () => {
  it('accepts the reference config', () => expect(issuesOf(() => {})).toEqual([]));

  it('refuses non-objects', () => {
    expect(() => validateConfig(null)).toThrowError(/\(root\): expected an object, got null/);
    expect(() => validateConfig('scenes')).toThrowError(ConfigError);
  });

  it('requires scenes', () => expectIssue((c) => delete c.scenes, 'scenes', /required field is missing/));
  it('refuses unknown fields (typos)', () => expectIssue((c) => (c.scenes.feed.rtBudget = 5), 'scenes.feed.rtBudget', /unknown field/));
  it('refuses a scene without base', () => expectIssue((c) => (c.scenes.search.versions = { v1: { stage: 'up' } }), 'scenes.search.versions', /exactly one version with stage "base"/));
  it('refuses two base versions', () => expectIssue((c) => (c.scenes.feed.versions.wip.stage = 'base'), 'scenes.feed.versions', /exactly one "base"/));
  it('refuses two lt versions', () => expectIssue((c) => (c.scenes.feed.versions.wip.stage = 'lt'), 'scenes.feed.versions', /at most one "lt"/));
  it('refuses an unknown stage', () => expectIssue((c) => (c.scenes.feed.versions.wip.stage = 'beta'), 'scenes.feed.versions.wip.stage', /expected one of "dev", "up", "base", "lt"/));

  it('refuses split weights that do not add up', () => expectIssue((c) => (c.scenes.feed.split[2].weight = 80), 'scenes.feed.split', /must add up to 100.*got 95/));
  it('refuses split weights finer than one bucket', () => expectIssue((c) => ((c.scenes.feed.split[1].weight = 5.005), (c.scenes.feed.split[2].weight = 84.995)), 'scenes.feed.split[1].weight', /at most 2 decimals/));
  it('refuses a split weight a thousandth of a percent off a bucket (not only halfway between two)', () =>
    expectIssue((c) => ((c.scenes.feed.split[1].weight = 5.001), (c.scenes.feed.split[2].weight = 84.999)), 'scenes.feed.split[1].weight', /at most 2 decimals/));
  it('refuses a split to a missing version', () => expectIssue((c) => (c.scenes.feed.split[0].version = 'ghost'), 'scenes.feed.split[0].version', /does not exist/));
  it('refuses a split to a dev version', () => expectIssue((c) => (c.scenes.feed.split[0].version = 'wip'), 'scenes.feed.split[0].version', /only "base" and "up".*"dev"/));
  it('refuses a split to an lt version', () => expectIssue((c) => (c.scenes.feed.split[0].version = 'soak'), 'scenes.feed.split[0].version', /"lt"/));
  it('refuses a version twice in the split', () => expectIssue((c) => (c.scenes.feed.split[1].version = 'refactor'), 'scenes.feed.split[1].version', /duplicate version/));
  it('refuses negative weights', () => expectIssue((c) => (c.scenes.feed.split[0].weight = -1), 'scenes.feed.split[0].weight', />= 0/));

  it('refuses a whitelist pin to a missing version', () => expectIssue((c) => (c.scenes.feed.whitelist.carol = 'ghost'), 'scenes.feed.whitelist.carol', /which this scene does not have/));
  it('refuses a whitelist pin to the lt version', () => expectIssue((c) => (c.scenes.feed.whitelist.carol = 'soak'), 'scenes.feed.whitelist.carol', /load-test version/));
  it('accepts a whitelist unit id of exactly 256 characters (the router routes ids up to 256)', () =>
    expect(issuesOf((c) => (c.scenes.feed.whitelist['u'.repeat(256)] = 'wip'))).toEqual([]));
  it('names the closer form for a wrong deployedHere string: "*", not "an array"', () =>
    expectIssue((c) => (c.deployedHere = 'everything'), 'deployedHere', /expected one of "\*", got "everything"/));
  it('refuses an oversized whitelist unit id', () => expectIssue((c) => (c.scenes.feed.whitelist['u'.repeat(300)] = 'wip'), `scenes.feed.whitelist.${'u'.repeat(300)}`, /key: expected at most 256 characters/));

  // Found by the propagation round trip in test/fuzz-route.test.ts: a config version with a lone surrogate made every
  // propagationHeaders() call throw (encodeURIComponent has no UTF-8 for it).
  it('refuses strings that are not well-formed Unicode (a lone surrogate), wherever they are', () => {
    expectIssue((c) => (c.version = 'v1-\ud800'), 'version', /well-formed Unicode/);
    expectIssue((c) => (c.scenes.feed.params = { model: 'x\udc00y' }), 'scenes.feed.params.model', /lone surrogate/);
    expectIssue((c) => (c.scenes.feed.whitelist['\ud83d'] = 'wip'), 'scenes.feed.whitelist["\\ud83d"]', /key: expected well-formed Unicode/);
    expect(issuesOf((c) => ((c.version = 'v1-\u{1F600}'), (c.scenes.feed.whitelist['\u{1F600}'] = 'wip')))).toEqual([]); // a pair is one character
  });

  it('refuses duplicate layer names', () => expectIssue((c) => (c.scenes.feed.layers[1].name = 'rank'), 'scenes.feed.layers[1].name', /duplicate layer name/));
  it('refuses duplicate arm names', () => expectIssue((c) => (c.scenes.feed.layers[0].arms[1].name = 'control'), 'scenes.feed.layers[0].arms[1].name', /duplicate arm name/));
  it('refuses arm weights that do not add up', () => expectIssue((c) => (c.scenes.feed.layers[1].arms[1].weight = 70), 'scenes.feed.layers[1].arms', /must add up to 100/));
  it('refuses a layer limited to a missing version', () => expectIssue((c) => (c.scenes.feed.layers[0].versions = ['ghost']), 'scenes.feed.layers[0].versions[0]', /does not exist/));
  it('refuses a param set by two layers for the same version', () =>
    expectIssue((c) => (c.scenes.feed.layers[1].arms[0].params = { model: 'x' }), 'scenes.feed.layers[1]', /param "model" is also set by layer "rank"/));
  it('allows the same param in two layers that apply to disjoint versions', () =>
    expect(issuesOf((c) => ((c.scenes.feed.layers[0].versions = ['main']), (c.scenes.feed.layers[1].versions = ['canary']), (c.scenes.feed.layers[1].arms[0].params = { model: 'x' })))).toEqual([]));
  it('refuses layer seeds equal to the split seed', () => expectIssue((c) => (c.scenes.feed.layers[0].seed = 'feed'), 'scenes.feed.layers[0].seed', /also used at scenes.feed.seed/));

  it('refuses non-finite numbers', () => {
    expectIssue((c) => (c.scenes.feed.rtBudgetMs = Number.NaN), 'scenes.feed.rtBudgetMs', /finite number/);
    expectIssue((c) => (c.scenes.feed.rtBudgetMs = Number.POSITIVE_INFINITY), 'scenes.feed.rtBudgetMs', /finite number/);
    expectIssue((c) => (c.scenes.feed.params.x = Number.NaN), 'scenes.feed.params.x', /finite number/);
  });
  it('refuses oversized strings', () => {
    expectIssue((c) => (c.version = 'v'.repeat(200)), 'version', /at most 128 characters/);
    expectIssue((c) => (c.scenes.feed.params.x = 'p'.repeat(5000)), 'scenes.feed.params.x', /at most 4096 characters/);
  });
  it('refuses bad names', () => expectIssue((c) => (c.scenes['bad name'] = c.scenes.search), 'scenes["bad name"]', /key: expected a string matching/));
  it('refuses prototype-polluting keys anywhere', () => {
    const doc = JSON.parse('{"scenes":{"feed":{"versions":{"v":{"stage":"base"}},"params":{"__proto__":{"polluted":true}}}}}');
    expect(() => validateConfig(doc)).toThrowError(/scenes.feed.params.__proto__: the key "__proto__" is not allowed/);
    expect(({} as any).polluted).toBeUndefined();
  });
  it('refuses params nested too deep', () => expectIssue((c) => (c.scenes.feed.params.deep = JSON.parse('['.repeat(12) + ']'.repeat(12))), 'scenes.feed.params.deep[0][0][0][0][0][0][0][0][0]', /nested at most 8 deep/));
  it('refuses deployedHere naming an unconfigured or repeated scene', () => {
    expectIssue((c) => (c.deployedHere = ['feed', 'ghost']), 'deployedHere[1]', /not configured/);
    expectIssue((c) => (c.deployedHere = ['feed', 'feed']), 'deployedHere[1]', /duplicate scene id/);
  });
  it('refuses a Map or a class instance where a record is read (its entries would be invisible)', () => {
    expectIssue((c) => (c.scenes.feed.whitelist = new Map([['carol', 'wip']])), 'scenes.feed.whitelist', /expected a plain object \{ … \}, got Map instance/);
    expectIssue((c) => (c.scenes = new Map(Object.entries(c.scenes))), 'scenes', /got Map instance/);
    expectIssue((c) => (c.scenes.feed.params.at = new Date(0)), 'scenes.feed.params.at', /got Date instance/);
    expect(issuesOf((c) => (c.scenes.feed.params.nested = Object.assign(Object.create(null), { a: [1, { b: 'x' }] })))).toEqual([]);
  });
  it('refuses holes and oversized arrays in params', () => {
    expectIssue((c) => (c.scenes.feed.params.ids = [1, , 3]), 'scenes.feed.params.ids[1]', /expected a JSON value, got undefined/);
    expectIssue((c) => (c.scenes.feed.params.ids = new Array(100_001).fill(0)), 'scenes.feed.params.ids', /at most 100000 items/);
  });
  it('refuses a document that throws when read, as a ConfigError at the field that threw', () =>
    expectIssue((c) => Object.defineProperty(c.scenes.feed, 'params', { enumerable: true, get: () => { throw new Error('boom'); } }), 'scenes.feed.params', /could not be read: boom/));
  it('reads the document once, into a frozen copy: what was checked is what runs, and later edits reach nothing', () => {
    const doc: any = structuredClone(feedConfig());
    let reads = 0;
    Object.defineProperty(doc.scenes.feed, 'rtBudgetMs', { enumerable: true, get: () => (reads++ === 0 ? 150 : -1) });
    const read = validateConfig(doc);
    expect(read.scenes.feed!.rtBudgetMs).toBe(150);
    expect(reads).toBe(1);
    expect(Object.isFrozen(read.scenes.feed!.whitelist)).toBe(true);
    doc.scenes.feed.whitelist.mallory = 'wip';
    expect(read.scenes.feed!.whitelist!.mallory).toBeUndefined();
  });
  it('names the bound a value breaks: lengths, counts, integers', () => {
    expectIssue((c) => (c.scenes.feed.whitelist[''] = 'wip'), 'scenes.feed.whitelist[""]', /key: expected at least 1 character$/);
    expectIssue((c) => (c.scenes.feed.points = { a: { gears: [1, 2], boost: 0.5 } }), 'scenes.feed.points.a.boost', /expected an integer, got 0.5/);
    expectIssue((c) => (c.scenes.feed.points = { a: { gears: [] } }), 'scenes.feed.points.a.gears', /expected at least 1 item$/);
    expectIssue((c) => (c.scenes.feed.points = { a: { gears: new Array(65).fill(1) } }), 'scenes.feed.points.a.gears', /expected at most 64 items, got 65/);
    expectIssue((c) => (c.regulator = { goals: { zones: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`z${i}`, {}])) } }), 'regulator.goals.zones', /expected at most 100 entries, got 101/);
  });
  it('reports every issue at once, each with its path', () => {
    const issues = issuesOf((c) => {
      c.scenes.feed.split[2].weight = 1;
      c.scenes.feed.whitelist.carol = 'ghost';
    });
    expect(issues.length).toBeGreaterThanOrEqual(2);
  });
});

describe('the config type', () => {
  it('checks a config written in TypeScript: `as const` and `satisfies` accepted, a misspelt field refused when compiling', () => {
    const asConst = { scenes: { s: { versions: { v: { stage: 'base' } }, split: [{ version: 'v', weight: 100 }] } } } as const;
    const viaSatisfies = { scenes: { s: { versions: { v: { stage: 'base' } } } } } satisfies GearshiftConfig;
    // @ts-expect-error rtBudgetMS is not a field (rtBudgetMs is)
    const typo: GearshiftConfig = { scenes: { s: { rtBudgetMS: 200, versions: { v: { stage: 'base' } } } } };
    // @ts-expect-error 'bse' is not a stage
    const badStage: GearshiftConfig = { scenes: { s: { versions: { v: { stage: 'bse' } } } } };
    const readonlyArrays: GearshiftConfig = asConst; // the config type's arrays are readonly
    for (const config of [readonlyArrays, viaSatisfies]) createGearshift({ config }).close();
    // @ts-expect-error createGearshift takes a GearshiftConfig, not anything
    expect(() => createGearshift({ config: { scenes: 42 } })).toThrow(ConfigError);
    for (const config of [typo, badStage]) expect(() => createGearshift({ config })).toThrow(ConfigError);
    // a document from elsewhere is `any` (JSON.parse) or goes through validateConfig first (`unknown`)
    const fromJson: unknown = JSON.parse('{"scenes":{"s":{"versions":{"v":{"stage":"base"}}}}}');
    createGearshift({ config: validateConfig(fromJson) }).close();
  });
});

describe('JSON Schema', () => {
  it('is derived from the same shapes and describes defaults', () => {
    const schema = configJsonSchema() as any;
    const scene = schema.properties.scenes.additionalProperties;
    expect(schema.required).toEqual(['scenes']);
    expect(scene.properties.rtBudgetMs).toMatchObject({ type: 'number', default: 200 });
    expect(scene.properties.versions.additionalProperties.properties.stage.enum).toEqual(['dev', 'up', 'base', 'lt']);
    expect(scene.additionalProperties).toBe(false);
    expect(JSON.parse(JSON.stringify(schema))).toBeTruthy();
  });
});
