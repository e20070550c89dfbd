/**
 * The routing hash, defined byte-exact so any service in any language can reproduce a decision with a stock
 * MurmurHash3 library:
 *
 *   unitHash(unit)     = murmur3_x86_32( UTF-8 bytes of the unit id, seed 0 )
 *                        (lone surrogates encode as U+FFFD, exactly as TextEncoder does)
 *   saltOf(seed)       = murmur3_x86_32( UTF-8 bytes of the seed string, seed 0 )
 *   bucket(seed, unit) = murmur3_x86_32( the 4 bytes of unitHash, least significant first, seed saltOf(seed) ) mod 10000
 *
 * Hashing the unit once and re-mixing its 32-bit hash under each salt lets one request derive independent buckets
 * for the code split and every layer at the cost of one pass over the unit id. MurmurHash3 consumes 4 bytes per
 * multiply-rotate round, about three times faster here than a byte-at-a-time FNV-1a. The modulo bias of
 * 2^32 mod 10000 is below 2e-6 per bucket.
 *
 * The hot path keeps every hash as a signed int32 (`hash32`) and converts to the unsigned value of the definition
 * only at the public edge. An unsigned 32-bit number above 2^31 is not a small integer to V8: returned from a call
 * it is boxed (an allocation per request), and `%` on it compiles to a floating-point remainder.
 */
import { shown, UsageError } from '../errors.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3's block mix: one 4-byte little-endian block `k` into state `h`. */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's tail (1–3 leftover bytes in `k`) and finaliser, given the total byte length. */
function finish(h: number, k: number, tailBytes: number, byteLength: number): number {
  if (tailBytes > 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix32(h ^ byteLength);
}

/** MurmurHash3 fmix32 (as an int32): spreads every input bit over the output. */
export function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** murmur3_x86_32 of the UTF-8 encoding of `s`, as the unsigned 32-bit value of the definition. */
export function murmurUtf8(s: string, seed: number): number {
  if (typeof s !== 'string') throw new UsageError(`murmurUtf8(s, seed): s must be a string, got ${shown(s)}`);
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new UsageError(`murmurUtf8(s, seed): seed must be an integer, got ${shown(seed)}`);
  return hash32(s, seed) >>> 0;
}

/**
 * murmur3_x86_32 of the UTF-8 encoding of `s` as a signed int32 (same bits), without allocating the bytes. Ids are
 * almost always ASCII, so the loop takes four characters per round until it meets a non-ASCII one, then hands over
 * to a byte-wise encoder (a branchy loop body would cost the common case about half its speed).
 */
export function hash32(s: string, seed: number): number {
  let h = seed | 0;
  const n = s.length;
  const blocks = n & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return murmurUtf8From(s, i, h, i);
    // mixBlock() written out (here and in the tail below), which also keeps this function above TurboFan's size
    // limit for inlining (460 bytes of bytecode): inlined, it used up the router's inlining budget (about 920 bytes
    // per optimised function), so the Decision constructor was not inlined and went through the generic construct
    // stub on every request. A call to this loop costs a few instructions; that stub cost ~150.
    let k = Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let shift = 0; i < n; i++, shift += 8) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return murmurUtf8From(s, blocks, h, blocks);
    k |= c << shift;
  }
  if (n !== blocks) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The general case: encodes UTF-8 byte by byte from `from` (a block boundary), `bytes` already consumed. */
function murmurUtf8From(s: string, from: number, state: number, bytes: number): number {
  let h = state;
  let k = 0;
  let fill = 0;
  let length = bytes;
  const put = (b: number): void => {
    k |= b << (fill * 8);
    length++;
    if (++fill === 4) {
      h = mixBlock(h, k);
      k = 0;
      fill = 0;
    }
  };
  for (let i = from; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) put(c);
    else if (c < 0x800) {
      put(0xc0 | (c >> 6));
      put(0x80 | (c & 0x3f));
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          put(0xf0 | (c >> 18));
          put(0x80 | ((c >> 12) & 0x3f));
          put(0x80 | ((c >> 6) & 0x3f));
          put(0x80 | (c & 0x3f));
          continue;
        }
        c = 0xfffd; // lone surrogate, as TextEncoder encodes it
      }
      put(0xe0 | (c >> 12));
      put(0x80 | ((c >> 6) & 0x3f));
      put(0x80 | (c & 0x3f));
    }
  }
  return finish(h, k, fill, length);
}

export const unitHash = (unit: string): number => murmurUtf8(unit, 0);
export const saltOf = (seed: string): number => murmurUtf8(seed, 0);

/**
 * The bucket (0..9999) of a unit under one salt: murmur3 of the unit hash's 4 bytes, seeded with the salt, taken
 * as unsigned, mod 10000. Salt and unit may be given signed or unsigned (only their 32 bits count). The unsigned
 * remainder is computed in int32 arithmetic: h = hi·2^16 + lo, and (hi mod 10000)·2^16 + lo stays below 2^31.
 */
export function bucketOf(salt: number, unit: number): number {
  const h = fmix32(mixBlock(salt, unit) ^ 4); // finish() without tail bytes: fmix32(h ^ length)
  return (((h >>> 16) % 10_000) * 0x10000 + (h & 0xffff)) % 10_000;
}
