/**
 * `gearshift/express`: middleware for Express 4 and 5.
 *
 *   app.use(gearshift(engine, { scene: { header: 'x-scene' }, unit: { cookie: 'uid' } }));
 *   app.get('/feed', (req, res) => res.json({ version: req.gearshift?.version }));
 *
 * Per request it routes, puts the Decision on `req.gearshift`, refuses rejected scenes with the prebuilt response,
 * and records the outcome once: as soon as `next()` returns if the response has ended by then, else when Node reports
 * it finished or its connection closes first (response-watch.ts; status ≥ 500 → error; closed before finishing →
 * client abort). Path-parameter scenes (`{ param: 'scene' }`) need the middleware on the route:
 * `app.get('/:scene', mw, h)`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gearshift } from '../engine.js';
import type { RoutedDecision } from '../route/decision.js';
import { type AdapterOptions, AdapterCore, type HostAccess } from './core.js';
import { ExpressAccess, responseEnded, responseStatus, socketOf } from './express-access.js';
import { isServerError, Outcome } from './outcome.js';
import type { Trust, TrustCounts } from './trust.js';
import type { RequestStart } from './request-start.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * The gearshift decision of this request (null when it named no scene and `missingScene` is `skip`). Always
       * served in a handler after the middleware; a hook that runs on a rejection sees it too. `ok` narrows it.
       */
      gearshift?: RoutedDecision | null;
    }
  }
}

/** The parts of an Express request the middleware uses (structural: works with Express 4 and 5 typings). */
export interface ExpressLikeRequest extends IncomingMessage {
  params?: Record<string, string | string[] | undefined> | undefined;
  gearshift?: RoutedDecision | null | undefined;
  res?: ServerResponse | undefined;
}

export type ExpressOptions = AdapterOptions<ExpressLikeRequest>;

export interface GearshiftExpressMiddleware {
  // Generic, so that in `app.get(path, mw, handler)` the handler's request keeps Express's own type.
  <Req extends ExpressLikeRequest>(req: Req, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Error middleware: records the request as an error at once, then passes the error on. `app.use(mw.errors)`. */
  readonly errors: (err: unknown, req: ExpressLikeRequest, res: ServerResponse, next: (err?: unknown) => void) => void;
  /** The request's AbortSignal (deadline or client gone), created on first call. */
  signal(req: ExpressLikeRequest): AbortSignal;
  /** Milliseconds left of the request's RT budget (Infinity without a decision). */
  remainingMs(req: ExpressLikeRequest): number;
  readonly trust: Trust;
  trustCounts(): TrustCounts;
  /** The arrival stamp's reader and its `counts()`, or null when `requestStart` is off. */
  readonly requestStart: RequestStart | null;
}

/** Express's requests and responses get a hidden class of their own each: read them the cheap way (express-access.ts). */
const EXPRESS_HOST: HostAccess<ExpressLikeRequest> = { params: (req) => req.params, socket: (req) => req.socket, ended: responseEnded, status: responseStatus };

/** Creates the middleware. */
export function gearshift(engine: Gearshift, options: ExpressOptions = {}): GearshiftExpressMiddleware {
  const core = new AdapterCore<ExpressLikeRequest>(engine, options, EXPRESS_HOST);
  const debug = core.debugHeaders;
  const access = new ExpressAccess();

  const mw = function gearshiftMiddleware(req: ExpressLikeRequest, res: ServerResponse, next: (err?: unknown) => void): void {
    let d: RoutedDecision | null;
    // One prototype read per request (Object.getPrototypeOf on Express's requests is a call into V8's runtime).
    const facts = access.factsFor(req);
    try {
      d = core.decide(req, access.headers(req, facts));
    } catch (err) {
      return next(err);
    }
    access.set(req, res, d, facts); // req.gearshift = d, without a property write per request
    if (d === null) return next();
    if (!d.ok) return core.rejectNode(d, res);
    if (debug) core.writeDebugHeaders(d, (k, v) => res.setHeader(k, v));
    next();
    if (!core.recordIfEnded(d, res)) core.watchFinish(d, res, socketOf(req));
  } as GearshiftExpressMiddleware;

  const errors = (err: unknown, req: ExpressLikeRequest, _res: ServerResponse, next: (err?: unknown) => void): void => {
    const d = access.get(req);
    // Not a server error: one that says it is a client's (http-errors' `status`, body-parser's 400 for bad JSON, a
    // thrown 404), and a request whose client has gone (its read was aborted): the response, or the close, records those.
    if (d && d.ok && isServerError(err) && !req.aborted) core.complete(d, Outcome.Error);
    next(err);
  };
  Object.defineProperties(mw, {
    errors: { value: errors },
    trust: { value: core.trust },
    requestStart: { value: core.requestStart },
  });
  // These read the decision the way the middleware stored it, not through `req.gearshift` (see express-access.ts).
  mw.signal = (req) => {
    const d = access.get(req);
    if (!d) return new AbortController().signal;
    return core.signal(d, Reflect.get(req, 'res') as ServerResponse | undefined);
  };
  mw.remainingMs = (req) => {
    const d = access.get(req);
    return d ? core.remainingMs(d) : Infinity;
  };
  mw.trustCounts = () => core.trust.counts();
  return mw;
}

export default gearshift;
export { createTrust, Trust, type TrustCounts, type TrustOptions, type TrustRefusal, type SignableHint, type SignedHint, type ProxyRanges } from './trust.js';
export { propagate, propagationHeaders, type PropagateOptions } from './propagate.js';
export type { AdapterOptions, SceneSource, UnitSource, HintHeaders } from './core.js';
export type { RejectionOverrides, RejectionReason, RejectionSpec } from './reject.js';
export { RequestStart, type RequestStartCounts, type RequestStartOptions } from './request-start.js';
export type { ProxyOffset } from './proxy-clock.js';
