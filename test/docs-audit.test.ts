/**
 * Documentation audit: README.md against the code. Every test here FAILS on the audited build (one per mismatch);
 * each names, in a comment, the README line (as `README:<line>` of the audited README) and the code location. When a
 * mismatch is fixed (code or README), its test should pass, or be deleted with the README change that settles it.
 *
 * The durable checks that must keep passing are in test/docs-options.test.ts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { formatChange } from '../src/config/diff.js';
import { configJsonSchema } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import { createGearshift } from '../src/engine.js';
import { ConfigError, GearshiftError, UsageError } from '../src/errors.js';
import { gearshift } from '../src/adapters/express.js';
import { createGateway } from '../src/adapters/gateway.js';
import { propagate } from '../src/adapters/propagate.js';
import { Regulator } from '../src/regulate/regulator.js';
import { saltOf, murmurUtf8 } from '../src/route/hash.js';
import { meanOf, SampleWindow } from '../src/sense/samples.js';
import { metricsOf } from '../src/simulate/metrics.js';
import { feedScene } from '../src/simulate/model.js';
import { runScenario } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { setup, sig } from './regulate-helpers.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const minimal = () => ({ scenes: { feed: { versions: { main: { stage: 'base' as const } }, points: { r: { gears: [1, 2, 3] } } } } });
const refused = (doc: unknown): boolean => {
  try {
    validateConfig(doc);
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return true;
  }
};
/** What `f` threw (or undefined). */
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('M1 validation: keys of nested JSON values are not checked for well-formed Unicode', () => {
  // README:146-147 (Validation rules): "strings (keys included) that are not well-formed Unicode" are refused.
  // Code: src/config/shape.ts:214, json()'s walk checks a nested object's values but never its keys (only record keys
  // go through str(), shape.ts:111). A top-level params key is refused; one level down it is accepted.
  it.each([
    ['a nested param key', (c: any) => (c.scenes.feed.params = { p: { 'a\ud800': 1 } })],
    ['a nested arm param key', (c: any) => (c.scenes.feed.layers = [{ name: 'L', arms: [{ name: 'a', weight: 100, params: { p: { '\udc00': 2 } } }] }])],
    ['a key inside a gear value', (c: any) => (c.scenes.feed.points = { r: { gears: [{ 'k\ud800': 1 }] } })],
  ])('refuses a lone surrogate in %s', (_what, mutate) => {
    const c: any = minimal();
    mutate(c);
    expect(refused(c)).toBe(true);
  });
});

describe('M2 validation: template, goal-set and zone names are accepted up to 256 characters', () => {
  // README:146-147 (Validation rules): "strings over their limit (names 128, ids 256, …)"; README:685 a rule's `name` ≤ 128.
  // Code: src/config/shape.ts:111 (a record's default key shape, str({ min: 1 }) = 256, shape.ts:19) is used for
  // regulator.templates (schema-regulate.ts:135), regulator.goalSets (:85) and both `zones` records (:40, :51), while
  // what refers to them is capped at 128: schedules[].template (:65), schedules[].goals (:68), regulator.zone (:82).
  // So a template, goal set or zone named with 129–256 characters is accepted and can never be referred to by config.
  const long = 'n'.repeat(129);
  it('refuses a goal set name over 128 characters', () => expect(refused({ ...minimal(), regulator: { goalSets: { [long]: {} } } })).toBe(true));
  it('refuses a template name over 128 characters', () => expect(refused({ ...minimal(), regulator: { templates: { [long]: { feed: { r: 0 } } } } })).toBe(true));
  it('refuses a zone name over 128 characters', () => {
    const c: any = minimal();
    c.scenes.feed.goals = { zones: { [long]: { p99RtMs: { target: 100 } } } };
    expect(refused(c)).toBe(true);
  });
  it('(what makes it unreachable: a schedule may not name it)', () => {
    const c = { ...minimal(), regulator: { goalSets: { [long]: {} }, schedules: [{ at: '10:00:00', goals: long }] } };
    expect(refused(c)).toBe(true); // passes: the reference is refused, the definition was not
  });
});

