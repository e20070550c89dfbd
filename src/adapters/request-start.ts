/**
 * The time a request waited before Node read it, from the front proxy's `X-Request-Start` header.
 *
 * Node stamps a request when its headers are parsed; the time it spent before that (in the proxy's queue, the
 * kernel's accept and socket buffers, behind a blocked event loop) is invisible to the process. Under overload that
 * wait is where the budget goes: the field test's clients timed out at their budget while sensing read every answer
 * as quick, because each was quick once read. A proxy that stamps arrival (nginx `t=${msec}`, HAProxy, Heroku's
 * router) gives the wait back: the request's start moves back by it, so sensing counts its RT from arrival, its
 * deadline and AbortSignal run out on time, and one that arrives already past its scene's budget can be dropped
 * unserved (`late: 'reject'`), since its caller has given up on it.
 *
 * The header is honoured from trusted proxies only (`trust.proxies`): a client that claims an old start makes its
 * request a timeout, and enough of them would drive every scene's gears down.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Gearshift } from '../engine.js';
import { brand } from '../brand.js';
import type { Decision, RoutedDecision } from '../route/decision.js';
import { isPlainObject, nonEmptyString, refuseUnknownKeys, shown, UsageError } from '../errors.js';
import { type ProxyOffset, ProxyClocks } from './proxy-clock.js';

export interface RequestStartOptions {
  /** The header the front proxy stamps arrival in. Default `x-request-start`. */
  header?: string | undefined;
  /**
   * A wait longer than this, in ms, is read as a wrong clock or unit and ignored (counted `implausible`).
   * Default 60,000.
   */
  maxMs?: number | undefined;
  /**
   * A request that waited longer than its scene's RT budget: `serve` it (recorded as a timeout), or `reject` it
   * with the `late` rejection (503, recorded as a timeout, no handler runs). Default `serve`.
   */
  late?: 'serve' | 'reject' | undefined;
  /** Wall clock, unix ms (the proxy's stamp is wall time). Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * `estimate`: learn how far each proxy's clock runs behind from its stamps (the least `now − stamp` of the last ten
   * minutes, once a proxy has been seen for a minute; never below 0) and read waits against it; `synced`: trust that
   * the clocks agree (NTP) and read `now − stamp` as the wait. Default `estimate`.
   */
  clocks?: 'estimate' | 'synced' | undefined;
}

/**
 * What happened to the headers read, since start. Each header is one of `applied`, `untrusted`, `malformed`,
 * `implausible` or `badClock`; `late` and `ahead` count some of the `applied`.
 */
export interface RequestStartCounts {
  /** Waits applied to a request's start. */
  applied: number;
  /** Of those, requests that had waited past their scene's budget (served or rejected, per `late`). */
  late: number;
  /** Headers from a peer outside `trust.proxies`: ignored. */
  untrusted: number;
  /** Headers that are no time: ignored. */
  malformed: number;
  /** Of the applied, stamps later than this host's clock (the proxy's clock runs ahead, or a forged stamp): no wait. */
  ahead: number;
  /** Waits over `maxMs`, or stamps more than `maxMs` ahead: ignored. */
  implausible: number;
  /** Reads of `now` that threw or gave no finite time: the stamp is ignored. */
  badClock: number;
}

const KEYS = ['header', 'maxMs', 'late', 'now', 'clocks'];
/** The header's default name, and the one a gateway's `propagationHeaders` writes. */
export const REQUEST_START_HEADER = 'x-request-start';
/** A gateway is handed the stamp's value: it has no header to name. */
export const GATEWAY_REQUEST_START_KEYS = ['maxMs', 'late', 'now', 'clocks'];
const DEFAULT_MAX_MS = 60_000;
/**
 * `t=` and a decimal number, integer or with a fraction (nginx's `${msec}` is seconds with three decimals). Ten
 * digits at least: a time since 2001 in any unit has them, and a shorter number is no stamp (the tail of a decimal
 * comma's `t=1763800000,123` read as a list).
 */
const STAMP = /^\s*(?:t=)?(\d{10,20}(\.\d{1,9})?)\s*$/;

/** A stamp's number in unix ms, its unit told by its size: seconds until 1e11 (the year 5138), then ms, µs, ns. */
const msOf = (n: number): number => (n < 1e11 ? n * 1e3 : n < 1e14 ? n : n < 1e17 ? n / 1e3 : n / 1e6);

