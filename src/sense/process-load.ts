/**
 * Process load, sampled per period on unref'd timers (each metric its own period and window; one timer per distinct
 * period), never cumulative since start: event-loop delay (mean and p99 of each period, from `monitorEventLoopDelay`,
 * which is reset after each read), event-loop utilization and CPU time as a share of one core. All traffic counts
 * here, load tests included, because they load the same process. These read the real process, so they use real time,
 * not the injected Clock.
 */
import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type SampleStats, SampleWindow } from './samples.js';

export interface ProcessLoadOptions {
  readonly enabled: boolean;
  /** `sampled` false: the delay monitor never starts (it costs CPU even idle); its figures stay empty. */
  readonly eventLoopDelay: { readonly sampled: boolean; readonly periodMs: number; readonly samples: number; readonly resolutionMs: number };
  readonly eventLoopUtilization: { readonly periodMs: number; readonly samples: number };
  readonly cpu: { readonly periodMs: number; readonly samples: number };
}

/** What the regulator reads about the process. Delays in ms, utilization and CPU in 0–1 (CPU may pass 1 with threads). */
export interface ProcessLoadStats {
  /** Mean event-loop delay of each period. */
  eventLoopDelayMean: SampleStats;
  /** p99 event-loop delay of each period. */
  eventLoopDelayP99: SampleStats;
  eventLoopUtilization: SampleStats;
  cpu: SampleStats;
}

const emptyStats = (): SampleStats => ({ last: 0, mean: 0, max: 0, samples: 0, taken: 0 });

export class ProcessLoad {
  readonly eventLoopDelayMean: SampleWindow;
  readonly eventLoopDelayP99: SampleWindow;
  readonly eventLoopUtilization: SampleWindow;
  readonly cpu: SampleWindow;
  private eld: IntervalHistogram | null = null;
  private elu: EventLoopUtilization | null = null;
  private cpuPrev: NodeJS.CpuUsage | null = null;
  private cpuAt = 0;
  private timers: NodeJS.Timeout[] = [];
  /** The samplers run by each timer, by period (ms). */
  private readonly byPeriod = new Map<number, (() => void)[]>();

  /** `before`: the sampler these settings replace, whose sample counts go on here (see `SampleWindow.continueCount`). */
  constructor(readonly options: ProcessLoadOptions, before?: ProcessLoad) {
    this.eventLoopDelayMean = new SampleWindow(options.eventLoopDelay.samples);
    this.eventLoopDelayP99 = new SampleWindow(options.eventLoopDelay.samples);
    this.eventLoopUtilization = new SampleWindow(options.eventLoopUtilization.samples);
    this.cpu = new SampleWindow(options.cpu.samples);
    if (before) for (const k of ['eventLoopDelayMean', 'eventLoopDelayP99', 'eventLoopUtilization', 'cpu'] as const) this[k].continueCount(before[k]);
  }

  /** Whether the samplers' timers are running. */
  get running(): boolean {
    return this.timers.length > 0;
  }

  /** Starts the samplers (a no-op when disabled or already running). */
  start(): void {
    if (!this.options.enabled || this.timers.length > 0) return;
    const o = this.options;
    if (o.eventLoopDelay.sampled) {
      this.eld = monitorEventLoopDelay({ resolution: o.eventLoopDelay.resolutionMs });
      this.eld.enable();
      this.every(o.eventLoopDelay.periodMs, () => this.sampleEventLoopDelay());
    }
    this.elu = performance.eventLoopUtilization();
    this.cpuPrev = process.cpuUsage();
    this.cpuAt = performance.now();
    this.every(o.eventLoopUtilization.periodMs, () => this.sampleUtilization());
    this.every(o.cpu.periodMs, () => this.sampleCpu());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.byPeriod.clear();
    this.eld?.disable();
    this.eld = null;
  }

  /**
   * One event-loop-delay sample. The native histogram records whole timer intervals (resolution included), so the
   * resolution is subtracted to leave the delay; it is reset so that the next sample covers only the next period.
   * A period in which the monitor's timer never fired has no sample: the loop was blocked all through it (or the
   * resolution is longer than the period). It used to read 0 ms, so a saturated loop read as an idle one, the goal
   * as headroom, exactly when the delay was longest (seen over real HTTP in a 10x burst).
   */
  sampleEventLoopDelay(): void {
    const h = this.eld;
    if (h === null || h.count === 0) return;
    const res = this.options.eventLoopDelay.resolutionMs;
    this.eventLoopDelayMean.push(Math.max(0, h.mean / 1e6 - res));
    this.eventLoopDelayP99.push(Math.max(0, h.percentile(99) / 1e6 - res));
    h.reset();
  }

  sampleUtilization(): void {
    if (this.elu === null) return;
    const now = performance.eventLoopUtilization();
    this.eventLoopUtilization.push(performance.eventLoopUtilization(now, this.elu).utilization);
    this.elu = now;
  }

  sampleCpu(): void {
    if (this.cpuPrev === null) return;
    const at = performance.now();
    const cur = process.cpuUsage();
    const usedUs = cur.user - this.cpuPrev.user + (cur.system - this.cpuPrev.system);
    const elapsedUs = (at - this.cpuAt) * 1000;
    if (elapsedUs > 0) this.cpu.push(usedUs / elapsedUs);
    this.cpuPrev = cur;
    this.cpuAt = at;
  }

  stats(out: ProcessLoadStats = { eventLoopDelayMean: emptyStats(), eventLoopDelayP99: emptyStats(), eventLoopUtilization: emptyStats(), cpu: emptyStats() }): ProcessLoadStats {
    this.eventLoopDelayMean.stats(out.eventLoopDelayMean);
    this.eventLoopDelayP99.stats(out.eventLoopDelayP99);
    this.eventLoopUtilization.stats(out.eventLoopUtilization);
    this.cpu.stats(out.cpu);
    return out;
  }

  /**
   * Runs `fn` every `ms` on the timer of that period, made on first use: samplers with the same period (by default
   * all of them, every second) share one wake-up instead of each waking an idle process on its own.
   */
  private every(ms: number, fn: () => void): void {
    const shared = this.byPeriod.get(ms);
    if (shared !== undefined) {
      shared.push(fn);
      return;
    }
    const fns = [fn];
    this.byPeriod.set(ms, fns);
    const t = setInterval(() => {
      for (const f of fns) f();
    }, ms);
    t.unref();
    this.timers.push(t);
  }
}
