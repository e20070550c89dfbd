/**
 * Consistency across services: put a decision (scene, version, config version, bucket, load-test flag) into the
 * headers of an outgoing request, so the next service serves the same version instead of deciding again.
 *
 * Two carriers:
 * - `signed` (default when a key is configured): the `x-gearshift-hint` token of trust.ts; honoured by any downstream
 *   that holds the key, wherever the request comes from.
 * - `baggage`: W3C `baggage` entries `gearshift.scene`, `gearshift.version`, `gearshift.config`, `gearshift.bucket`,
 *   `gearshift.lt`, merged into any baggage already there. Unsigned: honoured downstream only from trusted-proxy peers.
 */
import { validateHeaderName } from 'node:http';
import { isPlainObject, nonEmptyString, refuseUnknownKeys, shown, UsageError } from '../errors.js';
import { type Decision, isDecision } from '../route/decision.js';
import { isTrust, type Trust } from './trust.js';

export interface PropagateOptions {
  /** `signed` needs `trust` with a key. Default: `signed` when `trust` can sign, else `baggage`. */
  mode?: 'signed' | 'baggage' | undefined;
  /** The Trust whose first key signs (an adapter's `.trust`, or `createTrust({ keys })`). */
  trust?: Trust | undefined;
  /** Lifetime of a signed token, seconds, at most the trust's `maxTtlSec`. Default 30 (or `maxTtlSec` if shorter). */
  ttlSec?: number | undefined;
  /** Header name of the signed token. Default `x-gearshift-hint`. */
  header?: string | undefined;
}

/** The gearshift entries found in a baggage header. */
export interface BaggageDecision {
  scene: string | undefined;
  version: string | undefined;
  configVersion: string | undefined;
  bucket: number;
  loadTest: boolean;
}

const PREFIX = 'gearshift.';
const DEFAULT_TTL_SEC = 30;

/**
 * Headers carrying the decision to the next service (empty for a rejected decision). Does not mutate anything.
 * With `existingBaggage`, the result's `baggage` keeps its foreign entries and drops any gearshift ones (replacing
 * them in baggage mode); in signed mode it is '' when nothing foreign was left: send no baggage then.
 */
export function propagationHeaders(decision: Decision, options: PropagateOptions = {}, existingBaggage?: string): Record<string, string> {
  return headersFor(decision, options, checkPropagateOptions(options), existingBaggage);
}

/** `propagationHeaders` for options checked once, at start-up (a gateway's): `mode` is what the check returned. */
export function headersFor(decision: Decision, options: PropagateOptions, mode: 'signed' | 'baggage', existingBaggage?: string): Record<string, string> {
  if (!isDecision(decision)) throw new UsageError('propagationHeaders(decision): expected a decision from route()');
  if (!decision.ok || decision.scene === null || decision.version === null) return {};
  if (mode === 'signed') {
    const token = options.trust!.sign(
      { scene: decision.scene, version: decision.version, loadTest: decision.loadTest, configVersion: decision.configVersion, bucket: decision.bucket },
      options.ttlSec ?? Math.min(DEFAULT_TTL_SEC, options.trust!.maxTtlSec),
    );
    const out: Record<string, string> = { [(options.header ?? 'x-gearshift-hint').toLowerCase()]: token };
    // gearshift entries already in the baggage came from the caller's caller (a client, say), not from this decision:
    // forwarded, a downstream that trusts this hop's address would read them whenever it refused the token.
    if (existingBaggage !== undefined && existingBaggage.includes(PREFIX)) out.baggage = stripOurs(existingBaggage);
    return out;
  }
  let entries = `${PREFIX}scene=${enc(decision.scene)},${PREFIX}version=${enc(decision.version)},${PREFIX}config=${enc(decision.configVersion)}`;
  if (decision.bucket >= 0) entries += `,${PREFIX}bucket=${decision.bucket}`;
  if (decision.loadTest) entries += `,${PREFIX}lt=1`;
  const kept = existingBaggage ? stripOurs(existingBaggage) : '';
  return { baggage: kept ? `${kept},${entries}` : entries };
}

