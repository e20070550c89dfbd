/**
 * Trust: when may a request's own claims (an explicit version, a load-test marker, a decision made upstream) steer
 * routing? Only when they are signed with a configured key (HMAC-SHA256 over scene, version, flags and an expiry) or
 * when the request comes straight from a configured trusted-proxy address range. Everything else is ignored and counted.
 *
 * Signed token (one header value, ASCII, no spaces):
 *   `g1;<expiry unix s>;<flags>;<scene>;<version>;<config version, percent-encoded>;<bucket>;<base64url HMAC>`
 * `flags` is `l` for load-test traffic or empty. Scene and version are config names (NAME pattern: no `;`, ASCII).
 * The HMAC covers everything before the last `;`. Verification compares in constant time (`timingSafeEqual`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { brand } from '../brand.js';
import { NAME } from '../config/schema.js';
import { isPlainObject, refuseUnknownKeys, shown, UsageError } from '../errors.js';

/** A decision or hint as a signed token carries it. */
export interface SignedHint {
  readonly scene: string;
  /** Version name, or '' for a load-test marker without a version. */
  readonly version: string;
  readonly loadTest: boolean;
  /** Expiry, unix seconds. */
  readonly expiresAt: number;
  /** Config version the upstream decided with ('' when not carried). */
  readonly configVersion: string;
  /** Upstream bucket (-1 when not carried). */
  readonly bucket: number;
}

export interface TrustOptions {
  /**
   * HMAC keys. The first signs; all verify (rotate by prepending the new key, drop the old one later).
   * At least 16 bytes each (32 random bytes recommended). No key: signed headers are never honoured.
   */
  keys?: ReadonlyArray<string | Uint8Array> | undefined;
  /** Trusted-proxy ranges (CIDR or single address, IPv4 or IPv6), matched against the socket's peer address. */
  proxies?: readonly string[] | undefined;
  /** Longest accepted remaining lifetime of a signed token, seconds (guards against far-future tokens). Default 300. */
  maxTtlSec?: number | undefined;
  /** Clock for expiry checks, unix ms. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** On a load-test marker kept from a token refused otherwise: why it was refused (counted so, not as `signed`). */
const kRefusedFor = Symbol('gearshift.refusedFor');

/** Why a signed token was refused, counted per reason. */
export type TrustRefusal = 'malformed' | 'bad_signature' | 'expired' | 'expired_load_test' | 'too_long_lived' | 'scene_mismatch' | 'no_key' | 'bad_clock';

export interface TrustCounts {
  /** Signed tokens accepted. */
  signed: number;
  /** Requests whose plain hints were honoured because the peer is a trusted proxy. */
  proxy: number;
  /** Requests that carried hints (plain or baggage) from an untrusted peer: ignored. */
  untrusted: number;
  /** Signed tokens refused, by reason. */
  refused: Record<TrustRefusal, number>;
}

const TOKEN_PREFIX = 'g1;';
const MIN_KEY_BYTES = 16;

/** Parsed trusted-proxy ranges: IPv4 as (network, mask) uint32 pairs, IPv6 as eight 16-bit groups plus prefix. */
export class ProxyRanges {
  private readonly v4: Uint32Array; // pairs: network, mask
  private readonly v6: { groups: Uint16Array; prefix: number }[];
  /** Last few peer addresses and their verdict: proxies are few, so this almost always hits. */
  private readonly cache = new Map<string, boolean>();

