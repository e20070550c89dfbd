/**
 * `gearshift/gateway`: framework-free entry for gateways, proxies and RPC servers.
 *
 *   const gw = createGateway(engine, { trust: { keys: [key] } });
 *   const { decision, done } = gw.begin('feed', userId, { signed: req.headers['x-gearshift-hint'], peer: socket.remoteAddress });
 *   if (!decision.ok) { const r = gw.rejection(decision); ... r.status, r.headers, r.body ...; }
 *   else { forward to upstreams[decision.version] with gw.propagationHeaders(decision); then done(upstreamStatus) }
 *
 * `done` takes an HTTP status (≥ 500 → error) or an outcome name, and records once however often it is called.
 */
import type { Gearshift } from '../engine.js';
import { checkEngine } from '../engine-arg.js';
import { type Decision, isDecision, type RoutedDecision } from '../route/decision.js';
import type { RouteHints } from '../route/router.js';
import { type OutcomeCode, type OutcomeName, outcomeOfStatus, reportOutcome } from './outcome.js';
import { type BaggageDecision, baggageVersion, checkPropagateOptions, firstListed, headersFor, loadTestFlag, type PropagateOptions, readBaggage } from './propagate.js';
import { buildRejections, type RejectionOverrides, type Rejections } from './reject.js';
import { GATEWAY_REQUEST_START_KEYS, lastListed, REQUEST_START_HEADER, type RequestStart, type RequestStartOptions, requestStartOf } from './request-start.js';
import { type Trust, type TrustOptions, trustOf } from './trust.js';
import { isPlainObject, refuseUnknownKeys, shown, UsageError } from '../errors.js';

/** A plain hint as a gateway may hold it: a value, or a header as Node types it (a repeated header is a list: its first counts). */
type HeaderLike<T> = T | string | readonly string[] | null | undefined;

export interface GatewayHints extends Omit<RouteHints, 'version' | 'loadTest'> {
  /** Explicit version: a string, or the `x-gearshift-version` header's value. */
  version?: HeaderLike<string>;
  /**
   * Load-test marker: a boolean, or the `x-gearshift-load-test` header's value, read as the HTTP adapters read it (on
   * unless `0`, `false`, `no`, `off` or empty).
   */
  loadTest?: HeaderLike<boolean>;
  /**
   * A signed hint token (`x-gearshift-hint`): when it verifies, its version / load-test flag are trusted. A list (a
   * header as Node types it) gives its first, as the HTTP adapters read a repeated header.
   */
  signed?: string | readonly string[] | null | undefined;
  /** The peer's address: when `trusted` is not given, plain hints are trusted only if it is a trusted proxy. */
  peer?: string | null | undefined;
  /**
   * The request's W3C `baggage` header: its `gearshift.*` entries (a decision propagated in baggage mode) are
   * honoured as plain hints are, only when trusted, and only in their own scene.
   */
  baggage?: string | readonly string[] | null | undefined;
  /**
   * The front proxy's arrival stamp (`X-Request-Start`'s value; of a repeated header or a list, the last entry, the
   * nearest proxy's), read when the gateway's `requestStart` is on and the hints are trusted (`trusted`, or `peer` a
   * trusted proxy). Anything but a string is counted `malformed`.
   */
  requestStart?: string | readonly string[] | null | undefined;
}

export interface GatewayOptions {
  trust?: Trust | TrustOptions | undefined;
  rejections?: RejectionOverrides | undefined;
  /** How `propagationHeaders` carries the decision. Default: signed when a key is configured, else baggage. */
  propagate?: Omit<PropagateOptions, 'trust'> | undefined;
  /** Read `hints.requestStart`: RT from arrival at the front proxy, and `late` handling; or one shared. Default off. */
  requestStart?: Omit<RequestStartOptions, 'header'> | RequestStart | boolean | undefined;
}

export interface GatewayRequest {
  /** Test `decision.ok` before serving: it narrows to a served decision (`version` a string). */
  readonly decision: RoutedDecision;
  /** Records how the request ended: an HTTP status or an outcome name. Exactly once; returns whether it recorded. */
  readonly done: (result: number | OutcomeCode | OutcomeName, rtMs?: number) => boolean;
}

