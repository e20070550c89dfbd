/**
 * The routing hash written the obvious way, independent of src/route/hash.ts: encode with TextEncoder, then
 * MurmurHash3 x86_32 over the bytes. Tests compare the router's fast, allocation-free hash against it.
 */

/** MurmurHash3 x86_32 of `bytes`, unsigned. */
export function murmurBytes(bytes: Uint8Array, seed: number): number {
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  let h = seed | 0;
  const n = bytes.length & ~3;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i += 4) {
    const k = Math.imul(rotl(Math.imul(view.getUint32(i, true), 0xcc9e2d51), 15), 0x1b873593);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let i = bytes.length - 1; i >= n; i--) k = (k << 8) | bytes[i]!;
  if (bytes.length > n) h ^= Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
  h ^= bytes.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const enc = new TextEncoder();

/** The unit hash of the definition: murmur3 of the unit id's UTF-8 bytes, seed 0. */
export const referenceUnitHash = (unit: string): number => murmurBytes(enc.encode(unit), 0);

/** The bucket of the definition: murmur3 of the unit hash's 4 bytes (little-endian), seeded with the seed's hash, mod 10,000. */
export function referenceBucket(seed: string, unit: string): number {
  const le = new Uint8Array(new Uint32Array([referenceUnitHash(unit)]).buffer);
  return murmurBytes(le, murmurBytes(enc.encode(seed), 0)) % 10_000;
}