  /** No range at all: no peer is a trusted proxy. */
  get empty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  constructor(ranges: readonly string[]) {
    const v4: number[] = [];
    this.v6 = [];
    for (const r of ranges) {
      if (typeof r !== 'string') throw new UsageError(`trust.proxies: expected CIDR strings, got ${typeof r}`);
      const slash = r.indexOf('/');
      const addr = slash < 0 ? r.trim() : r.slice(0, slash).trim();
      const kind = isIP(addr);
      if (kind === 0) throw new UsageError(`trust.proxies: "${r}" is not an IPv4/IPv6 address or CIDR range`);
      const max = kind === 4 ? 32 : 128;
      // Digits only: Number('') and Number(' ') are 0, so a templated range with an empty prefix ('10.0.0.1/') would
      // have trusted every address on the internet.
      const digits = slash < 0 ? String(max) : r.slice(slash + 1);
      const prefix = /^\d{1,3}$/.test(digits) ? Number(digits) : Number.NaN;
      if (!(prefix >= 0 && prefix <= max)) throw new UsageError(`trust.proxies: bad prefix length in "${r}" (0–${max}, digits only)`);
      if (kind === 4) {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        v4.push((parseV4(addr)! & mask) >>> 0, mask);
      } else {
        const g = parseV6(addr)!;
        const mapped = v4MappedOf(g);
        // '::ffff:10.0.0.0/8' reads as ::/8 (loopback and NAT64 peers, not 10.x): certainly not what was meant.
        if (mapped !== null && prefix < 96) throw new UsageError(`trust.proxies: "${r}" is an IPv4-mapped address with a prefix under 96; write the IPv4 range (e.g. 10.0.0.0/8)`);
        if (mapped !== null) {
          const p = prefix - 96;
          const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
          v4.push((mapped & mask) >>> 0, mask);
        } else this.v6.push({ groups: g, prefix });
      }
    }
    this.v4 = Uint32Array.from(v4);
  }

  get size(): number {
    return this.v4.length / 2 + this.v6.length;
  }

  /** Is this peer address inside one of the ranges? Malformed or missing addresses are not. */
  has(address: string | undefined | null): boolean {
    if (typeof address !== 'string' || this.size === 0) return false;
    const hit = this.cache.get(address);
    if (hit !== undefined) return hit;
    const verdict = this.match(address);
    if (this.cache.size >= 64) this.cache.clear();
    this.cache.set(address, verdict);
    return verdict;
  }

  private match(address: string): boolean {
    const pct = address.indexOf('%'); // IPv6 zone id
    const a = pct < 0 ? address : address.slice(0, pct);
    let v4 = pct < 0 ? parseV4(a) : null; // '10.0.0.1%x' is no address: a zone id belongs to IPv6 only
    if (v4 === null) {
      const g = parseV6(a);
      if (g === null) return false;
      v4 = v4MappedOf(g);
      if (v4 === null) {
        for (const r of this.v6) if (prefixEqual(g, r.groups, r.prefix)) return true;
        return false;
      }
    }
    for (let i = 0; i < this.v4.length; i += 2) if (((v4 & this.v4[i + 1]!) >>> 0) === this.v4[i]) return true;
    return false;
  }
}

/**
 * Dotted-quad IPv4 in its canonical form only. A leading zero is refused: `inet_aton` and many proxies read `010` as
 * octal (8), so `010.0.0.1` names 8.0.0.1 to them and must not match 10.0.0.0/8 here (Node's `isIP` refuses it too).
 */
function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const b = Number(p);
    if (b > 255) return null;
    n = n * 256 + b;
  }
  return n >>> 0;
}

function parseV6(s: string): Uint16Array | null {
  if (isIP(s) !== 6) return null;
  let head = s;
  let tail4: number | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > 0) {
    tail4 = parseV4(s.slice(lastColon + 1));
    if (tail4 === null) return null;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  const left = dbl < 0 ? head.split(':') : head.slice(0, dbl).split(':').filter((x) => x !== '');
  const right = dbl < 0 ? [] : head.slice(dbl + 2).split(':').filter((x) => x !== '');
  const out = new Uint16Array(8);
  if (dbl < 0 && left.length !== 8) return null;
  for (let i = 0; i < left.length; i++) out[i] = parseInt(left[i]!, 16);
  for (let i = 0; i < right.length; i++) out[8 - right.length + i] = parseInt(right[i]!, 16);
  if (tail4 !== null) {
    out[6] = tail4 >>> 16;
    out[7] = tail4 & 0xffff;
  }
  return out;
}