export interface Rejected {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export class Gateway {
  readonly trust: Trust;
  /** The arrival stamp's reader (`counts()`), or null when `requestStart` is off. */
  readonly requestStart: RequestStart | null;
  private readonly rejections: Rejections;
  private readonly propagateOptions: PropagateOptions;
  private readonly propagateMode: 'signed' | 'baggage';

  constructor(
    readonly engine: Gearshift,
    options: GatewayOptions = {},
  ) {
    checkEngine(engine, 'createGateway(engine)');
    if (!isPlainObject(options as unknown)) throw new UsageError(`createGateway(engine, options): options must be an object, got ${shown(options)}`);
    refuseUnknownKeys(options as Record<string, unknown>, ['trust', 'rejections', 'propagate', 'requestStart'], '');
    this.trust = trustOf(options.trust);
    this.rejections = buildRejections(options.rejections);
    if (options.propagate !== undefined && !isPlainObject(options.propagate)) throw new UsageError(`propagate: expected { mode, ttlSec, header }, got ${shown(options.propagate)}`);
    // The gateway's own trust signs: a `trust` here would be overwritten without a word.
    if (options.propagate !== undefined) refuseUnknownKeys(options.propagate, ['mode', 'ttlSec', 'header'], 'propagate.');
    this.propagateOptions = { ...options.propagate, trust: this.trust };
    this.propagateMode = checkPropagateOptions(this.propagateOptions); // once, at start-up: not per forwarded request
    this.requestStart = requestStartOf(options.requestStart, GATEWAY_REQUEST_START_KEYS);
  }

  /** Routes one request; a rejected decision is recorded at once (its `done` then does nothing). */
  begin(scene: unknown, unit?: unknown, hints?: GatewayHints | null): GatewayRequest {
    const decision = this.route(scene, unit, hints);
    if (!decision.ok) reportOutcome(this.engine, decision, this.rejections.of(decision).outcome);
    const engine = this.engine;
    return {
      decision,
      done: (result, rtMs) => reportOutcome(engine, decision, statusOrOutcome(result), rtMs),
    };
  }

  /** The decision alone (trust applied), for callers that record with `complete`. */
  route(scene: unknown, unit?: unknown, hints?: GatewayHints | null): RoutedDecision {
    const d = this.decide(scene, unit, hints);
    const rs = this.requestStart;
    if (rs === null || !hints || !d.ok || hints.requestStart == null) return d;
    // Trusted as `decide` trusts plain hints: an own `trusted` that is not undefined decides, else the peer.
    const own = ownTrusted(hints);
    const peer = hints.peer;
    const trusted = own === undefined ? this.trust.fromProxy(peer) : own === true;
    return rs.apply(this.engine, d, rs.waitOf(lastListed(hints.requestStart), trusted, typeof peer === 'string' ? peer : ''));
  }

  /** Routes with the hints' trust applied, as the HTTP adapters do (adapters/core.ts `decideWithHints`). */
  private decide(scene: unknown, unit: unknown, hints: GatewayHints | null | undefined): RoutedDecision {
    if (!hints) return this.engine.route(scene, unit, null);
    const signed = firstListed(hints.signed);
    let version = firstListed(hints.version) || undefined;
    let loadTest = hints.loadTest === true || loadTestFlag(firstListed(hints.loadTest));
    const bag = baggageOf(hints.baggage);
    let trusted = ownTrusted(hints);
    if (signed !== undefined && signed.length > 0) {
      const v = this.trust.verify(signed, typeof scene === 'string' ? scene : null);
      if (typeof v !== 'string') {
        // Plain hints beside it lose to the token; from an untrusted peer they are still a probe, and counted.
        const probe = version !== undefined || loadTest || bag !== null;
        if (probe && trusted === undefined && !this.trust.fromProxy(hints.peer)) this.trust.stats.untrusted++;
        return this.engine.route(scene ?? v.scene, unit, { version: v.version || null, loadTest: v.loadTest, trusted: true });
      }
      if (v === 'expired_load_test') return this.engine.route(scene, unit, { expiredLoadTest: true }); // see RouteHints.expiredLoadTest
    }
    let bagScene: string | undefined;
    if (bag !== null) {
      version ??= baggageVersion(bag, scene, this.trust);
      loadTest ||= bag.loadTest;
      bagScene = bag.scene;
    }
    const wantsSomething = version !== undefined || loadTest || bagScene !== undefined;
    if (trusted === undefined) {
      trusted = wantsSomething && this.trust.fromProxy(hints.peer);
      if (wantsSomething) {
        if (trusted) this.trust.stats.proxy++;
        else this.trust.stats.untrusted++;
      }
    }
    if (trusted && scene == null) scene = bagScene;
    return this.engine.route(scene, unit, { version: version ?? null, loadTest, trusted });
  }