describe('M3 JSON Schema: zone and goal-set timeoutRate advertise a default the code does not apply', () => {
  // README:85-86 the JSON Schema "comes from the same source as the TypeScript types" (configJsonSchema());
  // README:722 `scenes.<id>.goals.zones.<zone>` default "none": per-zone overrides.
  // Code: src/config/schema-regulate.ts:30-38, `timeoutRate` carries the default { target: 0.01, band: 0.25 } and the
  // same field object is reused for sceneGoalSet (zones.*, goalSets.*.scenes.*). src/regulate/goals.ts:31-33 merges
  // a zone / goal set only where it names a goal: an absent timeoutRate inherits the scene's, not 0.01.
  const schema: any = configJsonSchema();
  const sceneGoals = schema.properties.scenes.additionalProperties.properties.goals.properties;
  const setScenes = schema.properties.regulator.properties.goalSets.additionalProperties.properties.scenes.additionalProperties.properties;
  it('the code: a zone without timeoutRate keeps the scene\'s (0.05), not 0.01', () => {
    const config = { scenes: { feed: { versions: { main: { stage: 'base' } }, points: { r: { gears: [1, 2] } }, goals: { timeoutRate: { target: 0.05 }, zones: { eu: { p99RtMs: { target: 100 } } } } } }, regulator: { zone: 'eu', goals: {} } };
    const r = new Regulator({ config: config as never, clock: new ManualClock() });
    expect(r.tick().scenes[0]!.goals.find((g) => g.goal === 'timeoutRate')!.target).toBe(0.05); // passes
    r.close();
  });
  it('the schema: scenes.*.goals.zones.*.timeoutRate has no default', () => expect(sceneGoals.zones.additionalProperties.properties.timeoutRate.default).toBeUndefined());
  it('the schema: regulator.goalSets.*.scenes.*.timeoutRate has no default', () => expect(setScenes.timeoutRate.default).toBeUndefined());
});

describe('M4 regulator.restore: the options argument and the snapshot\'s `at` are not checked', () => {
  // README:1334 (Errors): "Every error gearshift throws is a GearshiftError"; README:673 `restore(snapshot,
  // { silent = false })`; README:746-751 the run-time commands check their input in full: "a malformed snapshot throws
  // UsageError with the path of the bad field".
  // Code: src/regulate/regulator.ts:386/391 reads `o.silent` unchecked (null → TypeError);
  // src/regulate/operator-input.ts:62-83 checkSnapshot never looks at `at` (used at regulator.ts:395 for the replay).
  it('restore(snapshot, null) throws a UsageError, not a TypeError', () => {
    const h = setup();
    const snap = h.reg.snapshot();
    expect(thrown(() => h.reg.restore(snap, null as never))).toBeInstanceOf(UsageError);
  });
  it('restore of a snapshot whose `at` is not a time throws UsageError', () => {
    const h = setup();
    const snap = h.reg.snapshot();
    expect(thrown(() => h.reg.restore({ ...snap, at: 'yesterday' as never }))).toBeInstanceOf(UsageError);
  });
});

describe('M5 public functions that throw TypeError / RangeError instead of a GearshiftError', () => {
  // README:1334 (Errors): "Every error gearshift throws is a GearshiftError with a stable `code`"; README:1341 UsageError:
  // "an API called with an argument it cannot use".
  const engine = () => createGearshift({ config: minimal() });
  it.each<[string, () => unknown]>([
    // src/adapters/propagate.ts:101-102: the options are checked, the headers argument is not.
    ['propagate(decision, null)', () => { const e = engine(); try { return propagate(e.route('feed', 'u'), null as never); } finally { e.close(); } }],
    // src/route/hash.ts:146 / :53
    ['saltOf(null)', () => saltOf(null as never)],
    ['murmurUtf8(undefined, 0)', () => murmurUtf8(undefined as never, 0)],
    // src/config/diff.ts:72
    ['formatChange(null)', () => formatChange(null as never)],
    // src/sense/samples.ts:68 / :23
    ['meanOf(null)', () => meanOf(null as never)],
    ['new SampleWindow(-1)', () => new SampleWindow(-1)],
    // src/simulate/metrics.ts:61
    ['metricsOf(null, 0)', () => metricsOf(null as never, 0, undefined)],
  ])('%s', (_what, f) => {
    const e = thrown(f);
    expect(e, String(e)).toBeInstanceOf(GearshiftError);
  });
});

