/**
 * How the Express adapter touches requests and responses without paying for V8's inline-cache misses.
 *
 * Why: Express gives every request and response a new prototype (`Object.setPrototypeOf(req, app.request)`), and
 * the objects come out of it with a hidden class of their own, new for every request. V8's inline caches remember
 * hidden classes, so on these objects every plain property access (`req.headers`, `res.writableEnded`,
 * `req.gearshift = d`) misses and goes to V8's runtime: measured in a Fastify-free Express process, 1,500 to 3,500
 * instructions per access, several times what routing the request costs. Three ways around it, each measured
 * (README, Performance):
 * - `headers` is Node's accessor on `IncomingMessage.prototype`: its getter is called directly (~700 instead of ~3,600),
 *   as long as nothing on the request's prototype chain overrides it (checked once per prototype).
 * - Own data fields (`finished`, `statusCode`, `req`) are read with `Reflect.get`, a generic look-up that needs no
 *   inline cache: ~1,040 against ~1,375 for a plain read in `bench/access-icount.mjs`, inside its noise (±500), so
 *   not proven cheaper; under load the profile shows no runtime miss handler for these reads any more.
 * - The decision is kept in `res.locals` (Express's own per-request object) under a private symbol: `locals` is a
 *   null-prototype dictionary, and adding a key to a dictionary needs no new hidden class (~190, against ~2,270
 *   for a WeakMap entry and ~8,000 for adding a property to the request). `req.gearshift` is an accessor on Express's
 *   request prototype (`express.request`, which Express documents for adding request properties), installed once,
 *   that reads it back. A response without a `locals` object falls back to a WeakMap; a request that is not an
 *   Express one (a plain object, a bare IncomingMessage) or whose prototypes already define a `gearshift` gets the
 *   plain property instead: no other prototype is ever changed.
 */
import { type IncomingHttpHeaders, IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Decision } from '../route/decision.js';

/** Where a request's decision is, when its response has no `locals` (not an Express response). */
const decisions = new WeakMap<object, Decision | null>();
/** The key of the decision in `res.locals`: a symbol, so templates and `Object.keys(res.locals)` never see it. */
const kDecision = Symbol('gearshift.decision');

/** `res.locals` of a request (`req.res` is set by Express before any middleware runs), if it is an object. */
function localsOf(req: object): Record<symbol, Decision | null | undefined> | null {
  const res = Reflect.get(req, 'res') as unknown;
  return res !== null && typeof res === 'object' ? localsOfResponse(res) : null;
}

function localsOfResponse(res: object): Record<symbol, Decision | null | undefined> | null {
  const locals = Reflect.get(res, 'locals') as unknown;
  return locals !== null && typeof locals === 'object' ? (locals as Record<symbol, Decision | null | undefined>) : null;
}

function readDecision(req: object): Decision | null | undefined {
  const locals = localsOf(req);
  return locals !== null && kDecision in locals ? locals[kDecision] : decisions.get(req);
}

/** `res` is `req.res` (Express links them before any middleware runs); the middleware passes it to save a look-up. */
function writeDecision(req: object, res: object | undefined, d: Decision | null): void {
  const locals = res === undefined ? localsOf(req) : localsOfResponse(res);
  if (locals !== null) locals[kDecision] = d;
  else decisions.set(req, d);
}

/** One accessor for every prototype: reads and writes go to `res.locals` (or the WeakMap). */
const ACCESSOR: PropertyDescriptor = {
  get(this: object): Decision | null | undefined {
    return readDecision(this);
  },
  set(this: object, d: Decision | null): void {
    writeDecision(this, undefined, d);
  },
  configurable: true,
  enumerable: false,
};

const NODE_HEADERS = Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'headers');
const headersGetter = typeof NODE_HEADERS?.get === 'function' ? NODE_HEADERS.get : null;

/** What one request prototype allows: where the decision goes, and whether `headers` is still Node's own. */
export class ProtoFacts {
  constructor(
    /** The prototype chain carries the accessor: the decision goes to `res.locals` (or the WeakMap), not onto `req`. */
    readonly viaAccessor: boolean,
    readonly nodeHeaders: boolean,
  ) {}
}

/**
 * Walks a request's prototype chain once. The decision accessor goes on the host's base request prototype, the one
 * right above `IncomingMessage.prototype` (Express's `express.request`, which every app's `app.request` and every
 * mounted sub-app's inherit from, so the decision stays readable after a sub-app hands the request back to its
 * parent); not when there is none (a plain object, a bare IncomingMessage), nor when a prototype on the way already
 * has a `gearshift` of someone else's.
 */
function factsOf(proto: object | null): ProtoFacts {
  let below: object | null = null;
  let foreignGearshift = false;
  let nodeHeaders = headersGetter !== null;
  for (let at = proto; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (at === IncomingMessage.prototype) {
      const ok = below !== null && !foreignGearshift;
      if (ok && Object.getOwnPropertyDescriptor(below!, 'gearshift') === undefined) Object.defineProperty(below!, 'gearshift', ACCESSOR);
      return new ProtoFacts(ok, nodeHeaders);
    }
    const own = Object.getOwnPropertyDescriptor(at, 'gearshift');
    if (own !== undefined && own.get !== ACCESSOR.get) foreignGearshift = true;
    if (Object.getOwnPropertyDescriptor(at, 'headers') !== undefined) nodeHeaders = false;
    below = at;
  }
  return new ProtoFacts(false, false); // not an IncomingMessage at all
}

const PLAIN = new ProtoFacts(false, false);

export class ExpressAccess {
  /** The last prototype seen and its facts: an Express app has one, or a few with sub-apps. */
  private lastProto: object | null = null;
  private facts = PLAIN;

  /** What the request's prototype allows; the middleware reads it once per request and passes it to `headers` and `set`. */
  factsFor(req: object): ProtoFacts {
    const proto = Object.getPrototypeOf(req) as object | null;
    if (proto !== this.lastProto) {
      this.facts = factsOf(proto);
      this.lastProto = proto;
    }
    return this.facts;
  }

  /** `req.headers`. An own `headers` data property on the request itself wins, as it would for `req.headers`. */
  headers(req: IncomingMessage, facts = this.factsFor(req)): IncomingHttpHeaders {
    return facts.nodeHeaders && !Object.hasOwn(req, 'headers') ? (headersGetter!.call(req) as IncomingHttpHeaders) : req.headers;
  }

  /** `req.gearshift = d`, without a property write on the request; `res` is the request's response. */
  set(req: { gearshift?: Decision | null }, res: ServerResponse, d: Decision | null, facts = this.factsFor(req)): void {
    if (facts.viaAccessor) writeDecision(req, res, d);
    else req.gearshift = d;
  }

  /** `req.gearshift`. */
  get(req: { gearshift?: Decision | null }): Decision | null | undefined {
    return this.factsFor(req).viaAccessor ? readDecision(req) : req.gearshift;
  }
}

/** `res.writableEnded` (which is `res.finished` in Node's getter), read without an inline cache. */
export const responseEnded = (res: ServerResponse): boolean => Reflect.get(res, 'finished') === true;
/** `res.statusCode`, read without an inline cache. */
export const responseStatus = (res: ServerResponse): number => Reflect.get(res, 'statusCode') as number;
/** `req.socket`, read without an inline cache. */
export const socketOf = (req: IncomingMessage): Socket | undefined => Reflect.get(req, 'socket') as Socket | undefined;
