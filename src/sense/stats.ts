/**
 * What a read returns, and how it is computed from one or more series (a version, a scene's versions merged, the
 * process): the total rows (or the last N slot rows) of each series added up, and all four percentiles found in one
 * walk over the coarse row plus the few fine chunks they land in.
 */
import { C_FIELDS, C_REQUESTS, R_COUNT, R_FIELDS, R_MAX, R_SUM, type Series, type SeriesShape } from './series.js';
import { Outcome } from './outcome.js';

/** The figures the regulator and the observers read. Times in ms, rates per second, shares in 0–1. */
export interface WindowStats {
  /** Requests that completed in the outcome window (every one in exactly one outcome below). */
  count: number;
  /** count per second over the time the window covers (never before the series existed). */
  rate: number;
  success: number;
  degraded: number;
  error: number;
  timeout: number;
  clientAbort: number;
  shed: number;
  rejected: number;
  /** timeout / count (0 without requests). */
  timeoutRate: number;
  /** error / count (0 without requests). */
  errorRate: number;
  /** Requests with a service time in the RT window (success, degraded, error, timeout, client abort). */
  rtCount: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  /** Exact slowest RT in the RT window. */
  max: number;
  /** How much time the outcome window covers (ms): what `rate` divides by. */
  spanMs: number;
}

/** A reusable WindowStats: pass one as `out` to read without allocating. */
export class Stats implements WindowStats {
  count = 0;
  rate = 0;
  success = 0;
  degraded = 0;
  error = 0;
  timeout = 0;
  clientAbort = 0;
  shed = 0;
  rejected = 0;
  timeoutRate = 0;
  errorRate = 0;
  rtCount = 0;
  mean = 0;
  p50 = 0;
  p90 = 0;
  p99 = 0;
  p999 = 0;
  max = 0;
  spanMs = 0;
}

const QS = [0.5, 0.9, 0.99, 0.999] as const;

/** Reads series sharing one shape. Holds scratch rows, so one reader per Sensing, used from one thread. */
export class StatsReader {
  private readonly fields = new Float64Array(C_FIELDS);
  private readonly coarseSum: Float64Array;
  private readonly pct = new Float64Array(QS.length);
  /** One chunk of fine buckets, merged across rows. */
  private readonly chunk: Float64Array;
  /** The histogram rows a read merges: array and row offset per row (reused; grows once to the largest read). */
  private rows: Uint32Array[] = [];
  private fineAt: number[] = [];
  private coarseRows: Uint32Array[] = [];
  private coarseAt: number[] = [];
  private m = 0;

  constructor(private readonly shape: SeriesShape) {
    this.coarseSum = new Float64Array(shape.chunks);
    this.chunk = new Float64Array(shape.layout.half);
  }

  /**
   * Merges `list` (already advanced to `now`) over the last `lastSlots` slots of each window (0, or the window's
   * size or more: all of it) into `out`.
   */
  read(list: readonly Series[], lastSlots: number, now: number, out: WindowStats): WindowStats {
    const s = this.shape;
    const cs = s.outcomeSlots;
    const hs = s.rtSlots;
    const cn = lastSlots > 0 && lastSlots < cs ? lastSlots : cs;
    const hn = lastSlots > 0 && lastSlots < hs ? lastSlots : hs;
    const f = this.fields.fill(0);
    let bornAt = Infinity;
    let rtCount = 0;
    let rtSum = 0;
    let max = 0;
    this.m = 0;
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!;
      if (x.bornAt < bornAt) bornAt = x.bornAt;
      const c = x.counts;
      if (c !== null) {
        if (cn === cs) addFields(f, c, cs * C_FIELDS, C_FIELDS);
        else for (let k = 0; k < cn; k++) addFields(f, c, ((x.cPos - k + cs) % cs) * C_FIELDS, C_FIELDS);
      }
      const r = x.rt;
      if (r === null) continue;
      if (hn === hs) {
        const at = hs * R_FIELDS;
        rtCount += r[at + R_COUNT]!;
        rtSum += r[at + R_SUM]!;
        if (r[at + R_MAX]! > max) max = r[at + R_MAX]!;
        this.addRows(x, hs);
      } else {
        for (let k = 0; k < hn; k++) {
          const row = (x.hPos - k + hs) % hs;
          const at = row * R_FIELDS;
          rtCount += r[at + R_COUNT]!;
          rtSum += r[at + R_SUM]!;
          if (r[at + R_MAX]! > max) max = r[at + R_MAX]!;
          this.addRows(x, row);
        }
      }
    }
    this.percentiles(rtCount, max);