/** `::ffff:a.b.c.d` → the IPv4 address as uint32, else null. */
function v4MappedOf(g: Uint16Array): number | null {
  for (let i = 0; i < 5; i++) if (g[i] !== 0) return null;
  if (g[5] !== 0xffff) return null;
  return ((g[6]! << 16) | g[7]!) >>> 0;
}

function prefixEqual(a: Uint16Array, b: Uint16Array, prefix: number): boolean {
  let bits = prefix;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[i]! & mask) !== (b[i]! & mask)) return false;
  }
  return true;
}

/** What a signed token carries: the scene it is for, and what it tells the service there. */
export interface SignableHint {
  scene: string;
  version?: string | null;
  loadTest?: boolean;
  configVersion?: string;
  bucket?: number;
}

const DEFAULT_SIGN_TTL_SEC = 60;

/** A hint that cannot be signed is the caller's error, named by its field (not a TypeError from deep inside). */
function checkSignable(hint: unknown): asserts hint is SignableHint {
  if (!isPlainObject(hint)) throw new UsageError(`trust.sign(hint): expected { scene, version?, loadTest?, configVersion?, bucket? }, got ${shown(hint)}`);
  // A misspelt field (`loadtest: true`) would sign a token that says less than meant: a load test sent to production.
  refuseUnknownKeys(hint, ['scene', 'version', 'loadTest', 'configVersion', 'bucket'], 'trust.sign: hint.');
  const { scene, version, loadTest, configVersion, bucket } = hint as Record<string, unknown>;
  if (typeof scene !== 'string' || scene === '') throw new UsageError(`trust.sign: hint.scene: expected a non-empty string, got ${shown(scene)}`);
  if (version != null && typeof version !== 'string') throw new UsageError(`trust.sign: hint.version: expected a string or null, got ${shown(version)}`);
  // Config names only (no ';', no space, ASCII): anything else no scene or version could match, and a token holding
  // it could not be sent as a header value.
  if (!NAME.test(scene)) throw new UsageError(`trust.sign: hint.scene: expected a scene name (${NAME}), got ${shown(scene)}`);
  if (version != null && version !== '' && !NAME.test(version)) throw new UsageError(`trust.sign: hint.version: expected a version name (${NAME}), got ${shown(version)}`);
  if (loadTest !== undefined && typeof loadTest !== 'boolean') throw new UsageError(`trust.sign: hint.loadTest: expected true or false, got ${shown(loadTest)}`);
  if (configVersion !== undefined && typeof configVersion !== 'string') throw new UsageError(`trust.sign: hint.configVersion: expected a string, got ${shown(configVersion)}`);
  if (bucket !== undefined && !Number.isInteger(bucket)) throw new UsageError(`trust.sign: hint.bucket: expected an integer, got ${shown(bucket)}`);
}

/** Signs and verifies hint tokens, checks proxy ranges, and counts what it refused. */
export class Trust {
  readonly proxies: ProxyRanges;
  private readonly keys: Buffer[];
  /** The longest lifetime a token may have, seconds: longer ones are neither signed nor honoured. */
  readonly maxTtlSec: number;
  private readonly now: () => number;
  readonly stats: TrustCounts = {
    signed: 0,
    proxy: 0,
    untrusted: 0,
    refused: { malformed: 0, bad_signature: 0, expired: 0, expired_load_test: 0, too_long_lived: 0, scene_mismatch: 0, no_key: 0, bad_clock: 0 },
  };

