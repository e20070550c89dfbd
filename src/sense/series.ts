/**
 * One series: what the requests of one scene × version (or one process-level bucket) did, in two rolling windows.
 *
 * - Outcomes: a ring of slots, each with `requests` and one counter per outcome class.
 * - RT: a ring of histogram rows, each with a coarse row beside it (one count per chunk of 2^bits buckets, i.e. per
 *   64-byte cache line at the default precision), and per slot the RT count, sum and exact max.
 *
 * Every ring has one extra row holding the sum of its slots, kept in step on record and on rotation, so a read of the
 * whole window touches one row instead of adding up every slot; and a percentile walks the coarse row, then only the
 * one chunk of fine buckets it lands in. Reads stay a few cache lines per series, which is what lets a tick read
 * 1,000 scenes in a couple of milliseconds (README, Sensing).
 *
 * Slots are aligned on absolute time (slot n covers [n·slotMs, (n+1)·slotMs)), so series rotated at different moments
 * still line up when merged. Rotation is lazy: the first record or read at or after the current slot's end clears
 * every slot that elapsed (all of them after an idle gap longer than the window) and takes it out of the total row
 * before anything is added or read, so a slot is never seen half-reset. Storage is allocated on first use: the many
 * series that never see traffic (dev versions, scenes not deployed here) cost one small object each.
 */
import type { HistogramLayout } from './layout.js';
import { hasServiceTime, OUTCOME_COUNT } from './outcome.js';

/** Fields of an outcome row: requests, then one per outcome code. */
export const C_REQUESTS = 0;
export const C_FIELDS = 1 + OUTCOME_COUNT;
/** Fields of an RT side row. In the total row, max is the window's max: raised on record, recomputed on rotation. */
export const R_COUNT = 0;
export const R_SUM = 1;
export const R_MAX = 2;
export const R_FIELDS = 3;

/** The window settings every series of one Sensing shares. */
export class SeriesShape {
  /** Chunks (coarse buckets) per histogram row. */
  readonly chunks: number;
  constructor(
    readonly outcomeSlots: number,
    readonly outcomeSlotMs: number,
    readonly rtSlots: number,
    readonly rtSlotMs: number,
    readonly layout: HistogramLayout,
  ) {
    this.chunks = Math.ceil(layout.buckets / layout.half);
  }
}

/** Ring position of an absolute slot number; `| 0` keeps positions small integers, so index math stays integer math. */
const ringPos = (no: number, n: number): number => (((no % n) + n) % n) | 0;

export class Series {
  /** Outcome counters: `outcomeSlots + 1` rows of C_FIELDS, the last the window total. */
  counts: Float64Array | null = null;
  /** RT histogram: `rtSlots + 1` rows of `layout.buckets`, the last the window total. */
  hist: Uint32Array | null = null;
  /** Coarse histogram: `rtSlots + 1` rows of `shape.chunks`. */
  coarse: Uint32Array | null = null;
  /** RT count, sum (ms) and max (ms): `rtSlots + 1` rows of R_FIELDS. */
  rt: Float64Array | null = null;
  /** Absolute slot number of the current outcome slot, its ring position, and when it ends. */
  cNo = 0;
  cPos = 0;
  cEnd = -Infinity;
  hNo = 0;
  hPos = 0;
  hEnd = -Infinity;
  /** When this series was created; rates never count time before it. */
  readonly bornAt: number;
  /** When a reload removed its version or scene (-1 while configured). */
  retiredAt = -1;

  constructor(
    readonly shape: SeriesShape,
    now: number,
  ) {
    this.bornAt = now;
  }

  /** O(1), allocation-free once storage exists: a few increments in the current slot and the total rows. */
  record(outcome: number, rtMs: number, now: number): void {
    const shape = this.shape;
    if (now >= this.cEnd) this.rollCounts(now);
    const c = this.counts!;
    const cAt = this.cPos * C_FIELDS;
    const cTot = shape.outcomeSlots * C_FIELDS;
    c[cAt]!++;
    c[cAt + 1 + outcome]!++;
    c[cTot]!++;
    c[cTot + 1 + outcome]!++;
    if (!hasServiceTime(outcome)) return;

    if (now >= this.hEnd) this.rollRt(now);
    const layout = shape.layout;
    const b = layout.index(rtMs);
    const g = b >>> layout.bits;
    const h = this.hist!;
    const q = this.coarse!;
    const slots = shape.rtSlots;
    h[this.hPos * layout.buckets + b]!++;
    h[slots * layout.buckets + b]!++;
    q[this.hPos * shape.chunks + g]!++;
    q[slots * shape.chunks + g]!++;
    const r = this.rt!;
    const at = this.hPos * R_FIELDS;
    const tot = slots * R_FIELDS;
    const v = rtMs > 0 ? rtMs : 0;
    r[at + R_COUNT]!++;
    r[at + R_SUM]! += v;
    r[tot + R_COUNT]!++;
    r[tot + R_SUM]! += v;
    if (v > r[at + R_MAX]!) {
      r[at + R_MAX] = v;
      if (v > r[tot + R_MAX]!) r[tot + R_MAX] = v;
    }
  }

