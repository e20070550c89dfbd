/**
 * A window of periodic samples (one number per sampling period), and the two ways of combining several windows that
 * the regulator's goals use: the mean over all of them, and the max of their means (the worst source decides, e.g.
 * the busiest worker or scene). Kept separate from the request windows because process load is sampled on a timer,
 * not recorded per request.
 */
import { shown, UsageError } from '../errors.js';

/** Last, mean and max of a window of samples. */
export interface SampleStats {
  /** The most recent sample (0 before the first). */
  last: number;
  mean: number;
  max: number;
  /** Samples in the window now (at most its capacity). */
  samples: number;
  /**
   * Samples taken since the window was made, a count that only grows: a reader on its own timer tells a new sample
   * from the one it read last time (a regulator ticking faster than the sampling period).
   */
  taken: number;
}

export class SampleWindow {
  private readonly values: Float64Array;
  private size = 0;
  private next = 0;
  private pushed = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new UsageError(`SampleWindow(capacity): expected a whole number ≥ 1, got ${shown(capacity)}`);
    this.values = new Float64Array(capacity);
  }

  push(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.pushed++;
  }

  get samples(): number {
    return this.size;
  }

  /** Samples taken since the window was made (not reset by `clear`), counting on from `continueCount`'s window. */
  get taken(): number {
    return this.pushed;
  }

  /**
   * Counts on from another window's `taken` (the same figure, sampled again with new settings): a reader that keeps
   * the last count it read must not see an old count again, and take a new sample for one it has already read.
   */
  continueCount(before: SampleWindow): void {
    this.pushed += before.pushed;
  }

  last(): number {
    return this.size === 0 ? 0 : this.values[(this.next - 1 + this.capacity) % this.capacity]!;
  }

  mean(): number {
    let s = 0;
    for (let i = 0; i < this.size; i++) s += this.values[i]!;
    return this.size === 0 ? 0 : s / this.size;
  }

  max(): number {
    let m = 0;
    for (let i = 0; i < this.size; i++) if (this.values[i]! > m) m = this.values[i]!;
    return m;
  }

  stats(out: SampleStats = { last: 0, mean: 0, max: 0, samples: 0, taken: 0 }): SampleStats {
    out.last = this.last();
    out.mean = this.mean();
    out.max = this.max();
    out.samples = this.size;
    out.taken = this.pushed;
    return out;
  }

  clear(): void {
    this.size = 0;
    this.next = 0;
  }
}

/** Mean over every sample of every source (sources with more samples weigh more). 0 without samples. */
export function meanOf(windows: readonly SampleWindow[]): number {
  if (!Array.isArray(windows)) throw new UsageError(`meanOf(windows): expected an array of SampleWindow, got ${shown(windows)}`);
  let sum = 0;
  let n = 0;
  for (const w of windows) {
    sum += w.mean() * w.samples;
    n += w.samples;
  }
  return n === 0 ? 0 : sum / n;
}

/** The largest per-source mean: the most loaded source decides. Sources without samples are skipped. */
export function maxOfMeans(windows: readonly SampleWindow[]): number {
  if (!Array.isArray(windows)) throw new UsageError(`maxOfMeans(windows): expected an array of SampleWindow, got ${shown(windows)}`);
  let m = 0;
  for (const w of windows) if (w.samples > 0 && w.mean() > m) m = w.mean();
  return m;
}