/**
 * A stamp's time in unix ms, its unit told by its size (as New Relic and Scout read this header): seconds until
 * 1e11 (the year 5138), then milliseconds, microseconds, nanoseconds. NaN for no stamp.
 */
export function stampMs(value: string): number {
  const m = STAMP.exec(value);
  return m === null ? NaN : msOf(Number(m[1]));
}

/**
 * The last entry of a header value Node joined from repeated lines (`a, b`), or of a list. The last is the nearest
 * proxy's: one that appends its stamp rather than replacing the header (Envoy's `request_headers_to_add`, HAProxy's
 * `add-header`) puts a client's own value first, and until the twenty-third session the first was read, so a client
 * could claim an old start and have its request dropped and counted a timeout. `X-Forwarded-For` is read the same way.
 */
export function lastListed(v: unknown): unknown {
  const s = typeof v === 'string' ? v : Array.isArray(v) && v.length > 0 ? v[v.length - 1] : v;
  if (typeof s !== 'string') return s;
  const comma = s.lastIndexOf(',');
  return comma < 0 ? s : s.slice(comma + 1);
}

/** The wait stamped by a trusted proxy, or -1 when there is none to apply. */
export const NO_WAIT = -1;

export class RequestStart {
  readonly header: string;
  readonly maxMs: number;
  readonly rejectLate: boolean;
  private readonly now: () => number;
  /** Each proxy's learnt clock offset (null: `clocks: 'synced'`). */
  private readonly clocks: ProxyClocks | null;
  readonly stats: RequestStartCounts = { applied: 0, late: 0, untrusted: 0, malformed: 0, ahead: 0, implausible: 0, badClock: 0 };

  /** @param keys the options this host takes (a gateway reads no headers: it takes no `header`) */
  constructor(options: RequestStartOptions | true, keys: readonly string[] = KEYS) {
    const o: RequestStartOptions = options === true ? {} : options;
    if (!isPlainObject(o as unknown)) throw new UsageError(`requestStart: expected true, false or { ${keys.join(', ')} }, got ${shown(options)}`);
    refuseUnknownKeys(o as Record<string, unknown>, keys, 'requestStart.');
    this.header = nonEmptyString(o.header ?? REQUEST_START_HEADER, 'requestStart.header', 'a header name').toLowerCase();
    const maxMs = o.maxMs ?? DEFAULT_MAX_MS;
    if (typeof maxMs !== 'number' || !(maxMs > 0 && maxMs < Infinity)) throw new UsageError(`requestStart.maxMs: expected a finite number > 0, got ${shown(maxMs)}`);
    this.maxMs = maxMs;
    if (o.late !== undefined && o.late !== 'serve' && o.late !== 'reject') throw new UsageError(`requestStart.late: expected 'serve' or 'reject', got ${shown(o.late)}`);
    this.rejectLate = o.late === 'reject';
    const now = o.now ?? Date.now;
    if (typeof now !== 'function') throw new UsageError(`requestStart.now: expected a function returning unix ms, got ${shown(now)}`);
    this.now = now;
    if (o.clocks !== undefined && o.clocks !== 'estimate' && o.clocks !== 'synced') throw new UsageError(`requestStart.clocks: expected 'estimate' or 'synced', got ${shown(o.clocks)}`);
    this.clocks = o.clocks === 'synced' ? null : new ProxyClocks();
  }

  /** The header's value on a request (the last of a repeated one: see `lastListed`), or undefined. */
  valueOf(headers: IncomingHttpHeaders): unknown {
    return lastListed(headers[this.header]);
  }

