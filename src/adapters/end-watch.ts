/**
 * Recording a response that its handler ends after the adapter's hook has returned (an async handler), without a
 * listener per response.
 *
 * Why: a `close` listener per response cost 11% of gearshift's CPU in a Fastify server with an async handler (the
 * store into the response's dictionary-mode `_events`, then the emit). Instead:
 * - the response's `end` is shadowed by one shared function, which calls the `end` it shadows, then records the
 *   outcome by status (the same moment the synchronous path records: right after `end()`);
 * - a client that goes away first is seen by one `close` listener per socket, added on the socket's first watched
 *   response (a keep-alive socket carries many), which records the socket's pending response as aborted.
 * A response is watched this way only when it is a node:http `ServerResponse` of its own socket, whose hidden class
 * stays stable under the four properties added here. Otherwise the adapter's own `close` listener watches it: a second
 * pending response on one socket (HTTP/1.1 pipelining runs the next handler before the previous response is done),
 * HTTP/2's compatibility API (its socket is the whole session), or a response without a socket.
 *
 * Whichever fires first records; a decision is recorded once (`Decision.completed`), so the other is a no-op.
 */
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Decision } from '../route/decision.js';

const kDecision = Symbol('gearshift.watched');
const kWatch = Symbol('gearshift.watch');
const kEnd = Symbol('gearshift.end');
const kPending = Symbol('gearshift.pending');

type End = (this: ServerResponse, a?: unknown, b?: unknown, c?: unknown) => ServerResponse;
interface Watched extends ServerResponse {
  [kDecision]: Decision | null;
  [kWatch]: EndWatch;
  [kEnd]: End;
}
interface WatchedSocket extends Socket {
  [kPending]?: Watched | null;
}

/** How a watched response is recorded: the adapter core's completion (by status once ended, else an abort). */
export type Complete = (decision: Decision, res: ServerResponse) => unknown;

/**
 * `end` of every watched response: the shadowed `end` first, so the outcome sees the final status. If it throws,
 * nothing is recorded yet: the host answers the error (another `end`) or the socket closes.
 */
function watchedEnd(this: Watched, a?: unknown, b?: unknown, c?: unknown): ServerResponse {
  const out = this[kEnd].call(this, a, b, c);
  settle(this);
  return out;
}

/** The socket closed: its pending response, if any and not ended, was aborted. */
function onSocketClose(this: WatchedSocket): void {
  const res = this[kPending];
  if (res !== undefined && res !== null) settle(res);
}

function settle(res: Watched): void {
  const d = res[kDecision];
  if (d === null) return;
  res[kDecision] = null;
  const socket = res.socket as WatchedSocket | null;
  if (socket !== null && socket[kPending] === res) socket[kPending] = null;
  res[kWatch].complete(d, res);
}

export class EndWatch {
  constructor(readonly complete: Complete) {}

  /** Watches `res` until `end()` or its socket's close; false when it cannot (the caller then adds a listener). */
  watch(decision: Decision, res: ServerResponse): boolean {
    const socket = res.socket as WatchedSocket | null;
    if (socket === null || !(res instanceof ServerResponse)) return false;
    const pending = socket[kPending];
    if (pending === undefined) socket.on('close', onSocketClose);
    else if (pending !== null && pending[kDecision] !== null) return false; // another one still open (pipelining)
    const w = res as Watched;
    w[kDecision] = decision;
    w[kWatch] = this;
    w[kEnd] = res.end as End;
    w.end = watchedEnd as unknown as Watched['end'];
    socket[kPending] = w;
    return true;
  }
}
