/**
 * A read-only hash table from strings to small integers (a scene index, a version index), probed with a hash the
 * caller already computed (murmur3 of a unit id, the sampled key of a scene id). Why not a Map: a key that arrives fresh from a request makes V8 hash the
 * string itself (about 60–110 ns here); the router hashes the unit id once anyway and reuses that hash.
 *
 * Layout: one Int32Array of (hash, entry, value) triples, linear probing at load ≤ 0.5, so a probe touches one
 * cache line for all three, then the stored key once to confirm (a hash match alone is not enough: murmur3 has
 * seed-independent collisions, and a forged unit id must never inherit a whitelisted one's version).
 *
 * Large tables also keep a one-hash Bloom filter of 16 bits per key (about 6% false positives, 200 KB for 100,000
 * keys, so it stays in L2): most look-ups in a whitelist are misses, and the filter answers them without touching
 * the slot table, which at that size lives in memory, not cache.
 */
const FILTER_FROM = 1024;
export class StringTable {
  readonly size: number;
  private readonly mask: number;
  /** [hash, entry + 1 (0 = empty), value] per slot */
  private readonly slots: Int32Array;
  private readonly keys: string[];
  private readonly filter: Uint32Array | null;
  private readonly filterShift: number;

  /** `valueOf(key, i)` gives the value of `keys[i]`: no array of pairs is built for a table of a million keys. */
  constructor(keys: readonly string[], valueOf: (key: string, i: number) => number, hash: (key: string) => number) {
    let capacity = 8;
    while (capacity < keys.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * 3);
    this.keys = [];
    for (let n = 0; n < keys.length; n++) {
      const key = keys[n]!;
      const value = valueOf(key, n);
      const h = hash(key) | 0;
      let i = h & this.mask;
      for (;;) {
        const entry = this.slots[i * 3 + 1]!;
        if (entry === 0) break;
        if (this.keys[entry - 1] === key) break; // a repeated key: the last value wins
        i = (i + 1) & this.mask;
      }
      const at = i * 3;
      if (this.slots[at + 1] === 0) {
        this.keys.push(key);
        this.slots[at + 1] = this.keys.length;
      }
      this.slots[at] = h;
      this.slots[at + 2] = value;
    }
    this.size = this.keys.length;
    let bits = 1 << 15;
    while (bits < this.size * 16) bits *= 2;
    this.filterShift = 32 - Math.log2(bits);
    this.filter = this.size >= FILTER_FROM ? new Uint32Array(bits / 32) : null;
    if (this.filter) for (let i = 0; i < this.slots.length; i += 3) if (this.slots[i + 1] !== 0) this.mark(this.slots[i]!);
  }

  /** The filter bit of a hash: from its high bits after a remix, independent of the slot index (low bits). */
  private bit(h: number): number {
    return Math.imul(h, 0x9e3779b1) >>> this.filterShift;
  }

  private mark(h: number): void {
    const b = this.bit(h);
    this.filter![b >>> 5]! |= 1 << (b & 31);
  }

  /** The value of `key`, or -1. `hash` must be `hash(key)` as given to the constructor. */
  get(key: string, hash: number): number {
    const h = hash | 0;
    if (this.filter !== null) {
      const b = this.bit(h);
      if ((this.filter[b >>> 5]! & (1 << (b & 31))) === 0) return -1;
    }
    const slots = this.slots;
    let i = h & this.mask;
    for (;;) {
      const at = i * 3;
      const entry = slots[at + 1]!;
      if (entry === 0) return -1;
      if (slots[at] === h && this.keys[entry - 1] === key) return slots[at + 2]!;
      i = (i + 1) & this.mask;
    }
  }
}
