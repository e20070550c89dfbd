/**
 * Outcome classes. Every request lands in exactly one, so the classes always add up to the requests. Codes are small
 * integers because they index counter arrays on the hot path; names are for reads, logs and metric labels.
 */

export const Outcome = {
  /** Served at full gear, in time, without error. */
  Success: 0,
  /** Served in time without error, but below the top gear (the regulator had turned it down). */
  Degraded: 1,
  /** The handler threw or answered 5xx. */
  Error: 2,
  /** RT over the scene's budget, or aborted at its deadline. */
  Timeout: 3,
  /** The client closed the connection before the response (and before the budget ran out). */
  ClientAbort: 4,
  /** Refused by overload protection before a handler ran. */
  Shed: 5,
  /** The decision itself was a rejection (unknown or not-deployed scene, no load-test version…). */
  Rejected: 6,
} as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];
export const OUTCOME_COUNT = 7;
export const OUTCOME_NAMES = ['success', 'degraded', 'error', 'timeout', 'clientAbort', 'shed', 'rejected'] as const;
export type OutcomeName = (typeof OUTCOME_NAMES)[number];

/**
 * What a request ended as, given what the host saw. Precedence, first match wins:
 * shed > rejected > timeout > client abort > error > degraded > success.
 * - A rejection was never served, whatever the host reports. A shed decision is also not `ok`, but is counted as
 *   shed: the regulator's own last resort; counting it as a timeout would feed its own action back as a symptom.
 * - A response slower than the budget is a timeout even if it also failed or the client left: the front end had
 *   already given up, and the timeout rate is what the regulator holds. A client that leaves before the budget is
 *   its own choice, not our latency.
 * - An error served at a low gear is still an error; only a good answer can be "degraded".
 */
export function classify(reported: number, ok: boolean, degraded: boolean, rtMs: number, budgetMs: number): OutcomeCode {
  if (reported === Outcome.Shed) return Outcome.Shed;
  if (!ok || reported === Outcome.Rejected) return Outcome.Rejected;
  if (reported === Outcome.Timeout || (budgetMs > 0 && rtMs > budgetMs)) return Outcome.Timeout;
  if (reported === Outcome.ClientAbort) return Outcome.ClientAbort;
  if (reported === Outcome.Error) return Outcome.Error;
  return degraded || reported === Outcome.Degraded ? Outcome.Degraded : Outcome.Success;
}

/**
 * An outcome as the host reports it: a code or a name. Anything else (a typo, NaN) counts as an error rather than
 * throwing into the host or passing as a success.
 */
export function outcomeOf(x: unknown): OutcomeCode {
  if (typeof x === 'number') return x >= 0 && x < OUTCOME_COUNT && (x | 0) === x ? (x as OutcomeCode) : Outcome.Error;
  const i = OUTCOME_NAMES.indexOf(x as OutcomeName);
  return i < 0 ? Outcome.Error : (i as OutcomeCode);
}

/** Outcomes whose RT says something about the service (shed and rejected answers are instant and say nothing). */
export const hasServiceTime = (o: number): boolean => o <= Outcome.ClientAbort;
