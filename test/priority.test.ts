import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { validateConfig } from '../src/config/validate.js';
import { Ladder } from '../src/regulate/ladder.js';
import { compilePoints } from '../src/regulate/points.js';
import { Regulator } from '../src/regulate/regulator.js';
import { Script } from './regulate-helpers.js';

/**
 * Three scenes whose benefits run against their priorities: the low-priority scene's steps are worth the most, the
 * high-priority scene's the least. One point each, one boost gear on the high scene.
 */
const config = (regulator: Record<string, unknown> = { goals: {} }) =>
  validateConfig({
    scenes: {
      top: { priority: 'high', versions: { v: { stage: 'base' } }, points: { h: { gears: [0, 1, 2, 3], cost: [1, 2, 3, 4], value: [1, 1.1, 1.2, 1.25], boost: 1 } } },
      mid: { versions: { v: { stage: 'base' } }, points: { n: { gears: [0, 1, 2], cost: [1, 2, 3], value: [1, 1.5, 2] } } },
      side: { priority: 'low', versions: { v: { stage: 'base' } }, points: { l: { gears: [0, 1, 2], cost: [1, 2, 3], value: [1, 2, 3] } } },
    },
    regulator,
  });

describe('priority on the process ladder', () => {
  it('ranks every step of a higher priority before any of a lower one, benefit within a priority, boost steps last', () => {
    const c = config();
    const points = [...compilePoints('top', c.scenes.top!, 0), ...compilePoints('mid', c.scenes.mid!, 1), ...compilePoints('side', c.scenes.side!, 2)];
    const ladder = new Ladder(points);
    // Without priority the order was by benefit alone: side (1.0), mid (0.5), top (0.1), top's boost step last.
    expect(ladder.steps.map((s) => `${s.point.name}${s.gear}`)).toEqual(['h1', 'h2', 'n1', 'n2', 'l1', 'l2', 'h3']);
  });

  it('a process over its limit takes the low-priority scene to its floor first, then the normal one, the high one last', () => {
    const clock = new ManualClock(0);
    const script = new Script();
    const reg = new Regulator({ config: config({ goals: { elu: { target: 0.8 } }, control: { maxDownPerTick: 0.1 } }), clock, signals: script });
    const busy = { count: 1000, rate: 1000, mean: 10, p50: 10, p90: 20, p99: 30, p999: 40, timeoutRate: 0 };
    for (const id of ['top', 'mid', 'side']) script.set(id, busy);
    script.proc = { elu: 1.2 };
    for (let t = 1; t <= 40; t++) {
      clock.advance(1000);
      reg.tick();
    }
    expect(reg.gears()).toEqual({ top: { h: 0 }, mid: { n: 0 }, side: { l: 0 } });
    const order = reg.changes().filter((c) => c.reason === 'process').map((c) => `${c.point}${c.to}`);
    expect(order).toEqual(['l1', 'l0', 'n1', 'n0', 'h1', 'h0']); // before: h1 h0 n1 n0 l1 l0, lowest benefit first
  });
});
