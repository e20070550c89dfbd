/** What a run records: one `Second` per simulated second, and the run's own figures around them. */
import type { TickReport } from '../regulate/events.js';
import type { ControllerKind } from './controllers.js';

/** Load-test traffic's share of a second's counts (it is in them as well: `offered` is what `rate()` offered). */
export interface LoadTestCounts {
  offered: number;
  rejected: number;
  completed: number;
}

/**
 * One second of the run, all scenes together, load-test traffic included (as `rate()` offers it and as the process
 * serves it; the regulator's scene goals read business traffic only, as the engine's sensing does). Arrivals count in
 * the second they arrive, responses in the second they complete.
 */
export interface Second {
  offered: number;
  rejected: number;
  completed: number;
  timeouts: number;
  /** Responses within budget. */
  good: number;
  /** Value of good responses, and what they would have been worth at full gear. */
  value: number;
  fullValue: number;
  rts: number[];
  /** Load-test traffic within the counts above (runScenario always sets it). */
  loadTest?: LoadTestCounts;
  /** Controller state as of the end of this second: the last tick's, however long the regulator's period. */
  degraded: boolean;
  boosted: boolean;
  /** Gear changes and shed steps made by the ticks within this second. */
  changes: number;
  /** Goals of every scene inside or below their band (the regulator's own view; none/shedder: undefined). */
  inBand?: boolean;
  /** First scene: cost allowance, smoothed pressure of its first goal, and cost of its gears (regulator's view). */
  allowance?: number;
  /** Busy share of the servers in this second, load tests included (the event-loop utilisation of the model). */
  elu: number;
  pressure?: number;
  cost?: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly controller: ControllerKind;
  readonly seconds: Second[];
  /**
   * Requests offered during the run and still queued or being served when it ended: in `offered`, in no other
   * column, so that offered = rejected + completed + inFlight (runScenario always sets it).
   */
  readonly inFlight?: number;
  /** Budget of the first scene, the timeout target and band of its timeout goal. */
  readonly budgetMs: number;
  readonly target: number;
  readonly band: number;
  /** The process ELU goal, if any. */
  readonly elu?: { readonly target: number; readonly band: number };
}

export const emptySecond = (): Second => ({
  offered: 0, rejected: 0, completed: 0, timeouts: 0, good: 0, value: 0, fullValue: 0, rts: [], elu: 0, degraded: false, boosted: false, changes: 0,
  loadTest: { offered: 0, rejected: 0, completed: 0 },
});

export type TickState = Pick<Second, 'degraded' | 'boosted' | 'inBand' | 'allowance' | 'pressure' | 'cost'>;

/** The controller's state after a tick, as a second records it (`report`: the regulator's; none/shedder: null). */
export function tickState(report: TickReport | null, shedding: boolean): TickState {
  if (!report) return { degraded: shedding, boosted: false };
  const first = report.scenes[0];
  // In band as the regulator sees it: nothing violated, and the binding goal (some goal) in its band unless at the top.
  const pv = report.process.some((g) => g.status === 'violated');
  const pb = report.process.some((g) => g.status === 'in_band');
  return {
    degraded: report.scenes.some((r) => r.degraded || r.shedShare > 0 || r.shedLoadTest),
    boosted: report.scenes.some((r) => r.boosted),
    inBand: !pv && report.scenes.every((r) => r.goals.every((g) => g.status !== 'violated') && (r.atTop || pb || r.goals.some((g) => g.status === 'in_band'))),
    ...(first ? { allowance: first.allowance, pressure: first.goals[0]?.pressure ?? NaN, cost: first.cost } : {}),
  };
}
