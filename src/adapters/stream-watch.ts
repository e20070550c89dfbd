/**
 * Recording an HTTP/2 response (node:http2's compatibility API, Fastify's `http2: true`) that is still open when the
 * adapter's chain returns.
 *
 * An HTTP/2 response is one stream of a session: its socket is the session's (the compatibility layer hands out a
 * proxy that reads from the session's socket and listens on the stream), no finish is published for it, and its
 * `close` comes only once the client has granted flow-control window for the last byte, so a slow reader would add
 * its download time to the RT. So the stream itself is watched:
 * - its `end` is wrapped: the response's `end()` always ends the stream while it is open (also when the handler took
 *   the response's `end` before an `await`), and that is when the request is recorded, by its status, as on HTTP/1
 *   (Node ends a stream it closes too, once it is marked closed: that end is no answer);
 * - its `destroy` is wrapped to tell who cut it: the server, when the stream is destroyed while still open and while
 *   the session's socket has neither ended nor broken on the client's side (a bare `res.destroy()`, a `pipeline`
 *   whose source failed, the server's own session timeout or `session.destroy()`); a client that reset the stream
 *   (the stream is closed first) or left the connection is not;
 * - its response's `close` records what never ended: a client abort, or an error when the server cut it.
 * The wrappers cost a closure each per response; HTTP/2 is not the path the hot-path budgets are measured on.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Decision } from '../route/decision.js';
import { isPeerError } from './outcome.js';

const kCut = Symbol('gearshift.cutByServer');

/** What of an `Http2Stream` the watch reads (typed loosely: the response arrives typed as an HTTP/1 one). */
interface WatchedStream {
  readonly closed: boolean;
  readonly destroyed: boolean;
  readonly session?: { readonly socket?: Socket | null } | null;
  end: (...args: unknown[]) => unknown;
  destroy: (err?: unknown) => unknown;
  [kCut]?: boolean;
}

/** The HTTP/2 stream behind a compatibility-API response, or undefined for any other response. */
export function streamOf(res: object): WatchedStream | undefined {
  const stream = (res as { stream?: unknown }).stream;
  return stream !== null && typeof stream === 'object' && typeof (stream as WatchedStream).destroy === 'function' ? (stream as WatchedStream) : undefined;
}

/** Did the server cut this HTTP/2 response's stream (see above)? False for any other response. */
export function streamCutByServer(res: object): boolean {
  return streamOf(res)?.[kCut] === true;
}

/** Is the stream gone already (the client reset it, or left, while a hook in front of the adapter ran)? */
export function streamGone(stream: WatchedStream): boolean {
  return stream.closed || stream.destroyed;
}

/**
 * Watches an open HTTP/2 response until its `end()` (`ended`) or its `close` (`closed`); whichever comes first
 * records, the decision takes one record.
 */
export function watchStream<Res extends EventEmitter>(
  stream: WatchedStream,
  decision: Decision,
  res: Res,
  ended: (d: Decision, res: Res) => unknown,
  closed: (d: Decision, res: Res) => unknown,
): void {
  const end = stream.end;
  stream.end = function (this: WatchedStream, ...args: unknown[]): unknown {
    // Node also ends the writable side of a stream it is closing (a reset, a destroy): that is no answer.
    const answered = !this.closed;
    const out = end.apply(this, args);
    if (answered) ended(decision, res);
    return out;
  };
  const destroy = stream.destroy;
  stream.destroy = function (this: WatchedStream, err?: unknown): unknown {
    if (!this.closed && !this.destroyed && !clientLeft(this)) this[kCut] = true;
    return destroy.call(this, err);
  };
  res.once('close', () => closed(decision, res));
}

/**
 * The session's socket ended (a FIN) or broke on the client's side: the client left the whole connection. The
 * session's `socket` is a proxy that throws once the session has let its socket go: then nobody can tell, and the
 * cut is not called the server's (a destroy must never throw for it).
 */
function clientLeft(stream: WatchedStream): boolean {
  try {
    const socket = stream.session?.socket;
    return socket == null || socket.readableEnded || isPeerError(socket.errored);
  } catch {
    return true;
  }
}
