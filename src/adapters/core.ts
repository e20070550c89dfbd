/**
 * What every HTTP adapter shares: reading scene and unit from a request, deciding whether its hints are trusted,
 * routing, the prebuilt rejections, the deadline and the lazily created AbortSignal. Host files only translate.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Gearshift } from '../engine.js';
import { checkEngine } from '../engine-arg.js';
import { isPlainObject, nonEmptyString, refuseUnknownKeys, shown, UsageError } from '../errors.js';
import type { Decision, RoutedDecision } from '../route/decision.js';
import type { RouteHints } from '../route/router.js';
import { cutByServer, Outcome, type OutcomeCode, type OutcomeName, outcomeOfStatus, reportOutcome } from './outcome.js';
import { baggageVersion, firstListed, loadTestFlag, PLAIN_LOAD_TEST, PLAIN_VERSION, readBaggage } from './propagate.js';
import { ResponseWatch } from './response-watch.js';
import { streamCutByServer } from './stream-watch.js';
import { buildRejections, type RejectionOverrides, type Rejections } from './reject.js';
import { type RequestStart, type RequestStartOptions, requestStartOf } from './request-start.js';
import { deadlineHit, lazySignalOn } from './signal.js';
import { type Trust, type TrustOptions, trustOf } from './trust.js';

/** Where the scene id comes from: a header, a path parameter, a fixed value, or your function. */
export type SceneSource<Req> = { header: string } | { param: string } | { value: string } | ((req: Req) => string | null | undefined);
/** Where the traffic-unit id comes from: a header, a cookie, or your function. `false`: no unit (everyone gets base). */
export type UnitSource<Req> = { header: string } | { cookie: string } | ((req: Req) => string | null | undefined) | false;

export interface HintHeaders {
  /** Explicit version (plain; honoured only from a trusted proxy). Default `x-gearshift-version`. */
  version?: string | undefined;
  /** Load-test marker `1`/`true` (plain; honoured only from a trusted proxy). Default `x-gearshift-load-test`. */
  loadTest?: string | undefined;
  /** Signed hint / propagated decision token. Default `x-gearshift-hint`. */
  signed?: string | undefined;
  /** Read `gearshift.*` entries of W3C `baggage` (honoured only from a trusted proxy). Default true. */
  baggage?: boolean | undefined;
}

export interface AdapterOptions<Req = unknown> {
  /** Default `{ header: 'x-gearshift-scene' }`. */
  scene?: SceneSource<Req> | undefined;
  /** Default `{ header: 'x-gearshift-unit' }`. */
  unit?: UnitSource<Req> | undefined;
  /** Keys and proxy ranges that make hints trusted (or a shared Trust instance). Default: nothing is trusted. */
  trust?: Trust | TrustOptions | undefined;
  /** Header names of the hints. */
  hints?: HintHeaders | undefined;
  /**
   * A request whose scene cannot be found at all (no header, no param): `skip` lets it through without a decision
   * (`req.gearshift` is null: health checks, static files), `reject` answers 400 `invalid_scene`. Default `skip`.
   */
  missingScene?: 'skip' | 'reject' | undefined;
  /** Override rejection responses per reason (status, body, headers); built once. */
  rejections?: RejectionOverrides | undefined;
  /** Add `x-gearshift-*` response headers describing the decision. Default false (they reveal versions). */
  debugHeaders?: boolean | undefined;
  /**
   * Count each request's RT from its arrival at the front proxy (`X-Request-Start`, from `trust.proxies` only), not
   * from when Node read it; `late: 'reject'` drops one that waited past its budget. Default off (see request-start.ts).
   */
  requestStart?: RequestStartOptions | RequestStart | boolean | undefined;
}

/** The options every adapter takes (each adds its own: node:http `onError`, Fastify its registration keys). */
const ADAPTER_KEYS: readonly (keyof AdapterOptions)[] = ['scene', 'unit', 'trust', 'hints', 'missingScene', 'rejections', 'debugHeaders', 'requestStart'];
const HINT_KEYS: readonly (keyof HintHeaders)[] = ['version', 'loadTest', 'signed', 'baggage'];

const DEFAULT_SCENE_HEADER = 'x-gearshift-scene';
const DEFAULT_UNIT_HEADER = 'x-gearshift-unit';

