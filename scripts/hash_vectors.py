# Independent reference of gearshift's routing hash (see src/route/hash.ts), written from the MurmurHash3 x86_32
# definition in another language, to produce the published test vectors. Run: python3 scripts/hash_vectors.py
import json
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
    # As JavaScript's TextEncoder does: the string as UTF-16 code units, a lone surrogate as U+FFFD, a pair as one
    # character. (A Python str holds code points; 'surrogatepass' then 'replace' gives exactly that.)
    return s.encode('utf-16-le', 'surrogatepass').decode('utf-16-le', 'replace').encode('utf-8')

def unit_hash(unit: str) -> int:
    return murmur3_32(utf8(unit), 0)

def bucket(seed: str, unit: str) -> int:
    return murmur3_32(unit_hash(unit).to_bytes(4, 'little'), murmur3_32(utf8(seed), 0)) % 10000

def config_version(doc) -> str:
    # RFC 8785 (JCS) canonical JSON. json.dumps matches it for these documents: keys sorted by code point (the same
    # order as UTF-16 code units within the BMP), integers and 0.5 written as JavaScript writes them, no escapes.
    canonical = json.dumps(doc, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    return f"h{murmur3_32(utf8(canonical), 0):08x}"

cases = [("feed", ""), ("feed", "user-42"), ("feed", "alice"), ("fund_page", "device:9f86d081"),
         ("feed/rank", "user-42"), ("检索", "用户-7"), ("feed", "emoji-\U0001F600"), ("s", "a" * 256),
         # lone surrogates (U+FFFD), written as JavaScript escapes in the table
         ("feed", "a\ud800"), ("feed", "\udc00"), ("feed", "x\ud83d"), ("feed", "\ude00\ud83d")]

# Documents without `version`: their default label. Numeric whitelist keys sort as strings ("10" before "9").
config_cases = [
    {"scenes": {"feed": {"versions": {"main": {"stage": "base"}}}}},
    {"scenes": {"feed": {"versions": {"main": {"stage": "base"}, "canary": {"stage": "up"}},
                         "split": [{"version": "canary", "weight": 5}, {"version": "main", "weight": 95}],
                         "whitelist": {"10": "canary", "9": "canary", "alice": "main"},
                         "params": {"title": "推荐", "depth": 0.5}}}},
]

def js_escaped(s: str) -> str:
    return ''.join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)

if __name__ == '__main__':
    for seed, unit in cases:
        shown = js_escaped(unit) if len(unit) < 40 else "'a' * 256"
        print(f"| `{seed}` | `{shown}` | `0x{unit_hash(unit):08x}` | {bucket(seed, unit)} |")
    for doc in config_cases:
        print(f"| `{json.dumps(doc, separators=(',', ':'), ensure_ascii=False)}` | `{config_version(doc)}` |")
