/**
 * Recording a response that its handler ends after the adapter's hook has returned (an async handler), without a
 * listener per response.
 *
 * Why: a `close` listener per response cost 11% of gearshift's CPU in a Fastify server with an async handler (the
 * store into the response's dictionary-mode `_events`, then the emit), and on Express, whose per-request objects make
 * every property access a generic one, the async path cost +2.4% of the server's CPU against +1.7% for a synchronous
 * handler. Instead, the open response is parked in three slots of its socket (a net.Socket keeps one hidden class),
 * and learnt about in one of two ways:
 * - `watchEnd` (Fastify): the response's `end` is shadowed by one shared function, which calls the `end` it
 *   shadows, then records the outcome by status: the same moment the synchronous path records, right after `end()`.
 * - `watchFinish` (Express, where adding a property to a response costs V8 a new hidden class per request, and
 *   node:http, whose handlers call `end` themselves and may hold it before it could be shadowed: `res.end(await x)`):
 *   nothing is added to the response; Node's `http.server.response.finish` diagnostics channel names the socket of every
 *   response that finishes, and the one parked there is recorded. The subscription is process-wide: taken by a watch
 *   on its first response, and dropped when the engines of every watch that took it have closed. A watch whose
 *   engine has closed listens on its responses instead (below).
 * A client that goes away first is seen by one `close` listener per socket, added with its first watched response
 * (a keep-alive socket carries many), which records the parked response as aborted.
 *
 * When a response cannot be parked, the watch listens for its own `close` instead, keeping the decision on it under
 * this watch's own key (so two gearshift adapters on one request never read each other's): a second open response
 * on one socket (HTTP/1.1 pipelining runs the next handler before the previous response is done), or a response
 * without a socket. HTTP/2's compatibility API (its socket is the whole session, and it publishes no finish) has its
 * own watch on the stream (stream-watch.ts).
 * Whatever records first wins; a decision is recorded once (`Decision.completed`).
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Decision } from '../route/decision.js';
import { streamGone, streamOf, watchStream } from './stream-watch.js';

const kRes = Symbol('gearshift.openResponse');
const kDecision = Symbol('gearshift.openDecision');
const kWatch = Symbol('gearshift.watch');
const kEnd = Symbol('gearshift.end');

/** A socket with a parked response (`kRes` null: none now; undefined: never watched, no listener yet). */
interface ParkingSocket extends Socket {
  [kRes]?: ServerResponse | null;
  [kDecision]?: Decision | null;
  [kWatch]?: ResponseWatch | null;
}
type End = (this: ServerResponse, a?: unknown, b?: unknown, c?: unknown) => ServerResponse;
interface Shadowed extends ServerResponse {
  [kEnd]: End;
}

/** How a watched response is recorded: by its status (it has ended), or as whatever a closed response was. */
export interface Completion {
  /** The response has ended (its `end()` ran, or Node finished it): by status, without asking it again. */
  ended(decision: Decision, res: ServerResponse): unknown;
  /**
   * Its socket closed first, or its client was gone before the answer: by status if it had ended for a client still
   * there, else a client abort (or a timeout at the deadline, or an error the server destroyed it with).
   */
  closed(decision: Decision, res: ServerResponse): unknown;
}

function settle(socket: ParkingSocket, ended: boolean): void {
  const res = socket[kRes]!;
  const d = socket[kDecision]!;
  const watch = socket[kWatch]!;
  socket[kRes] = null;
  socket[kDecision] = null;
  socket[kWatch] = null;
  // Ended for a client already gone: the answer went nowhere (Express's body parser answers 400 to a client that left
  // mid-body, and Node still reports it finished). Node marks the request `aborted` when its client closes or
  // half-closes before the answer; a socket this response closes itself is destroyed only after the finish report
  // and after `end()` returns, so a delivered answer never reads as gone.
  if (ended && !socket.destroyed && res.req?.aborted !== true) watch.completion.ended(d, res);
  else watch.completion.closed(d, res);
}

/**
 * `end` of every shadowed response: the shadowed `end` first, so the outcome sees the final status. If it throws,
 * nothing is recorded yet: the host answers the error (another `end`) or the socket closes.
 */
function shadowedEnd(this: Shadowed, a?: unknown, b?: unknown, c?: unknown): ServerResponse {
  const out = this[kEnd].call(this, a, b, c);
  const socket = this.socket as ParkingSocket | null;
  if (socket !== null && socket[kRes] === this) settle(socket, true);
  return out;
}

/** The socket closed: its parked response, if any, was not finished (client gone, or the server cut it). */
function onSocketClose(this: ParkingSocket): void {
  if (this[kRes]) settle(this, false);
}

/** Node publishes every finished response here; only the one parked on its socket is ours. */
const FINISH = 'http.server.response.finish';
/** How many watches hold the subscription to FINISH. */
let holders = 0;
function onFinish(message: unknown): void {
  const { socket, response } = message as { socket?: ParkingSocket | null; response?: unknown };
  if (socket && response && socket[kRes] === response) settle(socket, true);
}

