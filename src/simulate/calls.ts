/**
 * The scenario's functions, checked on every call, each error naming the call: a NaN or a negative number from one of
 * them used to run on (NaN service times emptied the server heap and every request vanished, a negative factor made
 * negative service times), and the table came out plausible and wrong.
 */
import { shown, UsageError } from '../errors.js';
import type { Scenario } from './scenario.js';

/**
 * Past this the run would take minutes per simulated second and run out of memory (every response time is kept for
 * the metrics), with no word of why: a million requests a second is already beyond one process of a Node service.
 */
export const MAX_RATE = 1_000_000;

export interface ScenarioCalls {
  rate(scene: string, t: number): number;
  /** null: the scenario has no load-test traffic (no draw is made). */
  readonly loadTestShare: ((scene: string, t: number) => number) | null;
  slowdown(scene: string, point: string, t: number): number;
}

const call = (args: readonly (string | number)[]): string => args.map((a) => (typeof a === 'string' ? JSON.stringify(a) : String(a))).join(', ');

export function scenarioCalls(sc: Scenario): ScenarioCalls {
  const bad = (what: string, args: readonly (string | number)[], expected: string, got: unknown): never => {
    throw new UsageError(`runScenario: scenario.${what}(${call(args)}): expected ${expected}, got ${shown(got)}`);
  };
  const slowdown = sc.slowdown?.bind(sc);
  const loadTestShare = sc.loadTestShare?.bind(sc);
  return {
    rate(scene, t) {
      const r = sc.rate(scene, t);
      if (typeof r !== 'number' || !(r >= 0 && r <= MAX_RATE)) bad('rate', [scene, t], `requests/s, 0 to ${MAX_RATE.toLocaleString('en')}`, r);
      return r;
    },
    loadTestShare: loadTestShare
      ? (scene, t) => {
          const x = loadTestShare(scene, t);
          if (typeof x !== 'number' || !(x >= 0 && x <= 1)) bad('loadTestShare', [scene, t], 'a share, 0 to 1', x);
          return x;
        }
      : null,
    slowdown(scene, point, t) {
      if (!slowdown) return 1;
      const f = slowdown(scene, point, t);
      if (typeof f !== 'number' || !(f >= 0 && f < Infinity)) bad('slowdown', [scene, point, t], 'a factor ≥ 0', f);
      return f;
    },
  };
}