/** One header value as a string (first of a repeated header), or undefined. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : v === undefined ? undefined : v[0];
}

/** The value of one cookie from a `Cookie` header, without parsing the rest. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let from = 0;
  const n = name.length;
  while (from < header.length) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    const before = at === 0 ? ';' : header.charAt(at - 1);
    if ((before === ';' || before === ' ') && header.charCodeAt(at + n) === 61 /* = */) {
      const end = header.indexOf(';', at + n + 1);
      let v = header.slice(at + n + 1, end < 0 ? header.length : end).trim();
      if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
      if (v.includes('%')) {
        try {
          v = decodeURIComponent(v);
        } catch {
          return undefined;
        }
      }
      return v;
    }
    from = at + n;
  }
  return undefined;
}

type Extract<Req> = (req: Req, headers: IncomingHttpHeaders) => string | null | undefined;

/**
 * How an adapter reaches the parts of its host's request that are needed only sometimes: path parameters (for a
 * `{ param }` scene) and the peer socket (for hints from a trusted proxy). Read on demand, not per request: on
 * Express every property read of a request object is an inline-cache miss (it swaps the prototype of each request),
 * which costs more than routing.
 */
export interface HostAccess<Req> {
  /** Path parameters; a wildcard's may be a list (Express 5), which is no scene id (`invalid_scene`). */
  params(req: Req): Record<string, string | string[] | undefined> | undefined;
  socket(req: Req): PeerSocket | undefined;
  /** `res.writableEnded`: has `end()` been called? */
  ended(res: ServerResponse): boolean;
  /** `res.statusCode`. */
  status(res: ServerResponse): number;
}

/** The response reads of a host whose responses keep one hidden class (node:http, Fastify): plain property reads. */
export const PLAIN_RESPONSE: Pick<HostAccess<unknown>, 'ended' | 'status'> = {
  ended: (res) => res.writableEnded,
  status: (res) => res.statusCode,
};

function compileScene<Req>(src: SceneSource<Req> | undefined, host: HostAccess<Req>): Extract<Req> {
  if (src === undefined) return (_r, h) => headerValue(h, DEFAULT_SCENE_HEADER);
  if (typeof src === 'function') return (r) => src(r);
  const expected = 'scene: expected { header }, { param }, { value } or a function';
  if (!isPlainObject(src)) throw new UsageError(`${expected}, got ${shown(src)}`);
  if ('header' in src) {
    const name = lower(src.header, 'scene.header');
    return (_r, h) => headerValue(h, name);
  }
  if ('param' in src) {
    const name = nonEmptyString(src.param, 'scene.param', 'a path parameter name');
    return (r) => {
      const v = host.params(r)?.[name];
      return typeof v === 'string' || v === undefined ? v : ''; // a list is no scene id: '' routes as invalid_scene
    };
  }
  if ('value' in src) {
    const value = nonEmptyString(src.value, 'scene.value', 'a scene id');
    return () => value;
  }
  throw new UsageError(expected);
}

function compileUnit<Req>(src: UnitSource<Req> | undefined): Extract<Req> | null {
  if (src === false) return null;
  if (src === undefined) return (_r, h) => headerValue(h, DEFAULT_UNIT_HEADER);
  if (typeof src === 'function') return (r) => src(r);
  const expected = 'unit: expected { header }, { cookie }, a function or false';
  if (!isPlainObject(src)) throw new UsageError(`${expected}, got ${shown(src)}`);
  if ('header' in src) {
    const name = lower(src.header, 'unit.header');
    return (_r, h) => headerValue(h, name);
  }
  if ('cookie' in src) {
    const name = nonEmptyString(src.cookie, 'unit.cookie', 'a cookie name');
    return (_r, h) => cookieValue(headerValue(h, 'cookie'), name);
  }
  throw new UsageError(expected);
}

const lower = (name: unknown, what: string): string => nonEmptyString(name, what, 'a header name').toLowerCase();

/** What the peer address is read from (a net.Socket). */
export interface PeerSocket {
  readonly remoteAddress?: string | undefined;
}

/** The gearshift entries of a `baggage` header, repeated or not. */
const baggageOf = (header: string | string[]) => readBaggage(typeof header === 'string' ? header : header.join(','));

