/**
 * A read-only hash table from strings to values, probed with a hash the caller already computed (our FNV-1a).
 * Why not a Map: a key that arrives fresh from a request makes V8 hash the string itself (about 60–110 ns here);
 * the router hashes the unit id once anyway, so it reuses that hash for the whitelist and the scene look-up.
 * Open addressing with linear probing at load ≤ 0.5: the cost is flat in the table's size.
 */
export class StringTable<V> {
  readonly size: number;
  private readonly mask: number;
  private readonly hashes: Int32Array;
  private readonly keys: (string | undefined)[];
  private readonly values: (V | undefined)[];

  constructor(entries: Iterable<readonly [string, V]>, hash: (key: string) => number) {
    const list = [...entries];
    let capacity = 8;
    while (capacity < list.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.hashes = new Int32Array(capacity);
    this.keys = new Array<string | undefined>(capacity).fill(undefined);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    for (const [key, value] of list) {
      const h = hash(key) | 0;
      let i = h & this.mask;
      while (this.keys[i] !== undefined && this.keys[i] !== key) i = (i + 1) & this.mask;
      this.hashes[i] = h;
      this.keys[i] = key;
      this.values[i] = value;
    }
    this.size = list.length;
  }

  /** `hash` must be `hash(key)` as given to the constructor. */
  get(key: string, hash: number): V | undefined {
    const h = hash | 0;
    let i = h & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === undefined) return undefined;
      if (this.hashes[i] === h && k === key) return this.values[i];
      i = (i + 1) & this.mask;
    }
  }
}
