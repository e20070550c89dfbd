import { describe, expect, it } from 'vitest';
import { bucketOf, FNV_OFFSET, fmix32, fnv1aUtf8, saltState, unitHash } from '../src/route/hash.js';

/** Published vectors, produced by the independent Python implementation in scripts/hash_vectors.py. */
const VECTORS: [seed: string, unit: string, unitHash: number, bucket: number][] = [
  ['feed', '', 0x811c9dc5, 1150],
  ['feed', 'user-42', 0x026073ab, 9558],
  ['feed', 'alice', 0x872213e7, 4388],
  ['fund_page', 'device:9f86d081', 0xa11f3ca9, 5136],
  ['feed/rank', 'user-42', 0x026073ab, 7437],
  ['检索', '用户-7', 0xd803ba91, 7918],
  ['feed', 'emoji-\u{1F600}', 0x2da09c9d, 2500],
  ['s', 'a'.repeat(256), 0x6c44e2c5, 6908],
];

/** The obvious implementation: encode, then loop over bytes. The fast path must agree with it on every string. */
function reference(seed: string, unit: string): { u: number; bucket: number } {
  const fnv = (state: number, bytes: Uint8Array) => bytes.reduce((h, b) => Math.imul(h ^ b, 0x01000193), state);
  const u = fnv(FNV_OFFSET, new TextEncoder().encode(unit)) >>> 0;
  const le = new Uint8Array(new Uint32Array([u]).buffer);
  return { u, bucket: fmix32(fnv(fnv(FNV_OFFSET, new TextEncoder().encode(seed)), le)) % 10_000 };
}

describe('routing hash', () => {
  it.each(VECTORS)('vector seed=%j unit=%j', (seed, unit, u, bucket) => {
    expect(unitHash(unit)).toBe(u);
    expect(bucketOf(saltState(seed), unitHash(unit))).toBe(bucket);
  });

  it('matches a TextEncoder-based reference on ASCII, BMP, astral and lone-surrogate strings', () => {
    const samples = ['', 'x', 'user-1', 'é', '€', 'ü-ß-ñ', '\u{10FFFF}', '\u{1F600}\u{1F601}', '\ud800', 'a\udc00b', '\ud83d', 'x\ud83d'];
    let seed = 12345;
    const rnd = () => ((seed = Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 500; i++) {
      const len = Math.floor(rnd() * 24);
      samples.push(String.fromCharCode(...Array.from({ length: len }, () => Math.floor(rnd() * 0x10000))));
    }
    for (const s of samples) {
      const ref = reference('seed', s);
      expect(unitHash(s), JSON.stringify(s)).toBe(ref.u);
      expect(bucketOf(saltState('seed'), unitHash(s))).toBe(ref.bucket);
    }
  });

  it('continuing a salt state equals hashing the concatenated bytes', () => {
    expect(fnv1aUtf8(saltState('feed'), '/rank') >>> 0).toBe(fnv1aUtf8(FNV_OFFSET, 'feed/rank') >>> 0);
  });
});
