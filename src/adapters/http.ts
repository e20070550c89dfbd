/**
 * `gearshift/http`: plain `node:http` (and anything with a `(req, res)` request listener).
 *
 *   const gs = withGearshift(engine, async (req, res) => { ... req.gearshift.version ... }, { scene: { header: 'x-scene' } });
 *   http.createServer(gs).listen(8080);
 *
 * The returned listener routes, puts the Decision on `req.gearshift`, answers rejections itself, then calls your
 * handler. A handler that throws (or whose promise rejects) is recorded as an error and, if nothing was sent yet,
 * answered with 500. Everything else is recorded exactly once: when the handler returns if the response has ended
 * by then, else right after its `end()` or when the connection closes first (response-watch.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gearshift } from '../engine.js';
import { isPlainObject, UsageError } from '../errors.js';
import type { Decision } from '../route/decision.js';
import { type AdapterOptions, AdapterCore, type HostAccess, PLAIN_RESPONSE } from './core.js';
import { Outcome } from './outcome.js';
import type { Trust, TrustCounts } from './trust.js';

export interface GearshiftIncomingMessage extends IncomingMessage {
  /** The decision of this request (null when it named no scene and `missingScene` is `skip`). */
  gearshift?: Decision | null;
}

export type HttpOptions = AdapterOptions<IncomingMessage>;
export type GearshiftHandler = (req: GearshiftIncomingMessage, res: ServerResponse) => unknown;

export interface GearshiftListener {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The request's AbortSignal (deadline or client gone), created on first call. */
  signal(req: GearshiftIncomingMessage, res: ServerResponse): AbortSignal;
  /** Milliseconds left of the request's RT budget (Infinity without a decision). */
  remainingMs(req: GearshiftIncomingMessage): number;
  readonly trust: Trust;
  trustCounts(): TrustCounts;
}

const ERROR_BODY = Buffer.from('{"error":"internal_error"}');
const ERROR_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(ERROR_BODY.length) });

/** node:http has no path parameters; the peer is the request's socket. */
const NODE_HOST: HostAccess<IncomingMessage> = { params: () => undefined, socket: (req) => req.socket, ...PLAIN_RESPONSE };

/** Wraps a request handler. */
export function withGearshift(engine: Gearshift, handler: GearshiftHandler, options: HttpOptions = {}): GearshiftListener {
  if (typeof handler !== 'function') throw new UsageError('withGearshift(engine, handler, options): handler must be a function');
  if (isPlainObject(options as unknown) && isPlainObject(options.scene) && 'param' in options.scene) {
    throw new UsageError('gearshift/http: node:http has no path parameters; use { header }, { value } or a function for scene');
  }
  const core = new AdapterCore<IncomingMessage>(engine, options, NODE_HOST);
  const debug = core.debugHeaders;
  const fail = (d: Decision, res: ServerResponse) => {
    core.complete(d, Outcome.Error);
    if (!res.headersSent) {
      res.writeHead(500, ERROR_HEADERS);
      res.end(ERROR_BODY);
    } else res.destroy();
  };

  const listener = function gearshiftListener(req: GearshiftIncomingMessage, res: ServerResponse): void {
    const d = core.decide(req, req.headers);
    req.gearshift = d;
    if (d !== null) {
      if (!d.ok) return core.rejectNode(d, res);
      if (debug) core.writeDebugHeaders(d, (k, v) => res.setHeader(k, v));
    }
    let result: unknown;
    try {
      result = handler(req, res);
    } catch (err) {
      if (d) fail(d, res);
      else throw err;
      return;
    }
    if (d === null) return;
    if (!core.recordIfEnded(d, res)) core.watchEnd(d, res);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, () => fail(d, res));
    }
  } as GearshiftListener;

  listener.signal = (req, res) => (req.gearshift ? core.signal(req.gearshift, res) : new AbortController().signal);
  listener.remainingMs = (req) => (req.gearshift ? core.remainingMs(req.gearshift) : Infinity);
  listener.trustCounts = () => core.trust.counts();
  Object.defineProperty(listener, 'trust', { value: core.trust });
  return listener;
}

export default withGearshift;
export { createTrust, Trust, type TrustCounts, type TrustOptions } from './trust.js';
export { propagate, propagationHeaders, type PropagateOptions } from './propagate.js';
export type { AdapterOptions, SceneSource, UnitSource, HintHeaders } from './core.js';
export type { RejectionOverrides, RejectionSpec } from './reject.js';
