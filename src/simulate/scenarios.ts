/**
 * The scenarios of issue 4, on one model: 8 servers, a feed scene with a 200 ms budget and 40 ms of work per request
 * at full gear (capacity 200 req/s), normal load 100 req/s (utilisation 0.5).
 */
import { readDocument } from '../config/document.js';
import type { RegulatorConfig } from '../config/schema-regulate.js';
import { feedScene, type SimScene } from './model.js';
import type { Scenario } from './scenario.js';

// A fresh scene per scenario and per call: one shared object let a goal tuned on one returned scenario change every
// other scenario, and every later call, in the process.
const feed = (): SimScene => ({ id: 'feed', baseMs: 40, config: feedScene() });
const BASE = 100;
const steps = (t: number, points: readonly [number, number][]): number => {
  let r = points[0]![1];
  for (const [at, v] of points) if (t >= at) r = v;
  return r;
};

/** The seeds' promotion peak: 19:59:00 preset `peak`, 20:00:00 the 10x spike, 20:01:00 auto in fast recovery. */
const peakRegulator = (): RegulatorConfig => ({
  timeZone: 'Asia/Shanghai',
  templates: { peak: { feed: { recall: 0, rank: 0, creatives: 0 } } },
  schedules: [
    { at: '19:59:00', name: 'peak preset', template: 'peak', mode: 'fixed' },
    { at: '20:01:00', name: 'auto, fast recovery', mode: 'auto', fastRecovery: true },
  ],
});
/** Frozen, as the engine reads a config document: each scenario takes its own copy, so this one stays the README's. */
export const PEAK_REGULATOR = readDocument(peakRegulator()) as RegulatorConfig;
/** 19:58:00 in Asia/Shanghai (UTC+8) on 2026-11-11. */
export const PEAK_START = Date.UTC(2026, 10, 11, 11, 58, 0);

export function scenarios(): Scenario[] {
  return [
    {
      name: 'step 2x and back', description: '100 → 200 req/s at 60 s, back at 180 s',
      scenes: [feed()], servers: 8, durationS: 270, disturbAt: 60, dropAt: 180,
      rate: (_s, t) => steps(t, [[0, BASE], [60, 2 * BASE], [180, BASE]]),
    },
    {
      name: 'step 10x, 19:59 preset', description: 'preset at 19:59:00, 1000 req/s 20:00–20:02, auto + fast recovery 20:01:00',
      scenes: [feed()], servers: 8, durationS: 360, disturbAt: 120, dropAt: 240, regulator: peakRegulator(), startWall: PEAK_START,
      rate: (_s, t) => steps(t, [[0, BASE], [120, 10 * BASE], [240, BASE]]),
    },
    {
      name: 'step 10x, no preset', description: '100 → 1000 req/s at 60 s, back at 180 s',
      scenes: [feed()], servers: 8, durationS: 270, disturbAt: 60, dropAt: 180,
      rate: (_s, t) => steps(t, [[0, BASE], [60, 10 * BASE], [180, BASE]]),
    },
    {
      name: 'sawtooth', description: '100 → 500 → 150 → 350 → 100 req/s, 50 s phases',
      scenes: [feed()], servers: 8, durationS: 250, disturbAt: 50, dropAt: 200, phases: [50, 100, 150, 200],
      rate: (_s, t) => steps(t, [[0, 100], [50, 500], [100, 150], [150, 350], [200, 100]]),
    },
    {
      name: 'idle then burst', description: '5 req/s for 60 s, 600 req/s for 30 s, then 100',
      scenes: [feed()], servers: 8, durationS: 180, disturbAt: 60, dropAt: 90,
      rate: (_s, t) => steps(t, [[0, 5], [60, 600], [90, BASE]]),
    },
    {
      name: 'night at 10% load', description: '20 req/s for 10 min: tidal boost expected',
      scenes: [feed()], servers: 8, durationS: 600, disturbAt: 0,
      rate: () => 20,
    },
    {
      name: 'slow dependency', description: 'recall 3x slower from 60 s to 180 s at 100 req/s',
      scenes: [feed()], servers: 8, durationS: 270, disturbAt: 60, dropAt: 180,
      rate: () => BASE,
      slowdown: (_s, p, t) => (p === 'recall' && t >= 60 && t < 180 ? 3 : 1),
    },
    {
      name: 'failover', description: 'two scenes; at 60 s the other instance fails and its load lands here (2x), back at 180 s',
      scenes: [{ id: 'feed', baseMs: 40, config: feedScene('feed') }, { id: 'fund', baseMs: 40, config: feedScene('fund', { rtBudgetMs: 300, priority: 'low' }) }],
      servers: 8, durationS: 270, disturbAt: 60, dropAt: 180,
      rate: (s, t) => (s === 'feed' ? 60 : 40) * (t >= 60 && t < 180 ? 2 : 1),
    },
    {
      name: 'beyond the floor', description: 'feed 100 → 1100 req/s (10% load test), low-priority fund 50 → 500: more than the floor can serve, shedding',
      scenes: [{ id: 'feed', baseMs: 40, config: feedScene('feed') }, { id: 'fund', baseMs: 40, config: feedScene('fund', { priority: 'low' }) }],
      servers: 8, durationS: 240, disturbAt: 60, dropAt: 180,
      rate: (s, t) => (t >= 60 && t < 180 ? (s === 'feed' ? 1100 : 500) : s === 'feed' ? 100 : 50),
      loadTestShare: (s) => (s === 'feed' ? 0.1 : 0),
    },
  ];
}