describe('M6 simulator: malformed scenario fields that run anyway', () => {
  // README:810-811 (The simulator): "A malformed field throws `UsageError` naming it; the scene configs are validated
  // like a config document (`ConfigError` with paths)."
  // Code: src/simulate/scenario.ts:37-60 checkScenario checks neither `description` nor duplicate scene ids; the scene
  // configs are validated only by the gearshift controller (src/simulate/controllers.ts:65), so with 'none' and
  // 'shedder' an invalid scene config runs; a `rate` that returns NaN ends in a TypeError inside run.ts.
  const scenario = (over: Partial<Record<keyof Scenario, unknown>> = {}): Scenario =>
    ({ name: 'x', description: 'd', scenes: [{ id: 'feed', baseMs: 20, config: feedScene('feed') }], servers: 2, durationS: 3, disturbAt: 1, rate: () => 10, ...over }) as Scenario;
  it('a non-string description throws UsageError', () => expect(thrown(() => runScenario(scenario({ description: 5 }), 'gearshift'))).toBeInstanceOf(UsageError));
  it.each(['none', 'shedder'] as const)('an invalid scene config throws ConfigError with controller %s', (kind) => {
    expect(thrown(() => runScenario(scenario({ scenes: [{ id: 'feed', baseMs: 20, config: { versions: {} } }] }), kind))).toBeInstanceOf(ConfigError);
  });
  it('two scenes with one id throw', () => {
    const s = { id: 'feed', baseMs: 20, config: feedScene('feed') };
    expect(thrown(() => runScenario(scenario({ scenes: [s, s] }), 'gearshift'))).toBeInstanceOf(GearshiftError);
  });
  it('a rate of NaN throws a GearshiftError, not a TypeError', () => expect(thrown(() => runScenario(scenario({ rate: () => NaN }), 'none'))).toBeInstanceOf(GearshiftError));
});

describe('M7 a Map or class instance in place of an options object is refused, but not by name', () => {
  // README:1341 (Errors, UsageError): "Where an object is expected (options, caps and pins, rejection overrides, a
  // snapshot), it must be a plain object: a `Map` or a class instance is refused by name (`got Map instance`)".
  // Code: src/engine.ts:39, src/adapters/core.ts:198 (every HTTP adapter's options) and :203 (hints),
  // src/adapters/gateway.ts:63, src/adapters/reject.ts:106/110/112 throw without naming what they got.
  const e = createGearshift({ config: minimal() });
  const M = new Map();
  it.each<[string, () => unknown]>([
    ['createGearshift(options)', () => createGearshift(M as never)],
    ['adapter options', () => gearshift(e, M as never)],
    ['adapter hints', () => gearshift(e, { hints: M as never })],
    ['createGateway options', () => createGateway(e, M as never)],
    ['rejection overrides', () => gearshift(e, { rejections: M as never })],
    ['a rejection spec', () => gearshift(e, { rejections: { shed: M as never } })],
    ['a rejection\'s headers', () => gearshift(e, { rejections: { shed: { headers: M as never } } })],
  ])('%s', (_what, f) => {
    const err = thrown(f) as Error;
    expect(err).toBeInstanceOf(UsageError); // passes: it is refused
    expect(err.message).toMatch(/Map instance/); // fails: not by name
  });
});