/**
 * A config version label is any string, and Node refuses to send some (`…`, control characters): percent-encoded
 * then, as propagation carries it, instead of throwing out of the request listener.
 */
const headerSafe = (v: string): string => (/^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v));

/** Shared per-request logic of the HTTP adapters. */
export class AdapterCore<Req> {
  readonly trust: Trust;
  readonly rejections: Rejections;
  readonly debugHeaders: boolean;
  readonly skipMissing: boolean;
  /** The arrival stamp's reader, or null when `requestStart` is off. */
  readonly requestStart: RequestStart | null;
  private readonly scene: Extract<Req>;
  private readonly unit: Extract<Req> | null;
  private readonly hVersion: string;
  private readonly hLoadTest: string;
  private readonly hSigned: string;
  private readonly useBaggage: boolean;
  private readonly watch: ResponseWatch;
  /** Scratch hints object, reused: the router reads it synchronously and keeps no reference. */
  private readonly scratch: { version: string | null; loadTest: boolean; trusted: boolean; expiredLoadTest: boolean } = { version: null, loadTest: false, trusted: false, expiredLoadTest: false };

  constructor(
    readonly engine: Gearshift,
    options: AdapterOptions<Req>,
    private readonly host: HostAccess<Req>,
    /** Options of the adapter's own, beside `ADAPTER_KEYS`: any other key is refused as a typo. */
    ownKeys: readonly string[] = [],
  ) {
    checkEngine(engine, 'gearshift adapter');
    this.watch = new ResponseWatch(
      { ended: (d, res) => this.recordEnded(d, res), closed: (d, res) => this.completeResponse(d, res) },
      (release) => (typeof engine.onClose === 'function' ? engine.onClose(release) : undefined), // an engine-like object may lack it
    );
    if (!isPlainObject(options as unknown)) throw new UsageError(`gearshift adapter: options must be an object, got ${shown(options)}`);
    refuseUnknownKeys(options as Record<string, unknown>, [...ADAPTER_KEYS, ...ownKeys], '');
    this.trust = trustOf(options.trust);
    this.scene = compileScene(options.scene, host);
    this.unit = compileUnit(options.unit);
    const h = options.hints ?? {};
    if (!isPlainObject(h as unknown)) throw new UsageError(`hints: expected { version, loadTest, signed, baggage }, got ${shown(h)}`);
    refuseUnknownKeys(h as Record<string, unknown>, HINT_KEYS, 'hints.');
    if (h.baggage !== undefined && typeof h.baggage !== 'boolean') throw new UsageError(`hints.baggage: expected true or false, got ${shown(h.baggage)}`);
    this.hVersion = lower(h.version ?? PLAIN_VERSION, 'hints.version');
    this.hLoadTest = lower(h.loadTest ?? PLAIN_LOAD_TEST, 'hints.loadTest');
    this.hSigned = lower(h.signed ?? 'x-gearshift-hint', 'hints.signed');
    this.useBaggage = h.baggage !== false;
    this.skipMissing = (options.missingScene ?? 'skip') === 'skip';
    if (options.missingScene !== undefined && options.missingScene !== 'skip' && options.missingScene !== 'reject') {
      throw new UsageError(`missingScene: expected 'skip' or 'reject', got ${shown(options.missingScene)}`);
    }
    this.rejections = buildRejections(options.rejections);
    if (options.debugHeaders !== undefined && typeof options.debugHeaders !== 'boolean') throw new UsageError(`debugHeaders: expected true or false, got ${shown(options.debugHeaders)}`);
    this.debugHeaders = options.debugHeaders === true;
    this.requestStart = requestStartOf(options.requestStart);
    // The stamp is honoured from trusted proxies only: without one, the option could never apply a stamp.
    if (this.requestStart !== null && this.trust.proxies.empty) {
      throw new UsageError('requestStart: the stamp is read only from a trusted proxy, and trust.proxies lists none (add the front proxy\'s address range)');
    }
  }

  /**
   * Routes one request. Returns null when the request names no scene at all and `missingScene` is `skip`.
   * Never throws: extraction errors in user functions count as a missing scene/unit.
   */
  decide(req: Req, headers: IncomingHttpHeaders): RoutedDecision | null {
    const d = this.route(req, headers);
    return this.requestStart === null || d === null || !d.ok ? d : this.arrived(req, headers, d, this.requestStart);
  }

