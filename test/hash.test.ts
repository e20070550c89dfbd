import { describe, expect, it } from 'vitest';
import { bucketOf, hash32, murmurUtf8, saltOf, unitHash } from '../src/route/hash.js';
import { murmurBytes } from './murmur-reference.js';

/** Published vectors, produced by the independent Python implementation in scripts/hash_vectors.py. */
const VECTORS: [seed: string, unit: string, unitHash: number, bucket: number][] = [
  ['feed', '', 0x00000000, 6130],
  ['feed', 'user-42', 0xb972dad0, 3375],
  ['feed', 'alice', 0x4c518edd, 4555],
  ['fund_page', 'device:9f86d081', 0x075c85b8, 380],
  ['feed/rank', 'user-42', 0xb972dad0, 3001],
  ['检索', '用户-7', 0xff771d3e, 8070],
  ['feed', 'emoji-\u{1F600}', 0x84ed3ffb, 8354],
  ['s', 'a'.repeat(256), 0xa8796809, 3653],
];

const enc = new TextEncoder();

describe('routing hash', () => {
  it('is MurmurHash3 x86_32 (published reference vectors)', () => {
    expect(murmurUtf8('hello', 0)).toBe(0x248bfa47);
    expect(murmurUtf8('The quick brown fox jumps over the lazy dog', 0)).toBe(0x2e4ff723);
    expect(murmurUtf8('', 1)).toBe(0x514e28b7);
  });

  it.each(VECTORS)('vector seed=%j unit=%j', (seed, unit, u, bucket) => {
    expect(unitHash(unit)).toBe(u);
    expect(bucketOf(saltOf(seed), unitHash(unit))).toBe(bucket);
  });

  it('matches a TextEncoder-based reference on ASCII, BMP, astral and lone-surrogate strings of every length', () => {
    const samples = ['', 'x', 'ab', 'abc', 'abcd', 'user-1', 'é', '€', 'aé', 'abcé', 'abcdé', 'ü-ß-ñ', '\u{10FFFF}', '\u{1F600}\u{1F601}', '\ud800', 'a\udc00b', '\ud83d', 'x\ud83d', 'abc\ud83d'];
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 24);
      const wide = rnd() < 0.5;
      samples.push(String.fromCharCode(...Array.from({ length: len }, () => Math.floor(rnd() * (wide ? 0x10000 : 0x80)))));
    }
    for (const s of samples) {
      const u = murmurBytes(enc.encode(s), 0);
      expect(unitHash(s), JSON.stringify(s)).toBe(u);
      const le = new Uint8Array(new Uint32Array([u]).buffer);
      expect(bucketOf(saltOf('seed'), u)).toBe(murmurBytes(le, murmurBytes(enc.encode('seed'), 0)) % 10_000);
      // The router's int32 forms carry the same bits: the same buckets from signed inputs.
      expect(hash32(s, 0)).toBe(u | 0);
      expect(bucketOf(saltOf('seed') | 0, u | 0)).toBe(bucketOf(saltOf('seed'), u));
    }
  });
});
