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
  /**
   * A request has completed since the engine started. Until then the process's figures are not given: what loads a
   * process before its first request is its start-up (module loading, compiling, listening), and cutting the gears
   * saves nothing. Its first utilisation sample reads up to 1, and until the thirtieth session it cut the gears of a
   * freshly started service 7 → 4 before any request came (tuned config over real HTTP), which then climbed back
   * through its first seconds of traffic.
   */
  let served = false;
  return {
    scene(scene: string, minSamples: number): SceneSignals | undefined {
      const s = sensing.recent(scene, minSamples, null, out);
      if (s === undefined || s.rtCount === 0) return undefined;
      served = true;
      return { count: s.rtCount, rate: s.rate, mean: s.mean, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, timeoutRate: s.timeoutRate };
    },
    process(): ProcessSignals | undefined {
      if (!served) return undefined;
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