/**
 * Checks propagation options whole (a gateway does at start-up; `propagate` on every call, before it looks at the
 * decision, so a typo fails on the first request and not on the first one that happens to be routed) and returns the
 * mode in force. `trust` must be a Trust: options in its place would have no key, and the mode would quietly drop to
 * unsigned baggage.
 */
export function checkPropagateOptions(options: unknown): 'signed' | 'baggage' {
  if (!isPlainObject(options)) throw new UsageError(`propagate: expected { mode, trust, ttlSec, header }, got ${shown(options)}`);
  refuseUnknownKeys(options, ['mode', 'trust', 'ttlSec', 'header'], 'propagate.');
  const { mode, trust, ttlSec, header } = options as PropagateOptions;
  if (trust !== undefined && !isTrust(trust)) throw new UsageError(`propagate.trust: expected a Trust (createTrust({ keys }) or an adapter's .trust), got ${shown(trust)}`);
  if (mode !== undefined && mode !== 'signed' && mode !== 'baggage') throw new UsageError(`propagate.mode: expected 'signed' or 'baggage', got ${shown(mode)}`);
  if (ttlSec !== undefined && (typeof ttlSec !== 'number' || !(ttlSec > 0 && ttlSec < Infinity))) throw new UsageError(`propagate.ttlSec: expected seconds > 0, got ${shown(ttlSec)}`);
  if (header !== undefined) {
    nonEmptyString(header, 'propagate.header', 'a header name');
    try {
      validateHeaderName(header);
    } catch {
      throw new UsageError(`propagate.header: ${shown(header)} is not a header name Node can send`);
    }
  }
  const inForce = mode ?? (trust?.canSign ? 'signed' : 'baggage');
  if (inForce === 'signed' && !trust?.canSign) throw new UsageError('propagate: mode "signed" needs `trust` with a key');
  // A token the next service would refuse as too long-lived must not get past start-up: every forward would throw.
  if (inForce === 'signed' && ttlSec !== undefined && ttlSec > trust!.maxTtlSec) throw new UsageError(`propagate.ttlSec: expected seconds ≤ trust.maxTtlSec (${trust!.maxTtlSec}), got ${ttlSec}`);
  return inForce;
}

/**
 * Writes the decision into an outgoing request's headers: a plain object (as for `http.request` or `undici`), or a
 * `Headers` instance (as for `fetch`). Returns the same headers object.
 */
export function propagate<H extends Record<string, unknown> | Headers>(decision: Decision, headers: H, options: PropagateOptions = {}): H {
  if (headers === null || typeof headers !== 'object') throw new UsageError(`propagate(decision, headers): headers must be an object or a Headers, got ${shown(headers)}`);
  const isHeaders = typeof (headers as Headers).get === 'function' && typeof (headers as Headers).set === 'function';
  const existing = isHeaders ? ((headers as Headers).get('baggage') ?? undefined) : findBaggage(headers as Record<string, unknown>);
  const add = propagationHeaders(decision, options, existing);
  // The decision replaces every gearshift hint these headers were handed (forwarded from a client, say): a
  // downstream that trusts this hop reads plain hints before baggage, and a token it refuses falls back to them.
  const signedHeader = (options.header ?? 'x-gearshift-hint').toLowerCase();
  const drops = (k: string) => k === PLAIN_VERSION || k === PLAIN_LOAD_TEST || k === signedHeader || Object.hasOwn(add, k);
  if (isHeaders) {
    const h = headers as Headers;
    for (const k of [PLAIN_VERSION, PLAIN_LOAD_TEST, signedHeader]) h.delete(k);
    for (const [k, v] of Object.entries(add)) {
      if (v === '') h.delete(k);
      else h.set(k, v);
    }
    return headers;
  }
  // One pass over a plain object's keys drops every spelling of what this call removes or writes, then it writes.
  const rec = headers as Record<string, unknown>;
  for (const key of Object.keys(rec)) if (drops(key.toLowerCase())) delete rec[key];
  for (const [k, v] of Object.entries(add)) if (v !== '') rec[k] = v;
  return headers;
}

