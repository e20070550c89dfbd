// What the routing benchmarks measure, shared by bench/route.bench.mjs (time) and bench/route-icount.mjs
// (instructions): the router under test with its config, fresh request strings, and the peers (GrowthBook and
// Unleash) set up to evaluate the nearest equivalent, as one evaluation and as the same decision as ours.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { createGearshift, validateConfig } from '../dist/esm/index.js';
import { Router } from '../dist/esm/route/router.js';
import { compileTables } from '../dist/esm/route/tables.js';

const require = createRequire(import.meta.url);
export const BATCH = 1000;

// --- the router under test -----------------------------------------------------------------------------------
export const whitelist = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`vip-${i}`, 'wip']));
const scene = (n) => ({
  versions: { main: { stage: 'base' }, canary: { stage: 'up' }, refactor: { stage: 'up' }, wip: { stage: 'dev' } },
  whitelist: whitelist(n),
  split: [{ version: 'refactor', weight: 10 }, { version: 'canary', weight: 5 }, { version: 'main', weight: 85 }],
  params: { recallDepth: 400, scoreFloor: 0.25 },
  layers: [
    // scoreFloor is fractional: the allocation check reads it (not the timed tasks)
    { name: 'rank', arms: [{ name: 'small', weight: 50, params: { model: 'small', scoreFloor: 0.15 } }, { name: 'large', weight: 50, params: { model: 'large', scoreFloor: 0.35 } }] },
    { name: 'recall', arms: [{ name: 'shallow', weight: 30, params: { recallDepth: 200 } }, { name: 'deep', weight: 70, params: { recallDepth: 800 } }] },
  ],
});
// GEARSHIFT_BENCH_SMALL: route-icount.mjs routes only feed_main_page, and 100,000 whitelist entries in the heap make
// each full garbage collection a large, discrete cost that would land in one counted run and not the other.
const BIG = process.env.GEARSHIFT_BENCH_SMALL ? 10 : 100_000;
const config = { scenes: { feed_main_page: scene(10), feed_big_whitelist: scene(BIG) } };
// The router alone is what the routing budget is about; the engine adds the sensing clock stamp and live gears.
export const gs = new Router(compileTables(validateConfig(config)));
export const engine = createGearshift({ config });

// --- fresh request strings -----------------------------------------------------------------------------------
// Buffer#toString makes a new, never-hashed string each time, like an HTTP parser does.
const raw = Buffer.from('feed_main_pagefeed_big_whitelistuser-00000000000000000000vip-0000000000');
let serial = 0;
export function freshUnits(prefix, modulo, width) {
  const out = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const n = String(serial++ % modulo).padStart(width, '0');
    const b = Buffer.from(prefix + n);
    out[i] = b.toString('latin1');
  }
  return out;
}
export const freshScenes = (name) => Array.from({ length: BATCH }, () => raw.toString('latin1', 0, 0) + Buffer.from(name).toString('latin1'));

