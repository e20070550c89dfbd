/** The simulator's stalls of the whole process (simulate/stalls.ts): the model, and a malformed one refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { feedScene } from '../src/simulate/model.js';
import { runScenario } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { Stalls } from '../src/simulate/stalls.js';

/** The feed scene at its normal load (utilisation 0.5). */
const base: Scenario = { name: 'one stall', description: '', scenes: [{ id: 'feed', baseMs: 40, config: feedScene() }], servers: 8, durationS: 40, disturbAt: 30, rate: () => 100 };

describe('the simulator: stalls of the whole process', () => {
  it('delays what would start in a stall to its end, stretches what it interrupts, and counts it busy on every server', () => {
    const s = new Stalls([{ atS: 2, ms: 300 }, { atS: 1.5, ms: 100 }]);
    expect([s.start(1499), s.start(1500), s.start(1599), s.start(2100), s.start(2300)]).toEqual([1499, 1600, 1600, 2300, 2300]);
    expect([s.end(1400, 1450), s.end(1400, 1550), s.end(1400, 2050)]).toEqual([1450, 1650, 2450]);
    const slots: [number, number][] = [];
    new Stalls([{ atS: 0.9, ms: 1300 }]).eachSlot((at, ms) => slots.push([at, Math.round(ms)]));
    expect(slots).toEqual([[0, 100], [1000, 1000], [2000, 200]]);
  });

  it('refuses a malformed stall by its index', () => {
    const sc = base;
    for (const bad of [{ atS: NaN, ms: 100 }, { atS: 1, ms: 0 }, { atS: 1, ms: 60_001 }, { atS: sc.durationS, ms: 10 }, null]) {
      const run = () => runScenario({ ...sc, stalls: [{ atS: 1, ms: 10 }, bad as never] }, 'gearshift');
      expect(run).toThrow(UsageError);
      expect(run).toThrow(/scenario\.stalls\[1\]/);
    }
    expect(() => runScenario({ ...sc, stalls: 'often' as never }, 'gearshift')).toThrow(/scenario\.stalls: expected an array/);
  });

  it('a stall times out what waits through it, under every controller, and reads as a busy second', () => {
    const sc = { ...base, stalls: [{ atS: 30.3, ms: 400 }] };
    const run = runScenario(sc, 'none');
    expect(run.seconds.slice(20, 30).reduce((n, s) => n + s.timeouts, 0)).toBe(0);
    expect(run.seconds[30]!.timeouts).toBeGreaterThan(10); // ~40 arrivals in 400 ms, a 200-ms budget
    expect(run.seconds[30]!.elu).toBeGreaterThan(run.seconds[29]!.elu + 0.25); // 0.4 of stall, less the work of requests dropped
  });
});
