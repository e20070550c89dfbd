/**
 * The one place where adapters hand a finished request back to the engine. Adapters say how the request ended (by
 * status, client abort, handler error, rejection); the engine classifies (a slow success is a timeout) and records it
 * exactly once per decision.
 */
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

/** HTTP status → outcome: 5xx is an error, anything else served the request (the engine turns slow ones into timeouts). */
export const outcomeOfStatus = (status: number): OutcomeCode => (status >= 500 ? Outcome.Error : status === CLIENT_CLOSED ? Outcome.ClientAbort : Outcome.Success);
/** nginx's "client closed request", which proxies log and pass to `done(status)`: the client went away. */
const CLIENT_CLOSED = 499;