// --- peers: GrowthBook and Unleash, evaluating the nearest equivalent (whitelist, then a hashed split) ---------
const { GrowthBookClient } = await import('@growthbook/growthbook');
const wl = Object.keys(whitelist(10));
export const gb = new GrowthBookClient();
await gb.init({
  payload: {
    features: {
      'feed-version': {
        defaultValue: 'main',
        rules: [
          { condition: { id: { $in: wl } }, force: 'wip' },
          { key: 'feed-code', hashAttribute: 'id', variations: ['refactor', 'canary', 'main'], weights: [0.1, 0.05, 0.85] },
        ],
      },
      // The two layers of our scene as GrowthBook experiments: what a GrowthBook user evaluates to get the same
      // decision (a version and two layer params) is three features.
      'rank-model': { defaultValue: 'small', rules: [{ key: 'rank', hashAttribute: 'id', variations: ['small', 'large'], weights: [0.5, 0.5] }] },
      'recall-depth': { defaultValue: 400, rules: [{ key: 'recall', hashAttribute: 'id', variations: [200, 800], weights: [0.3, 0.7] }] },
    },
  },
});
const UnleashClient = require('unleash-client/lib/client.js').default;
const { defaultStrategies } = require('unleash-client/lib/strategy/index.js');
const toggle = {
  name: 'feed-canary',
  enabled: true,
  strategies: [
    { name: 'userWithId', parameters: { userIds: wl.join(',') }, constraints: [] },
    { name: 'flexibleRollout', parameters: { rollout: '5', stickiness: 'userId', groupId: 'feed-canary' }, constraints: [] },
  ],
};
const repo = Object.assign(new EventEmitter(), {
  getToggle: () => toggle, getToggles: () => [toggle], getTogglesWithSegmentData: () => [toggle], getSegment: () => undefined, stop() {}, start: async () => {},
});
export const unleash = new UnleashClient(repo, defaultStrategies);
// Unleash's userWithId strategy splits and scans its list per call, so its cost grows with the whitelist: also
// measure 100 ids (about the reference figure for Unleash "with a whitelist", ~9 µs) and 1,000 ids.
const unleashWith = (n) => {
  const t = { ...toggle, name: `feed-canary-${n}`, strategies: [{ ...toggle.strategies[0], parameters: { userIds: Object.keys(whitelist(n)).join(',') } }, toggle.strategies[1]] };
  const r = Object.assign(new EventEmitter(), { ...repo, getToggle: () => t, getToggles: () => [t], getTogglesWithSegmentData: () => [t] });
  return new UnleashClient(r, defaultStrategies);
};
// The same decision in Unleash: the version toggle, then one variant toggle per layer (100% rollout, sticky on the
// user id, variant weights out of 1,000 like our layers' arms).
const layerToggle = (name, arms) => ({
  name, enabled: true,
  strategies: [{ name: 'flexibleRollout', parameters: { rollout: '100', stickiness: 'userId', groupId: name }, constraints: [] }],
  variants: arms.map(([variant, weight]) => ({ name: variant, weight, weightType: 'variable', stickiness: 'userId' })),
});
const fullToggles = new Map([toggle, layerToggle('rank', [['small', 500], ['large', 500]]), layerToggle('recall', [['200', 300], ['800', 700]])].map((t) => [t.name, t]));
export const unleashFull = new UnleashClient(Object.assign(new EventEmitter(), {
  ...repo, getToggle: (name) => fullToggles.get(name), getToggles: () => [...fullToggles.values()], getTogglesWithSegmentData: () => [...fullToggles.values()],
}), defaultStrategies);
export const unleash100 = unleashWith(100);
export const unleashBig = unleashWith(1000);

// --- one decision per call, for counting instructions ----------------------------------------------------------
// route.bench.mjs writes its timed loops out instead (a call per decision would be in every timing); the count
// subtracts `noop`, the same loop and call with no work, so the call and the fresh strings cancel out.
/** The routing budget's baseline (route.bench.mjs): a fresh 25-character key that hits a 10,000-entry Map. */
export const baselineMap = new Map(Array.from({ length: 10_000 }, (_, i) => [`user-${String(i).padStart(20, '0')}`, i]));
export const decisions = {
  noop: () => 0,
  // The baseline's keys cycle through its Map's 10,000 (the others' through 1,000,000), so it has a noop of its own:
  // shorter numbers make the strings cheaper to build.
  'noop (baseline keys)': () => 0,
  'baseline: fresh-key Map.get': (_s, u) => baselineMap.get(u) ?? 0,
  'gearshift: split + 2 layers (2 params read)': (s, u) => {
    const d = gs.route(s, u);
    return d.param('recallDepth') + (d.param('model') === 'large' ? 1 : 0);
  },
  'gearshift: split only': (s, u) => gs.route(s, u).bucket,
  'GrowthBook: one evaluation': (_s, u) => gb.evalFeature('feed-version', { attributes: { id: u } }).value.length,
  'GrowthBook: the same decision': (_s, u) => {
    const ctx = { attributes: { id: u } };
    return gb.evalFeature('feed-version', ctx).value.length + gb.evalFeature('recall-depth', ctx).value + (gb.evalFeature('rank-model', ctx).value === 'large' ? 1 : 0);
  },
  'Unleash (10 ids): one evaluation': (_s, u) => (unleash.isEnabled('feed-canary', { userId: u }, () => false) ? 1 : 0),
  'Unleash (10 ids): the same decision': (_s, u) => {
    const ctx = { userId: u };
    return (unleashFull.isEnabled('feed-canary', ctx, () => false) ? 1 : 0) + Number(unleashFull.getVariant('recall', ctx).name) + (unleashFull.getVariant('rank', ctx).name === 'large' ? 1 : 0);
  },
};