  /**
   * The series' storage, made on first use. A record touches every array of it, so they are views of one buffer:
   * four buffers of their own sat on four pages of the process's memory, and on this VM a page that is not in the
   * TLB any more costs a walk of the guest's and the host's page tables, which the host's own work between requests
   * makes happen (README, Performance: `bench:http-cpu-pair`). Small arrays first, so that a record's counters, RT
   * sums and coarse counts share a page. A series that has only counted answers without service time (rejections,
   * sheds) gets its counters alone; its first RT moves them into the full buffer.
   */
  private allocate(withRt: boolean): void {
    const { outcomeSlots, rtSlots, chunks, layout } = this.shape;
    const cLen = (outcomeSlots + 1) * C_FIELDS;
    if (!withRt) {
      this.counts = new Float64Array(cLen);
      return;
    }
    const rLen = (rtSlots + 1) * R_FIELDS;
    const qLen = (rtSlots + 1) * chunks;
    const buffer = new ArrayBuffer((cLen + rLen) * 8 + (qLen + (rtSlots + 1) * layout.buckets) * 4);
    const counts = new Float64Array(buffer, 0, cLen);
    if (this.counts !== null) counts.set(this.counts);
    this.counts = counts;
    this.rt = new Float64Array(buffer, cLen * 8, rLen);
    this.coarse = new Uint32Array(buffer, (cLen + rLen) * 8, qLen);
    this.hist = new Uint32Array(buffer, (cLen + rLen) * 8 + qLen * 4);
  }

  /** Brings both windows up to `now` (reads call this first, so idle series read as empty). */
  advance(now: number): void {
    if (now >= this.cEnd && this.counts !== null) this.rollCounts(now);
    if (now >= this.hEnd && this.hist !== null) this.rollRt(now);
  }

  private rollCounts(now: number): void {
    const { outcomeSlots: n, outcomeSlotMs: ms } = this.shape;
    const no = Math.floor(now / ms);
    if (this.counts === null) this.allocate(false);
    else if (no - this.cNo >= n) this.counts.fill(0);
    else {
      // A slot without requests has nothing to take out (every record counts a request): an idle series rotates
      // without touching its rows, and at 10,000 mostly idle scenes the clearing was an eighth of a regulator tick.
      for (let k = this.cNo + 1; k <= no; k++) {
        const at = ringPos(k, n) * C_FIELDS;
        if (this.counts[at + C_REQUESTS] !== 0) clearSlot(this.counts, at, n * C_FIELDS, C_FIELDS);
      }
    }
    this.cNo = no;
    this.cPos = ringPos(no, n);
    this.cEnd = (no + 1) * ms;
  }

  private rollRt(now: number): void {
    const shape = this.shape;
    const { rtSlots: n, rtSlotMs: ms, chunks } = shape;
    const nb = shape.layout.buckets;
    const no = Math.floor(now / ms);
    if (this.hist === null) this.allocate(true);
    else if (no - this.hNo >= n) {
      this.hist.fill(0);
      this.coarse!.fill(0);
      this.rt!.fill(0);
    } else {
      for (let k = this.hNo + 1; k <= no; k++) {
        const pos = ringPos(k, n);
        if (this.rt![pos * R_FIELDS + R_COUNT] === 0) continue; // no RT recorded in it: its rows are all zero
        clearSlot(this.hist, pos * nb, n * nb, nb);
        clearSlot(this.coarse!, pos * chunks, n * chunks, chunks);
        clearSlot(this.rt!, pos * R_FIELDS, n * R_FIELDS, R_MAX); // count and sum leave the total; max just goes
        this.rt![pos * R_FIELDS + R_MAX] = 0;
      }
      const r = this.rt!;
      let max = 0;
      for (let k = 0; k < n; k++) if (r[k * R_FIELDS + R_MAX]! > max) max = r[k * R_FIELDS + R_MAX]!;
      r[n * R_FIELDS + R_MAX] = max;
    }
    this.hNo = no;
    this.hPos = ringPos(no, n);
    this.hEnd = (no + 1) * ms;
  }
}

/** Takes a slot's `len` fields out of the total row and zeroes them. */
function clearSlot(a: Float64Array | Uint32Array, at: number, total: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = a[at + i]!;
    if (v !== 0) {
      a[total + i]! -= v;
      a[at + i] = 0;
    }
  }
}