  /**
   * Moves a served decision's start back to its arrival at the front proxy, when a trusted proxy stamped it; a
   * request that waited past its scene's budget is a timeout already, and with `late: 'reject'` is refused unserved.
   */
  private arrived(req: Req, headers: IncomingHttpHeaders, d: RoutedDecision, rs: RequestStart): RoutedDecision {
    const stamp = rs.valueOf(headers);
    if (stamp === undefined) return d;
    const peer = this.host.socket(req)?.remoteAddress;
    return rs.apply(this.engine, d, rs.waitOf(stamp, this.trust.fromProxy(peer), peer ?? ''));
  }

  private route(req: Req, headers: IncomingHttpHeaders): RoutedDecision | null {
    let scene: string | null | undefined = undefined;
    let unit: string | null | undefined = undefined;
    try {
      scene = this.scene(req, headers);
      unit = this.unit === null ? undefined : this.unit(req, headers);
    } catch {
      unit = undefined; // a throwing user extractor counts as absent, never as a host error
    }
    // Fast path: no hint headers at all (the common case) — no allocation, no crypto.
    const signed = headers[this.hSigned];
    const plainVersion = headers[this.hVersion];
    const plainLoadTest = headers[this.hLoadTest];
    const baggage = this.useBaggage ? headers.baggage : undefined;
    if (signed === undefined && plainVersion === undefined && plainLoadTest === undefined && baggage === undefined) {
      if (scene == null && this.skipMissing) return null;
      return this.engine.route(scene, unit, null);
    }
    return this.decideWithHints(req, scene, unit, headers, signed, plainVersion, plainLoadTest, baggage);
  }

  private decideWithHints(
    req: Req,
    scene: string | null | undefined,
    unit: string | null | undefined,
    headers: IncomingHttpHeaders,
    signed: string | string[] | undefined,
    plainVersion: string | string[] | undefined,
    plainLoadTest: string | string[] | undefined,
    baggage: string | string[] | undefined,
  ): RoutedDecision | null {
    const hints = this.scratch;
    hints.version = null;
    hints.loadTest = false;
    hints.trusted = false;
    hints.expiredLoadTest = false;
    if (signed !== undefined) {
      const token = firstListed(signed) ?? '';
      const v = this.trust.verify(token, scene ?? null);
      if (typeof v !== 'string') {
        hints.version = v.version === '' ? null : v.version;
        hints.loadTest = v.loadTest;
        hints.trusted = true;
        // Plain hints beside it lose to the token; from an untrusted peer they are still a probe, and counted.
        if (this.hasPlainHints(plainVersion, plainLoadTest, baggage) && !this.trust.fromProxy(this.host.socket(req)?.remoteAddress)) this.trust.stats.untrusted++;
        return this.engine.route(scene ?? v.scene, unit, hints as RouteHints);
      }
      if (v === 'expired_load_test') {
        hints.expiredLoadTest = true; // refused whole, whatever plain hints say: see RouteHints.expiredLoadTest
        if (scene == null && this.skipMissing) return null;
        return this.engine.route(scene, unit, hints as RouteHints);
      }
      // refused (counted by Trust): route as if no signed hint; plain hints below still need a trusted peer
    }
    let version = firstListed(plainVersion);
    let loadTest = plainLoadTest === undefined ? false : loadTestFlag(firstListed(plainLoadTest));
    let bagScene: string | undefined;
    if (baggage !== undefined) {
      const b = baggageOf(baggage);
      if (b !== null) {
        version ??= baggageVersion(b, scene, this.trust);
        loadTest ||= b.loadTest;
        bagScene = b.scene;
      }
    }
    if (version === undefined && !loadTest && bagScene === undefined) {
      if (scene == null && this.skipMissing) return null;
      return this.engine.route(scene, unit, null);
    }
    const trusted = this.trust.fromProxy(this.host.socket(req)?.remoteAddress); // read only here: a getter with a native call
    if (trusted) this.trust.stats.proxy++;
    else this.trust.stats.untrusted++;
    if (trusted && scene == null) scene = bagScene;
    if (scene == null && this.skipMissing) return null;
    hints.version = version ?? null;
    hints.loadTest = loadTest;
    hints.trusted = trusted;
    return this.engine.route(scene, unit, hints as RouteHints);
  }

