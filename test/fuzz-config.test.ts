/**
 * Seeded mutations of a config that uses every section (routing, points, goals, zones, goal sets, templates,
 * schedules, sense), given to a running engine's `reload`. Whatever the mutation (a field set to a hostile value,
 * removed, renamed, duplicated, nudged, or swapped with another field's value):
 * - the reload either succeeds or throws `ConfigError`, never another error;
 * - a refusal names paths, one of them at or around the field that was changed, and the engine keeps serving the
 *   config it had, with the same decisions;
 * - an accepted config routes every scene, and the original reloads on top of it.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { createGearshift } from '../src/engine.js';
import { ManualClock } from '../src/clock.js';
import type { Decision } from '../src/route/decision.js';
import { FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';
import { type Mutation, mutateOnce, type Node } from './fuzz-mutate.js';
import type { GearshiftConfig } from '../src/config/schema.js';

const base = (): GearshiftConfig => ({
  version: 'base-1',
  deployedHere: ['feed', 'fund'],
  scenes: {
    feed: {
      rtBudgetMs: 200,
      seed: 'feed-seed',
      versions: { main: { stage: 'base', description: 'the base' }, canary: { stage: 'up' }, wip: { stage: 'dev' }, soak: { stage: 'lt' } },
      whitelist: { alice: 'wip', bob: 'canary' },
      split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }],
      params: { depth: 400, model: 'small', flags: { a: [1, 2, 3] } },
      layers: [
        { name: 'rank', arms: [{ name: 'control', weight: 50 }, { name: 'v2', weight: 50, params: { model: 'large' } }] },
        { name: 'ui', seed: 'ui-seed', versions: ['main'], arms: [{ name: 'x', weight: 100, params: { depth: 7 } }] },
      ],
      points: {
        recall: { gears: [200, 400, 800, 1600], cost: [1, 2, 4, 8], value: [1, 1.5, 1.8, 2], floor: 1 },
        model: { gears: ['tiny', 'small', 'large'], boost: 1 },
      },
      goals: { timeoutRate: { target: 0.01, band: 0.25 }, p99RtMs: { target: 180 }, zones: { east: { timeoutRate: { target: 0.02 } } } },
      priority: 'normal',
    },
    fund: {
      rtBudgetMs: 50,
      priority: 'low',
      versions: { v1: { stage: 'base' } },
      points: { creatives: { gears: [1, 2, 3] } },
    },
    elsewhere: { versions: { v1: { stage: 'base' } } },
  },
  regulator: {
    periodMs: 1000,
    mode: 'auto',
    zone: 'east',
    timeZone: 'Asia/Shanghai',
    goals: { elu: { target: 0.85, band: 0.25 } },
    goalSets: { peak: { scenes: { feed: { timeoutRate: { target: 0.05 } } }, process: { cpu: { target: 0.9 } } } },
    control: { kp: 0.15, ki: 0.12, kd: 0, smoothing: 0.6, maxError: 2, maxDownPerTick: 0.2, maxUpPerTick: 0.04, hysteresis: 0.05, dwellMs: 5000, maxDwellMs: 60000 },
    fastRecovery: { durationMs: 180000, maxUpPerTick: 0.25 },
    boost: { enabled: true, holdMs: 120000, maxCost: 1.2 },
    shedding: { enabled: true, priorities: ['low'], step: 0.1, maxShare: 0.9, retryAfterS: 2 },
    dcaf: { extraGears: 1 },
    templates: { peak: { feed: { recall: 0, model: 0 }, fund: { creatives: 0 } } },
    schedules: [
      { at: '19:59:00', name: 'peak preset', template: 'peak', mode: 'fixed', goals: 'peak' },
      { at: '20:01:00', mode: 'auto', fastRecovery: true, caps: { fund: { creatives: 1 } } },
      { at: '2026-11-11T20:10:00+08:00', caps: {}, fixed: { feed: { model: 2 } }, goals: 'default' },
    ],
    historySize: 1000,
  },
  sense: {
    rt: { slots: 10, slotMs: 1000, precisionBits: 3, maxMs: 60000 },
    outcomes: { slots: 10, slotMs: 1000 },
    process: { enabled: true, eventLoopDelay: { sample: 'auto', periodMs: 1000, samples: 10, resolutionMs: 20 }, cpu: { periodMs: 1000, samples: 10 } },
    retiredSeries: 1000,
  },
});

/** A mutation and the names a refusal may cite (on its path, held there, or new). */
interface Change extends Mutation {
  names: string[];
}

