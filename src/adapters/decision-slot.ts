/**
 * Where the Express adapter keeps each request's Decision, so that `req.gearshift` works without adding a property
 * to every request object.
 *
 * Why: Express gives every request a new prototype (`app.request`), and on such objects V8 cannot cache property
 * look-ups: each read or write of a request property goes to V8's runtime. Measured under load, the one store
 * `req.gearshift = d` was the single most expensive thing the middleware did, about 8,000 instructions per request
 * (its share of perf samples under load, `bench/http-server.mjs express-gearshift`), more than routing the request.
 *
 * So the decision goes into a WeakMap (no property write, collected with the request), and `gearshift` becomes an
 * accessor on Express's request prototype (`express.request`, which Express documents for adding request properties),
 * installed once. A request that is not an Express one (a plain object, a bare IncomingMessage) or whose prototypes
 * already define a `gearshift` gets the plain property instead: no other prototype is ever changed.
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

/**
 * The prototype to carry the accessor: the host's base request prototype, the one right above
 * `IncomingMessage.prototype` (Express's `express.request`, which every app's `app.request` and every mounted sub-app's
 * inherit from, so the decision stays readable after a sub-app hands the request back to its parent). Null when there
 * is none (a plain object, a bare IncomingMessage), or when a prototype on the way already has a `gearshift` of
 * someone else's: then the request gets a plain property, and no shared prototype is touched.
 */
function accessorHost(proto: object | null): object | null {
  let below: object | null = null;
  for (let at = proto; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (at === IncomingMessage.prototype) {
      if (below !== null && Object.getOwnPropertyDescriptor(below, 'gearshift') === undefined) Object.defineProperty(below, 'gearshift', ACCESSOR);
      return below;
    }
    const own = Object.getOwnPropertyDescriptor(at, 'gearshift');
    if (own !== undefined && own.get !== ACCESSOR.get) return null;
    below = at;
  }
  return null; // not an IncomingMessage at all
}

export class DecisionSlot {
  /** The last prototype seen and whether its chain carries the accessor: an Express app has one, or a few with sub-apps. */
  private lastProto: object | null = null;
  private lastOk = false;

  set(req: { gearshift?: Decision | null }, d: Decision | null): void {
    const proto = Object.getPrototypeOf(req) as object | null;
    if (proto !== this.lastProto) {
      this.lastOk = accessorHost(proto) !== null;
      this.lastProto = proto;
    }
    // Reads need nothing special: `req.gearshift` finds the accessor, or the plain property.
    if (this.lastOk) decisions.set(req, d);
    else req.gearshift = d;
  }
}