describe('M8 regulator events: payload fields emitted but not documented', () => {
  // README:755-760 (Events, history, state) names, per event: `change` (scene, point, from/to index and value, reason,
  // goal, measured, target, band, terms {status, pressure, error, p, i, d, delta}, allowance, applied, mode), `tick`
  // (per scene goals with status, allowance, gears, value and cost relative to the normal top, boost, shedding),
  // `mode` (README:667: "emits `mode` with the reason"), `rule` (README:685: the rule's `name` labels it).
  // Code: src/regulate/scene-loop.ts:336-340 (change: `at`; terms also `measured`, src/regulate/pid.ts:20-32),
  // src/regulate/regulator.ts:340 (tick: at, mode, fastRecovery, process, changes; per scene atTop, degraded),
  // :162 (mode: from, to, at), :292 (rule: index, at).
  // Each event's line in the README's list names its fields in backticks: every field emitted must be there.
  const events = README.slice(README.indexOf('### Events, history, state'), README.indexOf('Listeners are called inside the tick'));
  const lineOf = (event: string) => events.split('\n- ').find((l) => l.startsWith(`\`${event}\``) || l.includes(` \`${event}\`: `)) ?? '';
  const undocumented = (event: string, o: object) => Object.keys(o).filter((k) => !lineOf(event).includes(`\`${k}\``));
  it('every emitted field is documented', () => {
    const h = setup({ schedules: [{ at: '00:00:03', name: 'r', mode: 'auto' }] });
    const seen: Record<string, object> = {};
    h.reg.on('mode', (m) => (seen.mode = m));
    h.reg.on('rule', (r) => (seen.rule = r));
    h.reg.on('tick', (t) => (seen.tick = t));
    h.script.set('feed', sig(3)).set('tail', sig(0.5));
    for (let i = 0; i < 5; i++) h.tick();
    h.reg.setMode('frozen');
    const change = h.changes.find((c) => c.terms)!;
    const tick = seen.tick as { scenes: object[] };
    expect({
      change: undocumented('change', change),
      terms: undocumented('change', change.terms!),
      tick: undocumented('tick', tick),
      tickScene: undocumented('tick', tick.scenes[0]!),
      mode: undocumented('mode', seen.mode!),
      rule: undocumented('rule', seen.rule!),
    }).toEqual({ change: [], terms: [], tick: [], tickScene: [], mode: [], rule: [] });
  });
});

describe('M9 user-settable arguments whose defaults the README does not give', () => {
  // README:1321 (Exports) and :433 name `ManualClock` but never its constructor (start, wallStart) or advance/set;
  // code: src/clock.ts:63 `constructor(start = 0, wallStart = Date.UTC(2026, 0, 1))`, :73 advance, :77 set.
  it('ManualClock(start = 0, wallStart = 2026-01-01T00:00:00Z) is documented', () => expect(README).toMatch(/ManualClock\(\s*start/));
  // README:805-810 lists `loadTestShare(scene, t)`, `slowdown(scene, point, t)` and `phases` without defaults;
  // code: src/simulate/run.ts:93 (no loadTestShare: no load-test traffic, i.e. 0), :103/:105 (`?? 1`),
  // src/simulate/metrics.ts:61 and scenario.ts:25 (phases default [disturbAt, dropAt]).
  it('the scenario defaults of loadTestShare (0), slowdown (1) and phases ([disturbAt, dropAt]) are documented', () => {
    const sentence = README.slice(README.indexOf('- A scenario: `name`'), README.indexOf('- `runScenario(scenario, controller)`'));
    expect(sentence).toMatch(/`loadTestShare\(scene, t\)`[^,]*default/);
    expect(sentence).toMatch(/`slowdown\(scene, point, t\)`[^,]*default/);
    expect(sentence).toMatch(/`phases`[^,]*default/);
  });
  // README:815 `feedScene(id, { rtBudgetMs, priority })`; code: src/simulate/model.ts:46-48, id 'feed', rtBudgetMs 200.
  it('feedScene\'s defaults (id "feed", rtBudgetMs 200) are documented', () => expect(README).toMatch(/feedScene\(id = 'feed'|feedScene\([^)]*default/));
});
