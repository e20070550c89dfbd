/**
 * Rejections: what a refused request gets back. Built once per adapter (status, headers, body bytes), so refusing a
 * flood of bad traffic costs no JSON building. Overridable per reason.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { isPlainObject, refuseUnknownKeys, shown, UsageError } from '../errors.js';
import type { Decision } from '../route/decision.js';
import { Outcome, type OutcomeCode } from './outcome.js';

export interface RejectionSpec {
  /** HTTP status. */
  status?: number;
  /** Body: a string is sent as is, anything else as JSON. */
  body?: unknown;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** The reasons whose response can be overridden. */
export type RejectionReason = 'invalid_scene' | 'unknown_scene' | 'not_deployed' | 'no_lt_version' | 'expired_load_test' | 'shed' | 'late';
/** Per rejection reason a replacement (another key is refused when the adapter is made). */
export type RejectionOverrides = Partial<Record<RejectionReason, RejectionSpec>>;

const DEFAULTS: Record<string, { status: number; message: string }> = {
  invalid_scene: { status: 400, message: 'the request names no valid scene' },
  unknown_scene: { status: 404, message: 'no such scene' },
  not_deployed: { status: 421, message: 'this scene is not deployed on this instance' },
  no_lt_version: { status: 404, message: 'load-test traffic for a scene without a load-test version' },
  expired_load_test: { status: 403, message: 'load-test traffic with an expired token: sign a new one' },
  shed: { status: 503, message: 'overloaded: request shed, retry later' },
  late: { status: 503, message: 'the request waited past its latency budget before it was read: dropped unserved' },
};
/** What a rejection counts as: shed for shedding, a timeout for a late request (engine.late records it), else rejected. */
const OUTCOME_OF: Record<string, OutcomeCode> = { shed: Outcome.Shed, late: Outcome.Timeout };
const FALLBACK = { status: 503, message: 'request refused' };

/** One prebuilt rejection response. */
export class Rejection {
  readonly body: Buffer;
  private readonly headers: Record<string, string>;
  private readonly withRetry: Record<string, string>[] = [];

  constructor(
    readonly reason: string,
    readonly status: number,
    body: unknown,
    headers: Record<string, string>,
    /** Shed for shedding, Timeout for a late request, Rejected for everything else. */
    readonly outcome: OutcomeCode,
  ) {
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new UsageError(`rejections.${reason}.status: expected 400–599, got ${status}`);
    const isText = typeof body === 'string';
    this.body = Buffer.from(isText ? body : jsonOf(body, `rejections.${reason}.body`), 'utf8');
    this.headers = Object.freeze({
      'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...lowerKeys(headers),
      'content-length': String(this.body.length),
    }) as Record<string, string>;
  }

  /** The response headers (with `Retry-After` for shedding). Cached: never allocates for common retry values. */
  headersFor(decision: Decision): Record<string, string> {
    if (this.outcome !== Outcome.Shed) return this.headers;
    const sec = retryAfterSec(decision);
    if (sec < 64) return (this.withRetry[sec] ??= Object.freeze({ ...this.headers, 'retry-after': String(sec) }) as Record<string, string>);
    return { ...this.headers, 'retry-after': String(sec) };
  }
}

/** Retry-After in whole seconds (1–3600) from the regulator's hint on a shed decision; 1 when it gives none. */
export function retryAfterSec(decision: Decision): number {
  const s = decision.retryAfterSec;
  return Number.isFinite(s) && s > 1 ? Math.min(Math.ceil(s), 3600) : 1;
}

/** The rejection table of one adapter. */
export class Rejections {
  private readonly byReason = new Map<string, Rejection>();
  private readonly overrides: RejectionOverrides;

  constructor(overrides: RejectionOverrides = {}) {
    checkOverrides(overrides);
    this.overrides = overrides;
    for (const reason of new Set([...Object.keys(DEFAULTS), ...Object.keys(overrides)])) this.byReason.set(reason, this.build(reason));
  }

  /** The response for a refused decision. */
  of(decision: Decision): Rejection {
    let r = this.byReason.get(decision.reason);
    if (r === undefined) {
      r = this.build(decision.reason);
      this.byReason.set(decision.reason, r);
    }
    return r;
  }

  private build(reason: string): Rejection {
    const d = DEFAULTS[reason] ?? FALLBACK;
    const o = this.overrides[reason as RejectionReason] ?? {}; // checked: only the rejection reasons are keys
    const body = o.body !== undefined ? o.body : { error: reason, message: d.message };
    return new Rejection(reason, o.status ?? d.status, body, o.headers ?? {}, OUTCOME_OF[reason] ?? Outcome.Rejected);
  }
}

export const buildRejections = (overrides?: RejectionOverrides): Rejections => new Rejections(overrides);

/** Refuses overrides a typo would otherwise make silently ineffective (an unknown reason) or fail per request. */
function checkOverrides(overrides: unknown): asserts overrides is RejectionOverrides {
  if (!isPlainObject(overrides)) throw new UsageError(`rejections: expected an object of reason → { status, body, headers }, got ${shown(overrides)}`);
  for (const [reason, spec] of Object.entries(overrides)) {
    if (!Object.hasOwn(DEFAULTS, reason)) throw new UsageError(`rejections.${reason}: not a rejection reason (one of ${Object.keys(DEFAULTS).join(', ')})`);
    if (spec === undefined) continue;
    if (!isPlainObject(spec)) throw new UsageError(`rejections.${reason}: expected { status, body, headers }, got ${shown(spec)}`);
    refuseUnknownKeys(spec, ['status', 'body', 'headers'], `rejections.${reason}.`);
    const headers = spec.headers;
    if (headers !== undefined && !isPlainObject(headers)) throw new UsageError(`rejections.${reason}.headers: expected an object of header → value, got ${shown(headers)}`);
    if (headers !== undefined) checkHeaders(headers, `rejections.${reason}.headers`);
  }
}

/**
 * Header names and values Node will write: one it refuses would throw on every rejected request, out of the host's
 * request handler (node:http has nothing to catch it), so it is refused here, when the adapter is made.
 */
function checkHeaders(headers: Record<string, unknown>, path: string): void {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, String(value));
    } catch {
      throw new UsageError(`${path}.${name}: not a header Node can send (a name is a token; a value holds tabs and printable Latin-1 only), got ${shown(value)}`);
    }
    if (H2_REFUSED.has(name.toLowerCase())) throw new UsageError(`${path}.${name}: a connection-specific header: HTTP/2 refuses it (Node throws on every rejected HTTP/2 request), and a rejection has no use for it on HTTP/1`);
  }
}

/**
 * Connection-specific headers Node's HTTP/2 refuses to send (it throws, out of the request handler). `connection`
 * is not here: Node drops it on HTTP/2 with one warning, and `connection: close` on an HTTP/1 rejection is useful.
 */
const H2_REFUSED = new Set(['keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

/** A body as JSON; a value JSON cannot write (a function, a BigInt, a cycle) is refused when the adapter is made. */
function jsonOf(body: unknown, path: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (err) {
    throw new UsageError(`${path}: cannot be written as JSON (${(err as Error).message})`);
  }
  if (json === undefined) throw new UsageError(`${path}: cannot be written as JSON (${typeof body})`);
  return json;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = String(v);
  return out;
}
