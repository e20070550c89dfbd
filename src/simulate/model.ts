/**
 * The service model: scenes whose requests queue for a pool of servers (workers / concurrency slots, FIFO), each
 * request's service time set by the gears it was routed with (the points are stages whose costs add up), scaled by
 * per-stage slowdowns and log-normal noise. A request whose deadline (the scene's RT budget) has passed when a
 * server picks it up is dropped at no cost, as a handler checking its deadline would.
 */
import type { GearshiftConfig, SceneConfig } from '../config/schema.js';
import type { RegulatorConfig } from '../config/schema-regulate.js';

export interface SimScene {
  readonly id: string;
  /** Mean service time at full (normal top) gear, in ms. */
  readonly baseMs: number;
  /** The scene's config (versions, rtBudgetMs, points, goals, priority). */
  readonly config: SceneConfig;
}

/**
 * A feed-like scene with three stages: recall depth, ranking model, creative count. Value per gear is concave in cost
 * (the last candidates and the largest model are worth least per unit of compute), the premise of dynamic compute.
 * Costs add up to 1 at the normal top; one boost gear per stage adds up to +25%.
 */
export function feedPoints(): NonNullable<SceneConfig['points']> {
  return {
    recall: {
      gears: [200, 300, 400, 600, 800, 1000, 1400, 2000, 2600],
      cost: [0.04, 0.06, 0.08, 0.12, 0.16, 0.2, 0.28, 0.4, 0.5],
      value: [0.25, 0.29, 0.32, 0.35, 0.37, 0.38, 0.39, 0.4, 0.404],
      boost: 1,
    },
    rank: {
      gears: ['tiny', 'small', 'base', 'large', 'xl', 'xxl'],
      cost: [0.05, 0.1, 0.18, 0.3, 0.45, 0.54],
      value: [0.3, 0.37, 0.41, 0.435, 0.45, 0.454],
      boost: 1,
    },
    creatives: {
      gears: [1, 2, 3, 4, 6],
      cost: [0.03, 0.06, 0.09, 0.15, 0.18],
      value: [0.12, 0.135, 0.143, 0.15, 0.151],
      boost: 1,
    },
  };
}

export function feedScene(id = 'feed', o: { rtBudgetMs?: number; priority?: 'low' | 'normal' | 'high' } = {}): SceneConfig {
  return {
    rtBudgetMs: o.rtBudgetMs ?? 200,
    versions: { base: { stage: 'base' }, lt: { stage: 'lt' } },
    points: feedPoints(),
    goals: { timeoutRate: { target: 0.01, band: 0.25 } },
    ...(o.priority ? { priority: o.priority } : {}),
  };
}

export function simConfig(scenes: readonly SimScene[], regulator: RegulatorConfig = {}): GearshiftConfig {
  return { scenes: Object.fromEntries(scenes.map((s) => [s.id, s.config])), regulator };
}
