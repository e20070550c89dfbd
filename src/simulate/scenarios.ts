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

/** A load pattern over time, for any scenes: the part of a scenario that is not the service. */
export type LoadShape = Pick<Scenario, 'name' | 'description' | 'durationS' | 'disturbAt' | 'dropAt' | 'phases' | 'rate'> & {
  /** A short name, for a command line: `step-2x`, `step-10x`, `sawtooth`, `burst`. */
  readonly id: string;
};

/** Requests per second as a description shows them: to the hundredth at most. */
const rps = (x: number): string => String(+x.toFixed(2));

/**
 * The load patterns of the scenarios below, for a service whose normal load is `base` req/s (the scenarios': 100), so
 * that a config can be run through the same shapes at its own scale (`gearshift simulate`).
 */
export function loadShapes(base: number): LoadShape[] {
  return [
    {
      id: 'step-2x', name: 'step 2x and back', description: `${rps(base)} → ${rps(2 * base)} req/s at 60 s, back at 180 s`,
      durationS: 270, disturbAt: 60, dropAt: 180,
      rate: (_s, t) => steps(t, [[0, base], [60, 2 * base], [180, base]]),
    },
    {
      id: 'step-10x', name: 'step 10x, no preset', description: `${rps(base)} → ${rps(10 * base)} req/s at 60 s, back at 180 s`,
      durationS: 270, disturbAt: 60, dropAt: 180,
      rate: (_s, t) => steps(t, [[0, base], [60, 10 * base], [180, base]]),
    },
    {
      id: 'sawtooth', name: 'sawtooth', description: `${rps(base)} → ${rps(5 * base)} → ${rps(1.5 * base)} → ${rps(3.5 * base)} → ${rps(base)} req/s, 50 s phases`,
      durationS: 250, disturbAt: 50, dropAt: 200, phases: [50, 100, 150, 200],
      rate: (_s, t) => steps(t, [[0, base], [50, 5 * base], [100, 1.5 * base], [150, 3.5 * base], [200, base]]),
    },
    {
      id: 'burst', name: 'idle then burst', description: `${rps(0.05 * base)} req/s for 60 s, ${rps(6 * base)} req/s for 30 s, then ${rps(base)}`,
      durationS: 180, disturbAt: 60, dropAt: 90,
      rate: (_s, t) => steps(t, [[0, 0.05 * base], [60, 6 * base], [90, base]]),
    },
  ];
}

/** A shape as a scenario of the feed scene alone (without the shape's `id`, which a scenario has not). */
const feedOnly = ({ id: _id, ...shape }: LoadShape): Scenario => ({ ...shape, scenes: [feed()], servers: 8 });

export function scenarios(): Scenario[] {
  const [step2x, step10x, sawtooth, burst] = loadShapes(BASE).map(feedOnly);
  return [
    step2x!,
    {
      name: 'step 10x, 19:59 preset', description: 'preset at 19:59:00, 1000 req/s 20:00–20:02, auto + fast recovery 20:01:00',
      scenes: [feed()], servers: 8, durationS: 360, disturbAt: 120, dropAt: 240, regulator: peakRegulator(), startWall: PEAK_START,
      rate: (_s, t) => steps(t, [[0, BASE], [120, 10 * BASE], [240, BASE]]),
    },
    step10x!,
    sawtooth!,
    burst!,
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
      name: 'stalls', description: 'a 400-ms stall of the whole process every 30 s from 60 s (a GC pause, a synchronous call) at 100 req/s',
      scenes: [feed()], servers: 8, durationS: 240, disturbAt: 60,
      rate: () => BASE,
      stalls: [60, 90, 120, 150, 180, 210].map((t) => ({ atS: t + 0.3, ms: 400 })),
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
