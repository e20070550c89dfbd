/**
 * `gearshift/http`: plain `node:http` (and anything with a `(req, res)` request listener).
 *
 *   const gs = withGearshift(engine, async (req, res) => { ... req.gearshift.version ... }, { scene: { header: 'x-scene' } });
 *   http.createServer(gs).listen(8080);
 *
 * The returned listener routes, puts the Decision on `req.gearshift`, answers rejections itself, then calls your
 * handler. A handler that throws (or whose promise rejects) is recorded as an error, reported to `onError` (default
 * `console.error`) and, if nothing was sent yet, answered with 500: with or without a decision, since node:http would
 * otherwise let the exception, or the unhandled rejection, end the process. Everything else is recorded exactly once:
 * when the handler returns if the response has ended by then, else when Node reports it finished or when the
 * connection closes first (response-watch.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gearshift } from '../engine.js';
import { isPlainObject, shown, UsageError } from '../errors.js';
import type { Decision, RoutedDecision, ServedDecision } from '../route/decision.js';
import { type AdapterOptions, AdapterCore, type HostAccess, PLAIN_RESPONSE } from './core.js';
import { Outcome } from './outcome.js';
import type { Trust, TrustCounts } from './trust.js';
import type { RequestStart } from './request-start.js';

export interface GearshiftIncomingMessage extends IncomingMessage {
  /**
   * The decision of this request: served, since the listener answers rejections without calling the handler (null
   * when it named no scene and `missingScene` is `skip`).
   */
  gearshift: ServedDecision | null;
}

export interface HttpOptions extends AdapterOptions<IncomingMessage> {
  /**
   * What the handler threw, or its promise rejected with. Default `console.error`. Called after the request was
   * recorded as an error; if it does not end the response, gearshift answers 500 (or cuts a response already begun).
   */
  onError?: ((err: unknown, req: GearshiftIncomingMessage, res: ServerResponse) => void) | undefined;
}
export type GearshiftHandler = (req: GearshiftIncomingMessage, res: ServerResponse) => unknown;

export interface GearshiftListener {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The request's AbortSignal (deadline or client gone), created on first call. */
  signal(req: GearshiftIncomingMessage, res: ServerResponse): AbortSignal;
  /** Milliseconds left of the request's RT budget (Infinity without a decision). */
  remainingMs(req: GearshiftIncomingMessage): number;
  readonly trust: Trust;
  trustCounts(): TrustCounts;
  /** The arrival stamp's reader and its `counts()`, or null when `requestStart` is off. */
  readonly requestStart: RequestStart | null;
}

const ERROR_BODY = Buffer.from('{"error":"internal_error"}');
const ERROR_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(ERROR_BODY.length) });

/** The default `onError`: what Express's final handler does with an error nobody handled, without ending the process. */
const logError = (err: unknown): void => console.error(err);

/** node:http has no path parameters; the peer is the request's socket. */
const NODE_HOST: HostAccess<IncomingMessage> = { params: () => undefined, socket: (req) => req.socket, ...PLAIN_RESPONSE };

/** Wraps a request handler. */
export function withGearshift(engine: Gearshift, handler: GearshiftHandler, options: HttpOptions = {}): GearshiftListener {
  if (typeof handler !== 'function') throw new UsageError('withGearshift(engine, handler, options): handler must be a function');
  if (isPlainObject(options as unknown) && isPlainObject(options.scene) && 'param' in options.scene) {
    throw new UsageError('gearshift/http: node:http has no path parameters; use { header }, { value } or a function for scene');
  }
  const core = new AdapterCore<IncomingMessage>(engine, options, NODE_HOST, ['onError']);
  const onError = options.onError ?? logError;
  if (typeof onError !== 'function') throw new UsageError(`onError: expected a function (err, req, res), got ${shown(onError)}`);
  const debug = core.debugHeaders;
  const fail = (err: unknown, d: Decision | null, req: GearshiftIncomingMessage, res: ServerResponse) => {
    if (d !== null) core.complete(d, Outcome.Error);
    try {
      onError(err, req, res);
    } catch {
      // an error hook that throws must not take the host down either; the 500 below still goes out
    }
    if (res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(500, ERROR_HEADERS);
      res.end(ERROR_BODY);
    } else res.destroy();
  };

  const listener = function gearshiftListener(req: GearshiftIncomingMessage, res: ServerResponse): void {
    const d = core.decide(req, req.headers);
    // Rejections are stored too (answered below, before any handler could read them): one store, on one path.
    (req as { gearshift: RoutedDecision | null }).gearshift = d;
    if (d !== null) {
      if (!d.ok) return core.rejectNode(d, res);
      if (debug) core.writeDebugHeaders(d, (k, v) => res.setHeader(k, v));
    }
    let result: unknown;
    try {
      result = handler(req, res);
    } catch (err) {
      fail(err, d, req, res);
      return;
    }
    // Not by shadowing `end` (Fastify's way): the handler's own code calls it, and `res.end(await x)` takes the
    // response's `end` before the adapter could shadow it, so Node's finish report, which sees every way of ending,
    // records it (an HTTP/2 response, which has none, is watched on its stream: response-watch.ts).
    if (d !== null && !core.recordIfEnded(d, res)) core.watchFinish(d, res, req.socket);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => fail(err, d, req, res));
    }
  } as GearshiftListener;

  listener.signal = (req, res) => (req.gearshift ? core.signal(req.gearshift, res) : new AbortController().signal);
  listener.remainingMs = (req) => (req.gearshift ? core.remainingMs(req.gearshift) : Infinity);
  listener.trustCounts = () => core.trust.counts();
  Object.defineProperty(listener, 'trust', { value: core.trust });
  Object.defineProperty(listener, 'requestStart', { value: core.requestStart });
  return listener;
}

export default withGearshift;
export { createTrust, Trust, type TrustCounts, type TrustOptions, type TrustRefusal, type SignableHint, type SignedHint, type ProxyRanges } from './trust.js';
export { propagate, propagationHeaders, type PropagateOptions } from './propagate.js';
export type { AdapterOptions, SceneSource, UnitSource, HintHeaders } from './core.js';
export type { RejectionOverrides, RejectionReason, RejectionSpec } from './reject.js';
export { RequestStart, type RequestStartCounts, type RequestStartOptions } from './request-start.js';
export type { ProxyOffset } from './proxy-clock.js';
