/**
 * The engine's adapter from the real sensing layer to the regulator's SignalSource: a scene's most recent slots
 * holding enough samples, and the process's latest event-loop and CPU samples with how many of each have been taken
 * (a regulator faster than the sampling reads a sample once). One read per scene per tick.
 */
import type { Sensing } from '../sense/sensing.js';
import { Stats } from '../sense/stats.js';
import type { ProcessSignals, SceneSignals, SignalSource } from './signals.js';

export function sensingSource(sensing: Sensing): SignalSource {
  const out = new Stats();
  return {
    scene(scene: string, minSamples: number): SceneSignals | undefined {
      const s = sensing.recent(scene, minSamples, null, out);
      if (s === undefined || s.rtCount === 0) return undefined;
      return { count: s.rtCount, rate: s.rate, mean: s.mean, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, timeoutRate: s.timeoutRate };
    },
    process(): ProcessSignals | undefined {
      const l = sensing.load();
      const pick = (x: { last: number; samples: number }) => (x.samples > 0 ? x.last : undefined);
      return {
        eventLoopDelayMs: pick(l.eventLoopDelayP99),
        elu: pick(l.eventLoopUtilization),
        cpu: pick(l.cpu),
        count: Math.max(l.eventLoopDelayP99.samples, l.eventLoopUtilization.samples, l.cpu.samples),
        taken: { eventLoopDelayMs: l.eventLoopDelayP99.taken, elu: l.eventLoopUtilization.taken, cpu: l.cpu.taken },
      };
    },
  };
}