  private hasPlainHints(version: unknown, loadTest: unknown, baggage: string | string[] | undefined): boolean {
    if (version !== undefined || loadTest !== undefined) return true;
    return baggage !== undefined && baggageOf(baggage) !== null;
  }

  /** Records how a request ended (exactly once per decision). */
  complete(decision: Decision, outcome: OutcomeCode | OutcomeName, rtMs?: number): boolean {
    return reportOutcome(this.engine, decision, outcome, rtMs);
  }

  /**
   * Called once the host's chain (`next()`, or the handler) has returned. A response ended synchronously is recorded
   * now and true is returned. Otherwise false: the adapter watches the response (`watchEnd` or `watchFinish`). A
   * `close`, of the socket or the response, is always emitted on a later tick, never inside the chain, so watching
   * from here misses nothing.
   */
  recordIfEnded(decision: Decision, res: ServerResponse): boolean {
    if (!this.host.ended(res)) return false;
    this.recordEnded(decision, res);
    return true;
  }

  /**
   * Watches a response still open when the host's chain returned until it is recorded (response-watch.ts): parked on
   * its socket until its `end()` (Fastify), or, when it cannot be parked, by a listener on its `close`.
   */
  watchEnd(decision: Decision, res: ServerResponse): boolean {
    return this.watch.watchEnd(decision, res);
  }

  /**
   * The same for a response that must not be touched (Express's) or whose `end` the handler may hold already
   * (node:http's): parked until Node reports it finished.
   */
  watchFinish(decision: Decision, res: ServerResponse, socket: Socket | null | undefined): boolean {
    return this.watch.watchFinish(decision, res, socket);
  }

  /**
   * Records a closed node response: by its status once `end()` was called for a client still there; else as an error if the
   * server cut it (`pipeline` destroying it when its upstream failed, a bare `res.destroy()`, a failed stream, its own
   * socket timeout), else as a client abort.
   */
  completeResponse(decision: Decision, res: ServerResponse, rtMs?: number): boolean {
    // Ended, but for a client already gone (Node aborted the request first): an answer that went nowhere.
    if (this.host.ended(res) && res.req?.aborted !== true) return this.recordEnded(decision, res, rtMs);
    if (deadlineHit(decision)) return reportOutcome(this.engine, decision, Outcome.Timeout, rtMs);
    const cut = res.errored != null || cutByServer(res) || streamCutByServer(res);
    return reportOutcome(this.engine, decision, cut ? Outcome.Error : Outcome.ClientAbort, rtMs);
  }

  /** Records a response whose `end()` was called: by its status (5xx = error), or as a timeout if it hit its deadline. */
  private recordEnded(decision: Decision, res: ServerResponse, rtMs?: number): boolean {
    return reportOutcome(this.engine, decision, deadlineHit(decision) ? Outcome.Timeout : outcomeOfStatus(this.host.status(res)), rtMs);
  }

  /** Writes the prebuilt rejection for a refused decision on a node response, and records it. */
  rejectNode(decision: Decision, res: ServerResponse): void {
    const r = this.rejections.of(decision);
    reportOutcome(this.engine, decision, r.outcome);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(r.status, r.headersFor(decision));
    res.end(r.body);
  }

  /** Debug headers for an accepted decision (only when enabled). */
  writeDebugHeaders(decision: Decision, set: (name: string, value: string) => unknown): void {
    set('x-gearshift-scene', decision.scene ?? '');
    set('x-gearshift-version', decision.version ?? '');
    set('x-gearshift-reason', decision.reason);
    set('x-gearshift-config', headerSafe(decision.configVersion));
    if (decision.bucket >= 0) set('x-gearshift-bucket', String(decision.bucket));
  }

  /** Milliseconds left of the request's RT budget (negative once exceeded). */
  remainingMs(decision: Decision): number {
    return decision.startedAt + decision.rtBudgetMs - this.engine.now();
  }

  /** The request's AbortSignal, created on first use (see signal.ts). */
  signal(decision: Decision, res: ServerResponse | undefined): AbortSignal {
    if (res === undefined) return lazySignalOn(decision, null, () => false, this.remainingMs(decision));
    return lazySignalOn(decision, res, () => !this.host.ended(res), this.remainingMs(decision));
  }
}
