/** What one simulated run is: scenes, servers, the offered load over time, disturbances, and where to measure. */
import type { RegulatorConfig } from '../config/schema-regulate.js';
import type { SimScene } from './model.js';

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly scenes: readonly SimScene[];
  readonly servers: number;
  readonly durationS: number;
  /** Offered load (requests/s) of a scene at time t (s): open loop, whatever the service does. */
  rate(scene: string, t: number): number;
  /** Share of a scene's traffic that is trusted load-test traffic (default 0). */
  loadTestShare?(scene: string, t: number): number;
  /** Service-time multiplier of one stage (point) at time t (a slow dependency); default 1. */
  slowdown?(scene: string, point: string, t: number): number;
  readonly regulator?: RegulatorConfig;
  /** Wall-clock start (epoch ms) for schedules; default 2026-01-01T00:00:00Z. */
  readonly startWall?: number;
  /** When the disturbance starts and (if it does) ends, in s: the metrics measure from and to these. */
  readonly disturbAt: number;
  readonly dropAt?: number;
  /** Phases (start s) for the oscillation check of load patterns; default [disturbAt, dropAt]. */
  readonly phases?: readonly number[];
  /** Log-normal shape of service-time noise (default 0.5). */
  readonly noise?: number;
  readonly seed?: number;
}
