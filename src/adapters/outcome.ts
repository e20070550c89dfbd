/**
 * The one place where adapters hand a finished request back to the engine. Adapters say how the request ended (by
 * status, client abort, handler error, rejection); the engine classifies (a slow success is a timeout) and records it
 * exactly once per decision.
 */
import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Gearshift } from '../engine.js';
import type { Decision } from '../route/decision.js';
import { Outcome, type OutcomeCode, type OutcomeName } from '../sense/outcome.js';

export { Outcome, type OutcomeCode, type OutcomeName };

/**
 * Reports how a decision's request ended, once; later calls for the same decision do nothing. Returns whether it
 * recorded. The engine refuses what is not one of its decisions (null, a plain object) and a second report.
 */
export function reportOutcome(engine: Gearshift, decision: Decision, outcome: OutcomeCode | OutcomeName, rtMs?: number): boolean {
  try {
    return engine.complete(decision, outcome, rtMs);
  } catch {
    return false; // sensing must never break the host's response path (it does not throw; belt and braces)
  }
}

/** nginx's "client closed request", which proxies log and pass to `done(status)`: the client went away. */
const CLIENT_CLOSED = 499;

/** "Misdirected request": the server that got it cannot serve it (gearshift's own `not_deployed` answer is one). */
const MISDIRECTED = 421;

/**
 * HTTP status → outcome: 5xx and 421 are errors, 499 a client abort, anything else served the request (the engine
 * turns slow ones into timeouts). A 421 is the system's fault, not the client's: behind a gateway it is an upstream
 * that does not deploy the scene it was sent, and until the twenty-third session it counted as a success, which hid
 * a misrouting gateway.
 */
export const outcomeOfStatus = (status: number): OutcomeCode =>
  status >= 500 || status === MISDIRECTED ? Outcome.Error : status === CLIENT_CLOSED ? Outcome.ClientAbort : Outcome.Success;

/**
 * Is a thrown error the server's? Not when it carries a status under 500 (`status` as http-errors and body-parser set
 * it, `statusCode` as Fastify does): a malformed body or a thrown 404 is the client's, and the response's status says so.
 */
export function isServerError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return true;
  const status = (err as { status?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return !(typeof status === 'number' && status < 500);
}

/**
 * Did the server cut this unfinished HTTP/1 response (a bare `res.destroy()`, Fastify destroying a reply whose stream
 * failed, its own socket or request timeout, `req.destroy(err)` on an upload over a limit)? At the socket's close a
 * client that left has ended its side (a FIN) or broken it (a reset, or bytes the parser refused); a socket the
 * server destroyed has neither, or an error of the server's own. HTTP/2 is asked elsewhere (response-watch.ts).
 */
export function cutByServer(res: ServerResponse): boolean {
  if (!(res instanceof ServerResponse)) return false;
  const socket: unknown = res.socket ?? res.req?.socket;
  return socket instanceof Socket && !socket.readableEnded && !isPeerError(socket.errored);
}

/**
 * An error that says the peer went away or spoke garbage: a reset, a write to a closed peer, an abort, a dead link,
 * or the HTTP parser refusing its bytes (`HPE_…`). Anything else on the socket (`ERR_HTTP_REQUEST_TIMEOUT`, an error
 * a handler destroyed it with) is the server's.
 */
export function isPeerError(err: unknown): boolean {
  if (err == null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (PEER_CODES.has(code) || code.startsWith('HPE_'));
}
const PEER_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
