import { ManualClock } from '../src/clock.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import type { GearshiftConfig } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import type { GearChange } from '../src/regulate/events.js';
import { Regulator } from '../src/regulate/regulator.js';
import type { ProcessSignals, SceneSignals, SignalSource } from '../src/regulate/signals.js';

/**
 * Two scenes. feed: point `a` (step benefits 0.5, 0.1) and `b` (0.8, 0.6), cost 6 at the top; tail (low priority):
 * point `c` (benefit 0.05, one boost gear). Process goals off unless a test sets them.
 */
export function regConfig(regulator: RegulatorConfig = {}, feedExtra: Record<string, unknown> = {}): GearshiftConfig {
  return validateConfig({
    scenes: {
      feed: {
        rtBudgetMs: 200,
        versions: { base: { stage: 'base' }, lt: { stage: 'lt' } },
        points: {
          a: { gears: [10, 20, 30], cost: [1, 2, 3], value: [1, 1.5, 1.6] },
          b: { gears: ['x', 'y', 'z'], cost: [1, 2, 3], value: [1, 1.8, 2.4] },
        },
        ...feedExtra,
      },
      tail: {
        priority: 'low',
        versions: { base: { stage: 'base' }, lt: { stage: 'lt' } },
        points: { c: { gears: [1, 2, 3], cost: [1, 2, 3], value: [1, 1.05, 1.1], boost: 1 } },
      },
    },
    regulator: { goals: {}, ...regulator },
  });
}

/** Scene signals whose timeout-goal pressure is `pressure` (p99 = pressure × 200 ms budget). */
export function sig(pressure: number, count = 1000, timeoutRate = 0): SceneSignals {
  const p99 = pressure * 200;
  return { count, rate: count, mean: p99 / 3, p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 1.2, timeoutRate };
}

/** A source the test scripts by hand. */
export class Script implements SignalSource {
  scenes = new Map<string, SceneSignals | undefined>();
  proc: ProcessSignals | undefined;
  set(scene: string, s: SceneSignals | undefined): this {
    this.scenes.set(scene, s);
    return this;
  }
  scene(id: string): SceneSignals | undefined {
    return this.scenes.get(id);
  }
  process(): ProcessSignals | undefined {
    return this.proc;
  }
}

/** A source for a rig that drives one scene: every scene reads `signals`, the process `proc`. */
export class OneSceneSource implements SignalSource {
  signals: SceneSignals | undefined;
  proc: ProcessSignals | undefined;
  scene(): SceneSignals | undefined {
    return this.signals;
  }
  process(): ProcessSignals | undefined {
    return this.proc;
  }
}

export function setup(regulator: RegulatorConfig = {}, o: { wallStart?: number; feedExtra?: Record<string, unknown> } = {}) {
  const clock = new ManualClock(0, o.wallStart ?? Date.UTC(2026, 0, 1));
  const script = new Script();
  const reg = new Regulator({ config: regConfig(regulator, o.feedExtra), clock, signals: script });
  const changes: GearChange[] = [];
  reg.on('change', (c) => changes.push(c));
  /** Advances one period and ticks. */
  const tick = (ms = 1000) => {
    clock.advance(ms);
    return reg.tick();
  };
  return { clock, script, reg, changes, tick };
}