/** The plain hint headers' default names (the adapters' `hints.version` and `hints.loadTest`). */
export const PLAIN_VERSION = 'x-gearshift-version';
export const PLAIN_LOAD_TEST = 'x-gearshift-load-test';

/**
 * Every spelling of `baggage` in a plain object, joined: Node sends each as its own line and the next hop reads them
 * as one list. Reading only the first let a client's gearshift entries through beside a proxy's own `Baggage`.
 */
function findBaggage(h: Record<string, unknown>): string | undefined {
  let all: string | undefined;
  for (const k of Object.keys(h)) {
    if (k.toLowerCase() !== 'baggage') continue;
    const v = h[k];
    const s = typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : undefined;
    if (s !== undefined) all = all === undefined ? s : `${all},${s}`;
  }
  return all;
}

/** Reads the gearshift entries of a W3C baggage header, or null when it has none (or is not a string: no header). */
export function readBaggage(header: string): BaggageDecision | null {
  if (typeof header !== 'string' || !header.includes(PREFIX)) return null;
  const out: BaggageDecision = { scene: undefined, version: undefined, configVersion: undefined, bucket: -1, loadTest: false };
  let found = false;
  for (const member of header.split(',')) {
    const semi = member.indexOf(';');
    const kv = (semi < 0 ? member : member.slice(0, semi)).trim();
    if (!kv.startsWith(PREFIX)) continue;
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const key = kv.slice(PREFIX.length, eq).trim();
    const value = dec(kv.slice(eq + 1).trim());
    if (value === undefined) continue;
    found = true;
    if (key === 'scene') out.scene = value;
    else if (key === 'version') out.version = value;
    else if (key === 'config') out.configVersion = value;
    else if (key === 'bucket') out.bucket = /^\d{1,4}$/.test(value) ? Number(value) : -1;
    else if (key === 'lt') out.loadTest = loadTestFlag(value);
  }
  return found ? out : null;
}

/**
 * The version a decision propagated in baggage gives a request of `scene` (as plain hints do: the caller checks
 * trust). One for another scene steers nothing here, as a token's does not, and is counted `scene_mismatch`; its
 * load-test flag still counts (the caller reads it).
 */
export function baggageVersion(b: BaggageDecision, scene: unknown, trust: Trust): string | undefined {
  if (b.scene === undefined || scene == null || b.scene === scene) return b.version;
  if (b.version !== undefined) trust.stats.refused.scene_mismatch++;
  return undefined;
}

function stripOurs(baggage: string): string {
  return baggage
    .split(',')
    .filter((m) => m.trim() !== '' && !m.trim().startsWith(PREFIX))
    .map((m) => m.trim())
    .join(',');
}

/**
 * A load-test marker is on unless it says off: a load tool that sends `TRUE` or `yes` means it, and reading that as
 * ordinary traffic would send its load to the production versions (the safe side is the `lt` version, or a refusal).
 */
/**
 * The first value of a hint header. Node joins the lines of a repeated header it does not know into one string
 * (`tokA, tokB`; only `set-cookie` comes as a list), and no token, version name, flag or time holds a comma, so the
 * first value is the text before the first comma. Whole, a repeated token was refused as malformed and a repeated
 * version named none.
 */
export function firstListed(v: unknown): string | undefined {
  const s = typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? (v[0] as string) : undefined;
  if (s === undefined) return undefined;
  const comma = s.indexOf(',');
  return comma < 0 ? s : s.slice(0, comma).trimEnd();
}

export const loadTestFlag = (v: string | undefined): boolean => v !== undefined && !/^\s*(0|false|no|off|)\s*$/i.test(v);

const enc = (s: string): string => encodeURIComponent(s);
function dec(s: string): string | undefined {
  if (s === '' || s.length > 256) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
