/**
 * The routing hash, defined byte-exact so any service in any language can reproduce a decision:
 *
 *   unitHash(unit)        = FNV-1a-32 over the UTF-8 bytes of the unit id
 *                           (lone surrogates encode as U+FFFD, exactly as TextEncoder does)
 *   saltState(seed)       = FNV-1a-32 over the UTF-8 bytes of the seed (the state is kept, not finalised)
 *   bucket(seed, unit)    = fmix32( FNV-1a continued from saltState(seed) over the 4 bytes of unitHash,
 *                                   least significant byte first ) mod 10000
 *
 * fmix32 is MurmurHash3's finaliser. Hashing the unit once and continuing each salt's precomputed state over just
 * four bytes lets one request derive independent buckets for the code split and every layer at the cost of one pass
 * over the unit id. The modulo bias of 2^32 mod 10000 is below 2e-6 per bucket.
 */
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continues an FNV-1a-32 state over the UTF-8 encoding of `s`, without allocating the bytes. */
export function fnv1aUtf8(state: number, s: string): number {
  let h = state;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          h = Math.imul(h ^ (0xf0 | (c >> 18)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
          h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
          continue;
        }
        c = 0xfffd; // lone surrogate
      }
      h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}

export const unitHash = (unit: string): number => fnv1aUtf8(FNV_OFFSET, unit) >>> 0;
export const saltState = (seed: string): number => fnv1aUtf8(FNV_OFFSET, seed);

/** MurmurHash3 fmix32: spreads every input bit over the output so nearby unit hashes land in unrelated buckets. */
export function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket (0..9999) of a unit under one salt. */
export function bucketOf(salt: number, unit: number): number {
  let h = Math.imul(salt ^ (unit & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((unit >>> 8) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ ((unit >>> 16) & 0xff), FNV_PRIME);
  h = Math.imul(h ^ (unit >>> 24), FNV_PRIME);
  return fmix32(h) % 10_000;
}
