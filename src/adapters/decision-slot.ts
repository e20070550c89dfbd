/**
 * Where the Express adapter keeps each request's Decision, so that `req.gearshift` works without adding a property
 * to every request object.
 *
 * Why: Express gives every request a new prototype (`app.request`), and on such objects V8 cannot cache property
 * look-ups: each read or write of a request property goes to V8's runtime. Measured under load, the one store
 * `req.gearshift = d` was the single most expensive thing the middleware did, about 8,000 instructions per request
 * (perf, `bench/http-server.mjs express-gearshift`), more than routing the request.
 *
 * So the decision goes into a WeakMap (no property write, collected with the request), and `gearshift` becomes an
 * accessor on the request's prototype: `app.request`, the object Express documents for adding request properties.
 * It is installed once per prototype seen. A request whose prototype is not an Express one (a plain object, a bare
 * IncomingMessage, one that already has its own `gearshift`) gets the plain property instead: no shared prototype
 * is ever changed.
 */
import { IncomingMessage } from 'node:http';
import type { Decision } from '../route/decision.js';

const decisions = new WeakMap<object, Decision | null>();

/** One accessor for every prototype: reads and writes go to the shared WeakMap. */
const ACCESSOR: PropertyDescriptor = {
  get(this: object): Decision | null | undefined {
    return decisions.get(this);
  },
  set(this: object, d: Decision | null): void {
    decisions.set(this, d);
  },
  configurable: true,
  enumerable: false,
};

/** May `proto` carry the accessor? Only a host's own request prototype, never a shared one. */
function installOn(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype || proto === IncomingMessage.prototype) return false;
  let at: object | null = proto;
  while (at !== null) {
    const own = Object.getOwnPropertyDescriptor(at, 'gearshift');
    if (own !== undefined) return own.get === ACCESSOR.get; // ours (installed up the chain), or someone else's: leave it
    at = Object.getPrototypeOf(at) as object | null;
  }
  Object.defineProperty(proto, 'gearshift', ACCESSOR);
  return true;
}

export class DecisionSlot {
  /** The last prototype seen and whether it carries the accessor: Express apps have one or a few. */
  private lastProto: object | null = null;
  private lastOk = false;

  set(req: { gearshift?: Decision | null }, d: Decision | null): void {
    const proto = Object.getPrototypeOf(req) as object | null;
    if (proto !== this.lastProto) {
      this.lastOk = installOn(proto);
      this.lastProto = proto;
    }
    // Reads need nothing special: `req.gearshift` finds the accessor, or the plain property.
    if (this.lastOk) decisions.set(req, d);
    else req.gearshift = d;
  }
}