export class ResponseWatch {
  /** Where a response watched by its own listener keeps its decision: this watch's key, no other's. */
  private readonly key = Symbol('gearshift.decision');
  /** That listener, one per watch (no closure per request): `this` is the response. */
  private readonly onClose: (this: ServerResponse) => void;
  /** This watch holds the finish subscription (taken with its first Express response). */
  private holding = false;
  /** Its engine has closed: it takes no subscription any more. */
  private released = false;

  /**
   * @param onRelease  registers what to run when the watch's engine closes (`engine.onClose`); it may run it at once
   */
  constructor(
    readonly completion: Completion,
    private readonly onRelease: (release: () => void) => void = () => {},
  ) {
    const key = this.key;
    this.onClose = function (this: ServerResponse): void {
      const d = (this as ServerResponse & { [key]?: Decision })[key];
      if (d !== undefined) completion.closed(d, this);
    };
  }

  /**
   * Watches `res` (Fastify) until its `end()` or its socket's close. True when parked on the socket, false
   * when it had to listen for the response's own `close`.
   */
  watchEnd(decision: Decision, res: ServerResponse): boolean {
    if (!(res instanceof ServerResponse)) return this.watchOther(decision, res);
    const socket = res.socket;
    if (this.goneAlready(decision, res, socket)) return false;
    if (!(socket instanceof Socket) || !this.park(decision, res, socket as ParkingSocket)) {
      return this.listen(decision, res);
    }
    (res as Shadowed)[kEnd] = res.end as End;
    res.end = shadowedEnd as unknown as ServerResponse['end'];
    return true;
  }

  /**
   * Watches `res` (Express, node:http) until Node reports it finished, or its socket's close; `socket` is the request's. True
   * when parked on the socket, false when it had to listen for the response's own `close`.
   */
  watchFinish(decision: Decision, res: ServerResponse, socket: Socket | null | undefined): boolean {
    // Not an HTTP/1 response: no finish is published for it, and an HTTP/2 one's socket is a proxy that reads from
    // the session's socket and listens on the stream, where parking lost the first response of every session.
    if (!(res instanceof ServerResponse)) return this.watchOther(decision, res);
    if (this.goneAlready(decision, res, socket)) return false;
    if (!this.holding && !this.hold()) return this.listen(decision, res);
    if (socket instanceof Socket && this.park(decision, res, socket as ParkingSocket)) return true;
    return this.listen(decision, res);
  }

  /**
   * The client left before this adapter saw the request (during an async middleware or hook in front of it): its
   * socket has closed already and will report nothing more, so the request is recorded now, as a client abort.
   */
  private goneAlready(decision: Decision, res: ServerResponse, socket: Socket | null | undefined): boolean {
    if (!(socket instanceof Socket) || !socket.destroyed) return false;
    this.completion.closed(decision, res);
    return true;
  }

  /**
   * A response that is not an HTTP/1 one: an HTTP/2 stream's (stream-watch.ts), recorded at its `end()` or its
   * `close`, or at once if its client reset it or left before the adapter saw it; anything else (a test's fake) by
   * its own `close`.
   */
  private watchOther(decision: Decision, res: ServerResponse): false {
    const stream = streamOf(res);
    if (stream === undefined) return this.listen(decision, res);
    const { ended, closed } = this.completion;
    if (streamGone(stream)) closed(decision, res);
    else watchStream(stream, decision, res, ended, closed);
    return false;
  }

  /** Takes the finish subscription for this watch until its engine closes; false once it has. */
  private hold(): boolean {
    if (this.released) return false;
    this.holding = true;
    if (holders++ === 0) subscribe(FINISH, onFinish);
    this.onRelease(() => this.release());
    return this.holding;
  }

  /**
   * Its engine closed. Responses still parked are recorded when their socket closes (or by another watch's
   * subscription), and the next one on a parked socket gets a listener of its own.
   */
  private release(): void {
    this.released = true;
    if (!this.holding) return;
    this.holding = false;
    if (--holders === 0) unsubscribe(FINISH, onFinish);
  }

  /** The fallback: a listener on the response's own `close` (the property add is fine here; this path is rare). */
  private listen(decision: Decision, res: ServerResponse): false {
    (res as ServerResponse & { [key: symbol]: Decision })[this.key] = decision;
    res.on('close', this.onClose);
    return false;
  }

  /**
   * Parks `res` on its socket (a net.Socket only: a test injector's fake socket stays with the listener); false if
   * another response is parked there (pipelining).
   */
  private park(decision: Decision, res: ServerResponse, socket: ParkingSocket): boolean {
    const open = socket[kRes];
    if (open === undefined) socket.on('close', onSocketClose);
    else if (open !== null) return false;
    socket[kRes] = res;
    socket[kDecision] = decision;
    socket[kWatch] = this;
    return true;
  }
}