  /** Records the outcome of a decision from `route` (exactly once). */
  complete(decision: Decision, result: number | OutcomeCode | OutcomeName, rtMs?: number): boolean {
    return reportOutcome(this.engine, decision, statusOrOutcome(result), rtMs);
  }

  /** The prebuilt response for a refused decision. */
  rejection(decision: Decision): Rejected {
    if (!isDecision(decision)) throw new UsageError('rejection(decision): expected a decision from begin() or route()');
    const r = this.rejections.of(decision);
    return { status: r.status, headers: r.headersFor(decision), body: r.body };
  }

  /** Headers that carry the decision to the upstream (signed token or baggage). */
  propagationHeaders(decision: Decision, existingBaggage?: string): Record<string, string> {
    const out = headersFor(decision, this.propagateOptions, this.propagateMode, existingBaggage);
    // With requestStart on, the request's start goes on as an arrival stamp: an upstream that reads it (requestStart
    // on, this gateway a trusted proxy) counts its budget from the same moment, so its deadline is the one left here.
    const stamp = this.requestStart?.stampOf(this.engine, decision);
    if (stamp !== undefined) out[REQUEST_START_HEADER] = stamp;
    return out;
  }

  /** Milliseconds left of the decision's RT budget, on the engine clock. */
  remainingMs(decision: Decision): number {
    if (!isDecision(decision)) throw new UsageError('remainingMs(decision): expected a decision from begin() or route()');
    return decision.startedAt + decision.rtBudgetMs - this.engine.now();
  }
}

/**
 * The caller's `trusted`, an own property only: a hints object built by merging a parsed body
 * ({"__proto__": {"trusted": true}}) must not inherit trust. Undefined: not said, the peer decides.
 */
const ownTrusted = (hints: GatewayHints): boolean | undefined => (Object.hasOwn(hints, 'trusted') ? hints.trusted : undefined);

/** The gearshift entries of a `baggage` header value (a list: its lines, joined), or null. */
const baggageOf = (v: unknown): BaggageDecision | null =>
  typeof v === 'string' ? readBaggage(v) : Array.isArray(v) ? readBaggage(v.filter((x) => typeof x === 'string').join(',')) : null;

export const createGateway = (engine: Gearshift, options?: GatewayOptions): Gateway => new Gateway(engine, options);
export default createGateway;
export { createTrust, Trust, type TrustCounts, type TrustOptions, type TrustRefusal, type SignableHint, type SignedHint, type ProxyRanges } from './trust.js';
export { propagate, propagationHeaders, readBaggage, type BaggageDecision, type PropagateOptions } from './propagate.js';
export { Outcome, type OutcomeCode, type OutcomeName } from './outcome.js';
export type { RejectionOverrides, RejectionReason, RejectionSpec } from './reject.js';
export { RequestStart, type RequestStartCounts, type RequestStartOptions } from './request-start.js';
export type { ProxyOffset } from './proxy-clock.js';

/**
 * What `done` and `complete` take: an HTTP status (100–599), else an outcome code or name (`Outcome.Error` is 2,
 * which read as a status was a success: a proxy reporting its upstreams' failures by code hid all of them). Anything
 * else counts as an error, as `engine.complete` reads it.
 */
const statusOrOutcome = (result: unknown): OutcomeCode | OutcomeName =>
  typeof result === 'number' && result >= 100 && result <= 599 ? outcomeOfStatus(result) : (result as OutcomeCode | OutcomeName);