  constructor(options: TrustOptions = {}) {
    // Checked here, at start-up: a wrong shape would otherwise fail on the first hinted request, or (a string of
    // proxies iterated as characters) trust nothing with a misleading message.
    if (!isPlainObject(options as unknown)) throw new UsageError(`trust: expected an object or a Trust, got ${shown(options)}`);
    refuseUnknownKeys(options as Record<string, unknown>, ['keys', 'proxies', 'maxTtlSec', 'now'], 'trust.');
    const { keys = [], proxies = [], maxTtlSec = 300, now = Date.now } = options;
    if (!Array.isArray(keys)) throw new UsageError(`trust.keys: expected an array of strings or byte arrays, got ${shown(keys)}`);
    this.keys = keys.map((k: unknown, i) => {
      if (typeof k !== 'string' && !(k instanceof Uint8Array)) throw new UsageError(`trust.keys[${i}]: expected a string or byte array, got ${shown(k)}`);
      const b = typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k);
      // 16 bytes at least: a short key can be guessed offline from one token, and String(process.env.MISSING) is
      // the 9 bytes 'undefined'.
      if (b.length < MIN_KEY_BYTES) throw new UsageError(`trust.keys[${i}]: ${b.length === 0 ? 'empty key' : `a key of ${b.length} bytes`}; at least ${MIN_KEY_BYTES} bytes (32 random bytes recommended)`);
      return b;
    });
    if (!Array.isArray(proxies)) throw new UsageError(`trust.proxies: expected an array of CIDR strings, got ${shown(proxies)}`);
    this.proxies = new ProxyRanges(proxies);
    if (typeof maxTtlSec !== 'number' || !(maxTtlSec > 0 && maxTtlSec < Infinity)) throw new UsageError(`trust.maxTtlSec: expected a finite number > 0, got ${shown(maxTtlSec)}`);
    this.maxTtlSec = maxTtlSec;
    if (typeof now !== 'function') throw new UsageError(`trust.now: expected a function returning unix ms, got ${shown(now)}`);
    this.now = now;
  }

  /** True when a key is configured (signed hints can be honoured and produced). */
  get canSign(): boolean {
    return this.keys.length > 0;
  }

  /**
   * A signed token for these hints, valid for `ttlSec` (default 60 s, or `maxTtlSec` if that is shorter; at most
   * `maxTtlSec`). Needs a key.
   */
  sign(hint: SignableHint, ttlSec = Math.min(DEFAULT_SIGN_TTL_SEC, this.maxTtlSec)): string {
    const key = this.keys[0];
    if (key === undefined) throw new UsageError('trust.sign: no key configured (trust.keys)');
    if (!(ttlSec > 0 && ttlSec <= this.maxTtlSec)) throw new UsageError(`trust.sign: ttlSec must be in (0, ${this.maxTtlSec}], got ${shown(ttlSec)}`);
    checkSignable(hint);
    const scene = hint.scene;
    const version = hint.version ?? '';
    const nowSec = this.nowSec();
    if (Number.isNaN(nowSec)) throw new UsageError('trust.sign: trust.now() threw or returned no finite unix ms');
    // Rounded up from the moment of signing, not from the whole second: floor(now) + ttl left a token signed at
    // …:00.999 for 1 s a single millisecond to live.
    const exp = Math.ceil(nowSec + ttlSec);
    const body = `${TOKEN_PREFIX}${exp};${hint.loadTest ? 'l' : ''};${scene};${version};${encodeURIComponent(hint.configVersion ?? '')};${hint.bucket ?? -1}`;
    return `${body};${createHmac('sha256', key).update(body).digest('base64url')}`;
  }

  /**
   * Verifies a token. Returns the hint, or the refusal reason (counted). `scene`, when given, must equal the token's
   * scene: a token signed for one scene cannot steer another, except that a load-test token marks the request as load
   * test wherever it goes (returned with no version, and counted as `scene_mismatch`); the same for a load-test token
   * that lives longer than `maxTtlSec` (counted as `too_long_lived`).
   */
  verify(token: string, scene?: string | null): SignedHint | TrustRefusal {
    const r = this.check(token, scene);
    if (typeof r === 'string') this.stats.refused[r]++;
    else if (r[kRefusedFor] !== undefined) this.stats.refused[r[kRefusedFor]]++; // honoured for its load-test flag only
    else this.stats.signed++;
    return r;
  }

  private check(token: string, scene: string | null | undefined): (SignedHint & { [kRefusedFor]?: TrustRefusal }) | TrustRefusal {
    if (this.keys.length === 0) return 'no_key';
    if (typeof token !== 'string' || token.length > 1024 || !token.startsWith(TOKEN_PREFIX)) return 'malformed';
    const cut = token.lastIndexOf(';');
    const body = token.slice(0, cut);
    const f = body.split(';');
    if (f.length !== 7) return 'malformed';
    const mac = token.slice(cut + 1);
    const sig = Buffer.from(mac, 'base64url');
    // Buffer's decoder skips characters outside the alphabet and ignores the spare bits of the last one, so many
    // spellings decode to one MAC. Only the canonical one is accepted: a token has exactly one valid form, so nothing
    // keyed by its text (a log search, a replay cache) can be walked around by respelling it.
    if (sig.length !== 32 || sig.toString('base64url') !== mac) return 'malformed';
    let good = false;
    for (const key of this.keys) {
      const want = createHmac('sha256', key).update(body).digest();
      if (timingSafeEqual(want, sig)) good = true; // no early exit: same work whichever key matches
    }
    if (!good) return 'bad_signature';
    const exp = Number(f[1]);
    const flags = f[2]!;
    const tokenScene = f[3]!;
    if (!Number.isSafeInteger(exp) || (flags !== '' && flags !== 'l') || tokenScene === '') return 'malformed';
    const nowSec = this.nowSec();
    if (Number.isNaN(nowSec)) return 'bad_clock'; // fail closed: NaN would compare false, and no token would expire
    // An expired load-test token is refused on its own ground: the adapters refuse the request with it (as
    // `expired_load_test`), where any other expired token leaves the request to route as if it carried none. Its
    // authority has lapsed, so it may not reach the lt version; but its signature still proves a load test, whose
    // load must not land on production versions either (until the twentieth session it did).
    if (exp <= nowSec) return flags === 'l' ? 'expired_load_test' : 'expired';
    // A token refused for its lifetime or its scene still says, authentically, that the request is load-test traffic:
    // a fact about the request, not about a scene or this hop's limits (a load test of feed calls ads too; a caller
    // signs for longer than this hop's maxTtlSec mid-rollout). Its version and bucket steer nothing here, but refused
    // whole, the load would land on this hop's production versions.
    const refusal = exp - nowSec > this.maxTtlSec + 1 ? 'too_long_lived' : scene != null && scene !== tokenScene ? 'scene_mismatch' : null;
    if (refusal !== null) {
      if (flags !== 'l') return refusal;
      return { scene: tokenScene, version: '', loadTest: true, expiresAt: exp, configVersion: '', bucket: -1, [kRefusedFor]: refusal };
    }
    let configVersion: string;
    try {
      configVersion = decodeURIComponent(f[5]!);
    } catch {
      return 'malformed';
    }
    const bucket = Number(f[6]);
    return { scene: tokenScene, version: f[4]!, loadTest: flags === 'l', expiresAt: exp, configVersion, bucket: Number.isInteger(bucket) ? bucket : -1 };
  }

  /** Unix seconds from the configured clock; NaN when it throws or returns no finite number (a host's bug, per request). */
  private nowSec(): number {
    try {
      const ms: unknown = this.now();
      return typeof ms === 'number' && Number.isFinite(ms) ? ms / 1000 : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }

  /** Is this peer address a trusted proxy? */
  fromProxy(address: string | undefined | null): boolean {
    return this.proxies.has(address);
  }

  counts(): TrustCounts {
    return { signed: this.stats.signed, proxy: this.stats.proxy, untrusted: this.stats.untrusted, refused: { ...this.stats.refused } };
  }
}

export const createTrust = (options?: TrustOptions): Trust => new Trust(options);

/** Whether `t` is a Trust, from this build or the other one (ESM and CommonJS may both be loaded). */
export const isTrust = brand(Trust, 'trust');

/** A Trust to share as is, or options to make one from. */
export const trustOf = (t: Trust | TrustOptions | undefined): Trust => (isTrust(t) ? t : new Trust(t));
