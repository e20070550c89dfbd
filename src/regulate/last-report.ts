/**
 * The regulator's last tick report, as `status()` gives it: brought up to the state in force when a reload, a
 * restore or a command moved it since the tick. Until the twenty-third session it stayed the tick's, so `/metrics`
 * showed a removed scene, missed a new one and named the old mode for up to a period.
 */
import type { GoalReport, TickReport } from './events.js';
import type { Goal } from './goals.js';
import type { SceneLoop } from './scene-loop.js';

/** What is in force now, as a stale report is brought up to it. */
export interface InForce {
  readonly mode: TickReport['mode'];
  readonly fastRecovery: boolean;
  readonly scenes: readonly SceneLoop[];
  readonly processGoals: readonly Goal[];
}

export class LastReport {
  private report: TickReport | null = null;
  /** Something the report shows moved since the tick. */
  private stale = false;

  /** A tick's report; `stale` when the tick ended on a reload, so that what it shows is no longer in force. */
  set(report: TickReport, stale: boolean): void {
    this.report = report;
    this.stale = stale;
  }

  /** Something the report shows moved (a reload, a restore, a command): the next read brings it up to date. */
  invalidate(): void {
    this.stale = true;
  }

  /**
   * The report, brought up to `now()` if something moved since: the scenes, points, gears, mode and fast-recovery
   * window in force, each goal with its last tick's reading where the goal is still there (a new one: no data).
   * Null before the first tick.
   */
  read(now: () => InForce): TickReport | null {
    const last = this.report;
    if (last === null || !this.stale) return last;
    const f = now();
    const before = new Map(last.scenes.map((s) => [s.scene, s.goals]));
    const scenes = f.scenes.map((sc) => {
      const r = sc.report();
      return { ...r, goals: lastReadings(r.goals, before.get(sc.id)) };
    });
    const process = lastReadings(f.processGoals.map(noData), last.process);
    this.report = { ...last, mode: f.mode, fastRecovery: f.fastRecovery, scenes, process };
    this.stale = false;
    return this.report;
  }
}

/** A goal's report before any reading. */
const noData = (g: Goal): GoalReport => ({ goal: g.kind, status: 'no_data', measured: NaN, pressure: NaN, target: g.target, band: g.band });

/** `goals` as they are now, each with the last reading `before` had of a goal of its kind (target and band: now's). */
function lastReadings(goals: readonly GoalReport[], before: readonly GoalReport[] | undefined): GoalReport[] {
  return goals.map((g) => {
    const b = before?.find((x) => x.goal === g.goal);
    return b ? { ...b, target: g.target, band: g.band } : g;
  });
}