    const count = f[C_REQUESTS]!;
    const windowStart = (Math.floor(now / s.outcomeSlotMs) - cn + 1) * s.outcomeSlotMs;
    const spanMs = Math.max(0, now - Math.max(windowStart, bornAt));
    out.count = count;
    out.spanMs = spanMs;
    out.rate = spanMs > 0 ? (count * 1000) / spanMs : 0;
    out.success = f[1 + Outcome.Success]!;
    out.degraded = f[1 + Outcome.Degraded]!;
    out.error = f[1 + Outcome.Error]!;
    out.timeout = f[1 + Outcome.Timeout]!;
    out.clientAbort = f[1 + Outcome.ClientAbort]!;
    out.shed = f[1 + Outcome.Shed]!;
    out.rejected = f[1 + Outcome.Rejected]!;
    out.timeoutRate = count > 0 ? out.timeout / count : 0;
    out.errorRate = count > 0 ? out.error / count : 0;
    out.rtCount = rtCount;
    out.mean = rtCount > 0 ? rtSum / rtCount : 0;
    out.max = max;
    out.p50 = this.pct[0]!;
    out.p90 = this.pct[1]!;
    out.p99 = this.pct[2]!;
    out.p999 = this.pct[3]!;
    return out;
  }

  /**
   * The fewest latest RT slots whose samples add up to at least `minSamples` across `list` (already advanced), or 0
   * (the whole window) if even that holds fewer: a busy scene is judged on its last second, a quiet one on more.
   */
  slotsHolding(list: readonly Series[], minSamples: number): number {
    const n = this.shape.rtSlots;
    let seen = 0;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < list.length; i++) {
        const x = list[i]!;
        if (x.rt !== null) seen += x.rt[((x.hPos - k + n) % n) * R_FIELDS + R_COUNT]!;
      }
      if (seen >= minSamples) return k + 1;
    }
    return 0;
  }

  private addRows(x: Series, row: number): void {
    const m = this.m++;
    this.rows[m] = x.hist!;
    this.fineAt[m] = row * this.shape.layout.buckets;
    this.coarseRows[m] = x.coarse!;
    this.coarseAt[m] = row * this.shape.chunks;
  }

  /**
   * All four percentiles of the merged rows in one walk: over the coarse sums to the chunk a percentile lands in,
   * then over that chunk's fine buckets only. A bucket reports its midpoint, capped at the exact max.
   */
  private percentiles(total: number, max: number): void {
    const out = this.pct;
    out.fill(0);
    if (total <= 0) return;
    const { layout, chunks } = this.shape;
    const m = this.m;
    const sums = this.coarseSum.fill(0);
    for (let r = 0; r < m; r++) addFields(sums, this.coarseRows[r]!, this.coarseAt[r]!, chunks);
    const nb = layout.buckets;
    const half = layout.half;
    const mid = layout.mid;
    let k = 0;
    let target = Math.max(1, Math.ceil(QS[0] * total));
    let seen = 0;
    for (let g = 0; g < chunks && k < QS.length; g++) {
      const cg = sums[g]!;
      if (seen + cg < target) {
        seen += cg;
        continue;
      }
      // The percentile lands in this chunk: merge its fine buckets (row by row, one cache line each), then walk them.
      const lo = g * half;
      const width = Math.min(half, nb - lo);
      const fine = this.chunk.fill(0);
      for (let r = 0; r < m; r++) {
        const row = this.rows[r]!;
        const at = this.fineAt[r]! + lo;
        for (let i = 0; i < width; i++) fine[i]! += row[at + i]!;
      }
      for (let i = 0; i < width && k < QS.length; i++) {
        const c = fine[i]!;
        const b = lo + i;
        if (c === 0) continue;
        seen += c;
        while (k < QS.length && seen >= target) {
          const v = mid[b]!;
          out[k++] = v < max ? v : max;
          if (k < QS.length) target = Math.max(1, Math.ceil(QS[k]! * total));
        }
      }
    }
    for (; k < QS.length; k++) out[k] = max; // only if rows and total disagree: never report less than seen
  }
}

function addFields(into: Float64Array, from: Float64Array | Uint32Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) into[i]! += from[at + i]!;
}
