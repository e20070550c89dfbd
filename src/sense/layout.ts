/**
 * The bucket layout of the RT histograms: HDR's log-linear layout (the one hdr-histogram-js uses), over whole
 * microseconds. Values below 2·2^bits µs get one bucket each; above, every octave [2^e, 2^(e+1)) is cut into 2^bits
 * equal buckets, so a bucket is never wider than 1/2^bits of its lower edge. Reporting a bucket's midpoint bounds the
 * relative error of any percentile by 1/2^(bits+1): 6.25% at the default 3 bits, 3.1% at 4.
 *
 * Why our own rows instead of one hdr-histogram-js object per slot: its `numberOfSignificantValueDigits` offers only
 * 16 (1 digit) or 128 (2 digits) sub-buckets per octave, each histogram is a separate object with its own typed
 * array, and its JS percentile read walks every bucket per call. 10,000 series × 11 rows fit in 256 MB only as bare
 * Uint32 rows of a few hundred buckets, read with a coarse-then-fine walk (the README, Sensing, has the measurements).
 */

export class HistogramLayout {
  /** Sub-buckets per octave. */
  readonly half: number;
  /** Values (µs) at or above this land in the top bucket. */
  readonly maxUnits: number;
  /** Buckets per row. */
  readonly buckets: number;
  /** Midpoint of every bucket in ms, precomputed so a percentile scan does no arithmetic per bucket. */
  readonly mid: Float64Array;
  private readonly exact: number;

  constructor(readonly bits: number, readonly maxMs: number) {
    this.half = 1 << bits;
    this.exact = 2 * this.half;
    // Keep every value a positive int32 so clz32 and the shifts below stay exact.
    this.maxUnits = Math.min(Math.max(Math.ceil(maxMs * 1000), this.exact), 0x3fffffff);
    this.buckets = this.indexOfUnits(this.maxUnits) + 1;
    this.mid = new Float64Array(this.buckets);
    for (let i = 0; i < this.buckets; i++) this.mid[i] = (this.lowerUnits(i) + this.widthUnits(i) / 2) / 1000;
  }

  /** Bucket of an RT in ms. NaN and negatives count as 0; slower than maxMs as the top bucket. */
  index(rtMs: number): number {
    let v = rtMs * 1000;
    if (!(v > 0)) v = 0;
    else if (v > this.maxUnits) v = this.maxUnits;
    return this.indexOfUnits(v | 0);
  }

  private indexOfUnits(v: number): number {
    if (v < this.exact) return v;
    const shift = 31 - Math.clz32(v) - this.bits;
    return shift * this.half + (v >>> shift);
  }

  /** Lower edge of a bucket, in µs. */
  lowerUnits(i: number): number {
    if (i < this.exact) return i;
    const shift = Math.floor(i / this.half) - 1;
    return (i - shift * this.half) * 2 ** shift;
  }

  /** Width of a bucket, in µs. */
  widthUnits(i: number): number {
    return i < this.exact ? 1 : 2 ** (Math.floor(i / this.half) - 1);
  }
}
