# Independent reference of gearshift's routing hash (see src/route/hash.ts), written from the MurmurHash3 x86_32
# definition in another language, to produce the published test vectors. Run: python3 scripts/hash_vectors.py
import struct

def murmur3_32(data: bytes, seed: int) -> int:
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & mask
    h = seed & mask
    n = len(data) & ~3
    for i in range(0, n, 4):
        k = struct.unpack_from('<I', data, i)[0]
        k = rotl((k * c1) & mask, 15) * c2 & mask
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & mask
    tail = data[n:]
    if tail:
        k = int.from_bytes(tail, 'little')
        h ^= rotl((k * c1) & mask, 15) * c2 & mask
    h ^= len(data)
    h ^= h >> 16; h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13; h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)

def utf8(s: str) -> bytes:
    # Python strings hold code points; none of the vectors has a lone surrogate (the JS tests cover those).
    return s.encode('utf-8')

def unit_hash(unit: str) -> int:
    return murmur3_32(utf8(unit), 0)

def bucket(seed: str, unit: str) -> int:
    return murmur3_32(unit_hash(unit).to_bytes(4, 'little'), murmur3_32(utf8(seed), 0)) % 10000

cases = [("feed", ""), ("feed", "user-42"), ("feed", "alice"), ("fund_page", "device:9f86d081"),
         ("feed/rank", "user-42"), ("检索", "用户-7"), ("feed", "emoji-\U0001F600"), ("s", "a" * 256)]
if __name__ == '__main__':
    for seed, unit in cases:
        shown = unit if len(unit) < 40 else "'a' * 256"
        print(f"| `{seed}` | `{shown}` | `0x{unit_hash(unit):08x}` | {bucket(seed, unit)} |")
