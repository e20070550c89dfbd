/**
 * The figures of a run, all from the per-second trace. Convergence: the first second after the disturbance from
 * which, for 30 s (or to the end of a shorter phase), every rolling 5-second window holds the timeout target, and
 * the service is not needlessly degraded over those seconds (see `tight`). Computed the same way for every controller.
 */
import { shown, UsageError } from '../errors.js';
import { checkMarks } from './marks.js';
import { nearestRank } from './rank.js';
import type { RunResult, Second } from './run.js';

export interface Metrics {
  readonly firstMoveS: number | null;
  readonly convergedS: number | null;
  readonly peakP99Ms: number;
  /** Timeout rate after convergence (over the disturbed phase when it never converged). */
  readonly timeoutRate: number;
  readonly goodput: number;
  readonly qualityLost: number;
  readonly recoveryS: number | null;
  /** Gear changes and shed steps (shedder: on/off flips) per minute over the last 60 s of the disturbed phase. */
  readonly changesPerMin: number;
  readonly shedShare: number;
  /** Largest number of direction reversals of the allowance… approximated by changes in the second half of any phase. */
  readonly maxChangesLateInPhase: number;
  readonly boosted: boolean;
  /** Seconds (after the disturbance) in which a goal was violated by the regulator's own reading. */
  readonly secondsOutOfBand: number;
}

const HOLD_S = 30;
const ROLL_S = 5;

/** By nearest rank, as the sensing the regulator reads: the table's p99 is the p99 the controller acted on. */
function quantile(xs: number[], p: number): number {
  return nearestRank(Float64Array.from(xs).sort(), p);
}

/** Safe at second i: the rolling 5-second timeout rate is within the target. */
function safeAt(r: RunResult, i: number): boolean {
  const w = r.seconds.slice(Math.max(0, i - ROLL_S + 1), i + 1);
  const completed = w.reduce((a, s) => a + s.completed, 0);
  return completed === 0 || w.reduce((a, s) => a + s.timeouts, 0) / completed <= r.target;
}

/**
 * Tight over [i, j): nothing degraded, or the binding goal in its band on average (p99 against the band below the
 * budget, or the process ELU against its band): degrading while far from every limit is not convergence.
 */
function tight(r: RunResult, i: number, j: number): boolean {
  const w = r.seconds.slice(i, j);
  if (!w.some((s) => s.degraded)) return true;
  const p99 = quantile(w.flatMap((s) => s.rts), 0.99);
  const elu = w.reduce((a, s) => a + s.elu, 0) / Math.max(1, w.length);
  return p99 >= (1 - r.band) * r.budgetMs || (r.elu !== undefined && elu >= (1 - r.elu.band) * r.elu.target);
}

function sum(xs: Second[], f: (s: Second) => number): number {
  let t = 0;
  for (const s of xs) t += f(s);
  return t;
}

export function metricsOf(r: RunResult, disturbAt: number, dropAt?: number, phases?: readonly number[]): Metrics {
  if (r === null || typeof r !== 'object' || !Array.isArray(r.seconds)) throw new UsageError(`metricsOf(run, …): expected a run's result ({ seconds: [...] }), got ${shown(r)}`);
  checkMarks({ disturbAt, dropAt, phases }, r.seconds.length, (field) => `metricsOf: ${field}`);
  // A run cut short of dropAt or of a phase is measured to its end (checkMarks).
  const end = Math.min(dropAt ?? Infinity, r.seconds.length);
  const starts = (phases ?? [disturbAt, ...(dropAt === undefined ? [] : [dropAt])]).filter((p) => p < r.seconds.length);
  const phase = r.seconds.slice(disturbAt, end);
  let firstMove: number | null = null;
  for (let i = disturbAt; i < end; i++) {
    if (r.seconds[i]!.changes > 0 || r.seconds[i]!.rejected > 0) {
      firstMove = i + 1 - disturbAt;
      break;
    }
  }
  // Each phase (a load level) must converge on its own; the figure is the slowest phase's.
  const ok = r.seconds.map((_, i) => safeAt(r, i));
  const bounds = [...starts, r.seconds.length];
  let converged: number | null = 0;
  let convergedAt = disturbAt;
  for (let k = 0; k + 1 < bounds.length && bounds[k]! < end; k++) {
    const from = bounds[k]!;
    const to = Math.min(bounds[k + 1]!, end);
    let c: number | null = null;
    // Held for 30 s, or to the end of a shorter phase (with at least 5 s of evidence).
    for (let i = from; i < to - 5 && c === null; i++) {
      let holds = true;
      for (let j = i; j < Math.min(to, i + HOLD_S) && holds; j++) holds = ok[j]!;
      if (holds && tight(r, i, Math.min(to, i + HOLD_S))) c = i - from;
    }
    if (c === null) converged = null;
    else if (converged !== null) converged = Math.max(converged, c);
    if (k === 0 && c !== null) convergedAt = from + c;
  }
  const after = r.seconds.slice(converged === null ? disturbAt : convergedAt, end);
  const peak = Math.max(0, ...r.seconds.slice(disturbAt).map((s) => quantile(s.rts, 0.99)));
  let recovery: number | null = null;
  if (dropAt !== undefined) {
    for (let i = dropAt; i < r.seconds.length; i++) {
      if (r.seconds.slice(i, i + 10).every((s) => !s.degraded)) {
        recovery = i - dropAt;
        break;
      }
    }
  }
  const steady = r.seconds.slice(Math.max(disturbAt, end - 60), end);
  let late = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const mid = Math.floor((bounds[k]! + bounds[k + 1]!) / 2);
    late = Math.max(late, sum(r.seconds.slice(mid, bounds[k + 1]), (s) => s.changes));
  }
  const offered = sum(phase, (s) => s.offered);
  return {
    firstMoveS: firstMove,
    convergedS: converged,
    peakP99Ms: peak,
    timeoutRate: sum(after, (s) => s.timeouts) / Math.max(1, sum(after, (s) => s.completed)),
    goodput: sum(phase, (s) => s.good) / Math.max(1, offered),
    qualityLost: 1 - sum(phase, (s) => s.value) / Math.max(1, sum(phase, (s) => s.fullValue)),
    recoveryS: recovery,
    changesPerMin: (sum(steady, (s) => s.changes) * 60) / Math.max(1, steady.length),
    shedShare: sum(phase, (s) => s.rejected) / Math.max(1, offered),
    maxChangesLateInPhase: late,
    boosted: r.seconds.some((s) => s.boosted),
    secondsOutOfBand: r.seconds.slice(disturbAt).filter((s) => s.inBand === false).length,
  };
}
