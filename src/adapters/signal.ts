/**
 * The per-request AbortSignal, created only when a handler asks for it (most never do, and they pay nothing).
 * It aborts with a `TimeoutError` when the scene's RT budget is used up, or an `AbortError` when the client goes away
 * before the response finished. Asking twice returns the same signal.
 */
import type { EventEmitter } from 'node:events';
import type { Decision } from '../route/decision.js';
import { streamGone, streamOf } from './stream-watch.js';

/**
 * @param closer   emits `close` when the exchange ends (the response, or for Fastify the raw request); null: deadline only
 * @param aborted  read at `close`: did it end because the client went away?
 */
export function lazySignalOn(decision: Decision, closer: (EventEmitter & { closed?: boolean }) | null, aborted: () => boolean, remainingMs: number): AbortSignal {
  if (decision.signal !== null) return decision.signal;
  const ac = new AbortController();
  decision.signal = ac.signal;
  const budget = decision.rtBudgetMs;
  let timer: NodeJS.Timeout | undefined;
  const onClose = () => {
    if (timer !== undefined) clearTimeout(timer);
    if (!ac.signal.aborted && aborted()) ac.abort(new DOMException('gearshift: the client closed the request', 'AbortError'));
  };
  if (remainingMs <= 0) ac.abort(new DOMException(`gearshift: RT budget of ${budget} ms used up`, 'TimeoutError'));
  else {
    timer = setTimeout(() => ac.abort(new DOMException(`gearshift: RT budget of ${budget} ms used up`, 'TimeoutError')), Math.ceil(remainingMs));
    timer.unref();
  }
  if (closer === null) return ac.signal;
  // An HTTP/2 response has no `closed`: its stream says whether its `close` has come and gone.
  const stream = streamOf(closer);
  if (closer.closed === true || (stream !== undefined && streamGone(stream))) onClose();
  else closer.once('close', onClose);
  return ac.signal;
}

/** Did this decision's signal (if a handler asked for one) abort at the deadline? */
export function deadlineHit(decision: Decision): boolean {
  const s = decision.signal;
  return s !== null && s.aborted && (s.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}