function mutate(doc: unknown, r: Rng): Change {
  const change = mutateOnce(doc, r);
  const held = change.path.reduce<unknown>((o, k) => (o as Node | undefined)?.[k], base()); // what the path held before
  const inner = held !== null && typeof held === 'object' && !Array.isArray(held) ? Object.keys(held) : [];
  // Below the section, every name on the path: templates, schedules and `deployedHere` refer to scenes and points by name.
  const along = change.path.slice(1).filter((k): k is string => typeof k === 'string');
  return { ...change, names: [...along, ...inner, ...(change.renamed === undefined ? [] : [change.renamed])] };
}

/** A few decisions that must not change while a refused config is in the air. */
const probe = (gs: ReturnType<typeof createGearshift>) => ['alice', 'bob', 'u1', 'u2', 'u3'].map((u) => summary(gs.route('feed', u))).join(' | ');
const summary = (d: Decision) => `${d.version} ${d.reason} ${d.bucket} ${d.arm('rank')} ${String(d.param('depth'))} ${d.configVersion}`;

/** The refused field's path as the validator writes it: `scenes.feed.split[0].weight`, `scenes.feed.whitelist["a.b"]`. */
const segmentsOf = (path: string): string[] => path.match(/[^.[\]"]+|"(?:[^"\\]|\\.)*"/g)?.map((s) => (s.startsWith('"') ? (JSON.parse(s) as string) : s)) ?? [];

describe('reloading a mutated config (seeded fuzz)', () => {
  it('refuses with ConfigError and paths, keeping the old config; or accepts a config that routes', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] }); // the engine's timers: not run here
    const clock = new ManualClock(0, Date.UTC(2026, 10, 21));
    const gs = createGearshift({ config: base(), clock });
    const before = probe(gs);
    const r = new Rng(FUZZ_SEED + 2);
    const cases = fuzzCases(600);
    const tally = { refused: 0, accepted: 0 };
    try {
      for (let i = 0; i < cases; i++) {
        const doc = base();
        const changes = Array.from({ length: 1 + (r.chance(0.2) ? r.int(3) : 0) }, () => mutate(doc, r));
        const where = `${replay('config mutation', i)}: ${changes.map((c) => `${c.path.join('.')} ${c.what}`).join('; ')}`;
        let refused: ConfigError | null = null;
        try {
          const diff = gs.reload(doc);
          expect(typeof diff.toString(), where).toBe('string');
        } catch (e) {
          if (!(e instanceof ConfigError)) throw new Error(`${where}: threw ${String(e)} instead of a ConfigError`, { cause: e });
          refused = e;
        }
        if (refused) {
          tally.refused++;
          expect(refused.code, where).toBe('GEARSHIFT_CONFIG_INVALID');
          expect(refused.issues.length, where).toBeGreaterThan(0);
          for (const issue of refused.issues) {
            expect(typeof issue.path, where).toBe('string');
            expect(issue.message.length, where).toBeGreaterThan(0);
          }
          // One issue names the changed field, its container or something inside it (the first two segments agree),
          // or names the changed key where something refers to it (a template naming a removed point). A root issue
          // (the document could not be read) is allowed when a value runs code when read.
          const near = refused.issues.some((issue) => {
            const p = segmentsOf(issue.path);
            return issue.path === '' || changes.some((c) => {
              const m = c.path.map(String);
              const differ = p.findIndex((seg, k) => seg !== m[k]);
              const common = differ < 0 ? Math.min(p.length, m.length) : differ;
              return common >= Math.min(2, m.length, p.length) || c.names.some((name) => p.includes(name) || issue.message.includes(`"${name}"`));
            });
          });
          expect(near, `${where}: issues ${refused.issues.map((x) => x.path).join(', ')}`).toBe(true);
          expect(probe(gs), `${where}: a refused config changed the decisions`).toBe(before);
        } else {
          tally.accepted++;
          for (const scene of ['feed', 'fund', 'elsewhere']) for (const u of ['alice', 'u1', '']) gs.route(scene, u).explain();
          clock.advance(1000);
          gs.regulator.tick();
          gs.reload(base()); // back to the original, which must be accepted on top of any accepted mutation
          expect(probe(gs), where).toBe(before);
        }
      }
    } finally {
      gs.close();
      vi.useRealTimers();
    }
    expect(tally.refused).toBeGreaterThan(cases / 4);
    expect(tally.accepted).toBeGreaterThan(cases / 20); // the mutations are not all absurd: the compile path is reached
  });
});
