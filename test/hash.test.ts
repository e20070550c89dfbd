import { describe, expect, it } from 'vitest';
import { bucketOf, hash32, murmurUtf8, saltOf, unitHash } from '../src/route/hash.js';
import { murmurBytes } from './murmur-reference.js';
import { createGearshift } from '../src/engine.js';
import type { GearshiftConfig } from '../src/config/schema.js';

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
  // Lone surrogates encode as U+FFFD (the Python reference encodes through UTF-16 to get there).
  ['feed', 'a\ud800', 0xf844c329, 1098],
  ['feed', '\udc00', 0xb69ca6c1, 6325],
  ['feed', 'x\ud83d', 0xbc26fc16, 4127],
  ['feed', '\ude00\ud83d', 0x8edd077a, 1241],
];

/** A document without `version` and its label: murmur3 of its RFC 8785 canonical JSON (README; scripts/hash_vectors.py). */
const CONFIG_VECTORS: [doc: GearshiftConfig, label: string][] = [
  [{ scenes: { feed: { versions: { main: { stage: 'base' } } } } }, 'h36d8c8e0'],
  [
    {
      scenes: {
        feed: {
          versions: { main: { stage: 'base' }, canary: { stage: 'up' } },
          split: [{ version: 'canary', weight: 5 }, { version: 'main', weight: 95 }],
          // integer-like keys: JSON.stringify writes them first, in numeric order ("9" before "10"); JCS sorts them as strings
          whitelist: { '10': 'canary', '9': 'canary', alice: 'main' },
          params: { title: '推荐', depth: 0.5 },
        },
      },
    },
    'ha2ac5ecc',
  ],
];

/**
 * Whole decisions (README, "Decision vectors"): the split with base listed first and weights whose ×100 is not exact
 * in binary (1.13, 4.81: rounded, not truncated), a layer with an arm at 0%, one limited to a version, no unit, and a
 * unit over the length limit. An independent Python implementation written from the README agreed on each.
 */
const DECISION_CONFIG: GearshiftConfig = {
  version: 'v1',
  scenes: {
    feed: {
      versions: { main: { stage: 'base' }, canary: { stage: 'up' }, exp: { stage: 'up' } },
      split: [{ version: 'main', weight: 94.06 }, { version: 'canary', weight: 1.13 }, { version: 'exp', weight: 4.81 }],
      layers: [
        { name: 'rank', arms: [{ name: 'off', weight: 0 }, { name: 'a', weight: 0.29 }, { name: 'b', weight: 99.71 }] },
        { name: 'ui', versions: ['canary'], arms: [{ name: 'x', weight: 50 }, { name: 'y', weight: 50 }] },
      ],
    },
  },
};
const DECISION_VECTORS: [unit: string, reason: string, bucket: number, version: string, arms: Record<string, string>, ignored: number][] = [
  ['u2529', 'split', 112, 'canary', { rank: 'b', ui: 'y' }, 0],
  ['u3514', 'split', 113, 'exp', { rank: 'b' }, 0],
  ['u3576', 'split', 593, 'exp', { rank: 'b' }, 0],
  ['u677', 'split', 594, 'main', { rank: 'b' }, 0],
  ['r4147', 'split', 6715, 'main', { rank: 'a' }, 0],
  ['', 'no_unit', -1, 'main', { rank: 'a' }, 0],
  ['\u{1F600}'.repeat(129), 'no_unit', -1, 'main', { rank: 'a' }, 8],
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

  it.each(CONFIG_VECTORS)('labels a document without a version by its canonical JSON: %#', (doc, label) => {
    const gs = createGearshift({ config: doc });
    try {
      expect(gs.route('feed', 'u1').configVersion).toBe(label);
    } finally {
      gs.close();
    }
  });

  it('reproduces the published decision vectors', () => {
    const gs = createGearshift({ config: DECISION_CONFIG });
    try {
      for (const [unit, reason, bucket, version, arms, ignored] of DECISION_VECTORS) {
        const d = gs.route('feed', unit);
        expect({ reason: d.reason, bucket: d.bucket, version: d.version, arms: { ...d.arms() }, ignored: d.ignored }, unit.slice(0, 8)).toEqual({ reason, bucket, version, arms, ignored });
      }
    } finally {
      gs.close();
    }
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
