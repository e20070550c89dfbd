# Independent reference of gearshift's routing hash (see src/route/hash.ts), in another language, to produce the
# published test vectors. Run: python3 scripts/hash_vectors.py
def fnv(state, data):
    for b in data:
        state = ((state ^ b) * 0x01000193) & 0xFFFFFFFF
    return state

def fmix32(h):
    h ^= h >> 16; h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13; h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h

def utf8(s):
    return s.encode('utf-8', 'surrogatepass').decode('utf-8', 'replace').encode('utf-8')

def unit_hash(unit):
    return fnv(0x811C9DC5, utf8(unit))

def bucket(seed, unit):
    u = unit_hash(unit)
    return fmix32(fnv(fnv(0x811C9DC5, utf8(seed)), u.to_bytes(4, 'little'))) % 10000

cases = [("feed", ""), ("feed", "user-42"), ("feed", "alice"), ("fund_page", "device:9f86d081"),
         ("feed/rank", "user-42"), ("检索", "用户-7"), ("feed", "emoji-\U0001F600"), ("s", "a" * 256)]
for seed, unit in cases:
    shown = unit if len(unit) < 40 else "a" * 3 + "…(256 × a)"
    print(f"{seed!r:14} {shown!r:22} unitHash=0x{unit_hash(unit):08x} bucket={bucket(seed, unit)}")