  /**
   * How long the request waited before it was read, in ms, or `NO_WAIT`: for a stamp from an untrusted peer, one
   * that is no time, or one more than `maxMs` old or ahead. The wait is read against the proxy's learnt clock offset
   * (`clocks`), and is never below 0; a stamp ahead of this host's clock is counted `ahead`. Each case is counted.
   * @param value the stamp: the header's last entry (`valueOf`, `lastListed`); anything but a string is malformed
   * @param peer the proxy's address, whose clock the stamp is on ('' when unknown)
   */
  waitOf(value: unknown, trusted: boolean, peer = ''): number {
    if (!trusted) {
      this.stats.untrusted++;
      return NO_WAIT;
    }
    const m = typeof value === 'string' ? STAMP.exec(value) : null;
    if (m === null) {
      this.stats.malformed++;
      return NO_WAIT;
    }
    const n = Number(m[1]);
    const at = msOf(n);
    const now = this.wallNow();
    if (!Number.isFinite(now)) {
      this.stats.badClock++;
      return NO_WAIT;
    }
    // A stamp in whole seconds (HAProxy `%Ts`) says only which second the request came in: read as that second's
    // end, so the wait is never overstated. Read as its start it was up to 999 ms too long, and with a 200-ms budget
    // `late: 'reject'` dropped four in five requests that came in on time.
    const coarse = m[2] === undefined && n < 1e11 ? 999 : 0;
    const reading = now - at;
    if (reading - coarse > this.maxMs || reading < -this.maxMs) {
      this.stats.implausible++;
      return NO_WAIT;
    }
    // The offset is learnt from readings with a coarse stamp taken at its second's start: the least of them is a
    // request that came in as its second began, so a wait read against it, less the second, is still never long.
    // (Taken at the second's end, the least reading fell up to a second low, and every wait was up to a second long.)
    const offset = this.clocks === null ? 0 : this.clocks.offset(peer, reading, now);
    if (reading < 0) this.stats.ahead++;
    let wait = reading - offset - coarse;
    if (wait < 0) wait = 0;
    this.stats.applied++;
    return wait;
  }

  /**
   * The stamp (`t=<unix ms>`) that carries `decision`'s start to the next hop, or undefined (a refused decision, a
   * failed wall clock: counted `badClock`). A service that calls another writes this, not the stamp it was sent:
   * that may be a client's, which this host ignored and the next, trusting this host, would honour.
   */
  stampOf(engine: Gearshift, decision: Decision | null | undefined): string | undefined {
    if (!decision?.ok) return undefined; // an adapter's request without a scene has none (null)
    const wall = this.wallStart(decision.startedAt, engine.now());
    if (Number.isFinite(wall)) return `t=${Math.round(wall)}`;
    this.stats.badClock++;
    return undefined;
  }

  /** A start on the engine's clock as wall time (unix ms), given the engine's now; NaN when the wall clock fails. */
  private wallStart(startedAt: number, engineNow: number): number {
    return this.wallNow() - (engineNow - startedAt);
  }

  /** The wall clock, or NaN when the user's `now` throws or gives no number: never an exception into the host. */
  private wallNow(): number {
    try {
      const t = this.now();
      return typeof t === 'number' ? t : NaN;
    } catch {
      return NaN;
    }
  }

  /**
   * Moves a served decision's start back by its wait (none for `NO_WAIT`). One that waited past its scene's budget is
   * a timeout already: counted late, and with `late: 'reject'` turned into the `late` rejection, recorded at once.
   */
  apply(engine: Gearshift, d: RoutedDecision, wait: number): RoutedDecision {
    if (wait === NO_WAIT) return d;
    d.startedAt -= wait;
    const budget = d.rtBudgetMs;
    if (budget <= 0 || wait <= budget) return d;
    this.stats.late++;
    return this.rejectLate ? engine.late(d) : d;
  }

  counts(): RequestStartCounts {
    return { ...this.stats };
  }

  /** Each proxy's learnt clock offset, once seen for a minute (none with `clocks: 'synced'`). */
  offsets(): ProxyOffset[] {
    const now = this.wallNow();
    return this.clocks === null || !Number.isFinite(now) ? [] : this.clocks.offsets(now);
  }
}

/** Whether `x` is a RequestStart, of either build (see brand.ts). */
export const isRequestStart = brand(RequestStart, 'requestStart');

/** The adapters' and the gateway's option: off (undefined/false), on with its defaults (true), its options, or one shared. */
export function requestStartOf(o: RequestStartOptions | RequestStart | boolean | undefined, keys: readonly string[] = KEYS): RequestStart | null {
  if (o === undefined || o === false) return null;
  if (isRequestStart(o)) return o; // shared: a Fastify route's own core counts with the plugin's
  if (o !== true && !isPlainObject(o as unknown)) throw new UsageError(`requestStart: expected true, false or { ${keys.join(', ')} }, got ${shown(o)}`);
  return new RequestStart(o, keys);
}
