/**
 * Goals: a limit and a convergence band, per scene and per process, possibly overridden per zone and by a named goal
 * set a schedule switches to. Each goal turns its measurement into a pressure (measured / target, 1 = at the limit).
 * The timeout-rate goal is measured through the matching quantile against the RT budget: "p99 ≤ budget" is the same
 * statement as "at most 1% slower than budget", but graded where the rate itself reads zero most of the time.
 */
import { DEFAULT_PROCESS_GOALS, type GoalConfig, type ProcessGoalsConfig, type RegulatorConfig, type SceneGoalsConfig } from '../config/schema-regulate.js';
import type { GoalStatus } from './pid.js';
import type { ProcessSignals, SceneSignals } from './signals.js';

export type SceneGoalKind = 'timeoutRate' | 'meanRtMs' | 'p99RtMs';
export type ProcessGoalKind = 'eventLoopDelayMs' | 'elu' | 'cpu';
export type GoalKind = SceneGoalKind | ProcessGoalKind;

export interface Goal {
  readonly kind: GoalKind;
  readonly target: number;
  readonly band: number;
  readonly minSamples: number;
}

const DEFAULT_TIMEOUT: GoalConfig = { target: 0.01, band: 0.25 };
/**
 * Default sample counts: a rate of 1% means nothing in fewer than 100 samples, so the timeout goal waits for
 * 1/target of them; RT goals for 20; a process sample is already an average over its period, so one will do.
 */
const defaultSamples = (kind: GoalKind, target: number): number => (kind === 'timeoutRate' ? Math.ceil(1 / target) : kind === 'meanRtMs' || kind === 'p99RtMs' ? 20 : 1);
const full = (kind: GoalKind, g: GoalConfig): Goal => ({ kind, target: g.target, band: g.band ?? 0.25, minSamples: g.minSamples ?? defaultSamples(kind, g.target) });

/** Scene goals in force: the scene's, then its zone's, then the active goal set's (each replacing per goal kind). */
export function sceneGoals(scene: string, cfg: SceneGoalsConfig | undefined, reg: RegulatorConfig | undefined, goalSet: string | null): Goal[] {
  const layers = [cfg, reg?.zone ? cfg?.zones?.[reg.zone] : undefined, goalSet ? reg?.goalSets?.[goalSet]?.scenes?.[scene] : undefined];
  const merged: Partial<Record<SceneGoalKind, GoalConfig>> = { timeoutRate: DEFAULT_TIMEOUT };
  for (const l of layers) for (const k of ['timeoutRate', 'meanRtMs', 'p99RtMs'] as const) if (l?.[k]) merged[k] = l[k];
  return Object.entries(merged).map(([k, g]) => full(k as GoalKind, g));
}

export { DEFAULT_PROCESS_GOALS };

export function processGoals(reg: RegulatorConfig | undefined, goalSet: string | null): Goal[] {
  const cfg: ProcessGoalsConfig | undefined = reg?.goals ?? DEFAULT_PROCESS_GOALS;
  const layers = [cfg, reg?.zone ? cfg?.zones?.[reg.zone] : undefined, goalSet ? reg?.goalSets?.[goalSet]?.process : undefined];
  const merged: Partial<Record<ProcessGoalKind, GoalConfig>> = {};
  for (const l of layers) for (const k of ['eventLoopDelayMs', 'elu', 'cpu'] as const) if (l?.[k]) merged[k] = l[k];
  return Object.entries(merged).map(([k, g]) => full(k as GoalKind, g));
}

/** The quantile that matches a timeout-rate target: p99 for 1%, p999 for 0.1%, … (the nearest one sensed). */
function quantileFor(rate: number, s: SceneSignals): number {
  if (rate <= 0.003) return s.p999;
  if (rate <= 0.03) return s.p99;
  if (rate <= 0.3) return s.p90;
  return s.p50;
}

/** One reading of a goal: the raw value and the pressure (1 = at the limit), or undefined without enough samples. */
export interface Reading {
  readonly measured: number;
  readonly pressure: number;
  readonly samples: number;
  /** Which sample of a periodic figure this is (its `taken` count); undefined: every reading is a new one. */
  readonly sample?: number;
}

export function readScene(goal: Goal, s: SceneSignals | undefined, rtBudgetMs: number): Reading | undefined {
  if (!s || s.count < goal.minSamples) return undefined;
  switch (goal.kind) {
    case 'timeoutRate': {
      // The rate itself wins when it is clearly above target (the quantile may understate a heavy tail): "clearly" is
      // a two-sigma Poisson lower bound on the count, so one unlucky timeout in a quiet window is not an alarm.
      const k = s.timeoutRate * s.count;
      const low = Math.max(0, k - 2 * Math.sqrt(k)) / s.count;
      return { measured: s.timeoutRate, pressure: Math.max(quantileFor(goal.target, s) / rtBudgetMs, low / goal.target), samples: s.count };
    }
    case 'meanRtMs':
      return { measured: s.mean, pressure: s.mean / goal.target, samples: s.count };
    case 'p99RtMs':
      return { measured: s.p99, pressure: s.p99 / goal.target, samples: s.count };
    default:
      return undefined;
  }
}

/**
 * An event loop busy for this share of a period or more had no idle time: it is saturated, and a queue of unknown
 * depth is growing in front of it. Utilisation cannot read above 1, so measured/target would say at most 1/0.85 − 1
 * = 18% over the default goal, and the loop cut a tenth of `maxDownPerTick` a tick while every request timed out
 * (found over real HTTP in the twentieth session: a 2x step, 15 s of 100% timeouts on one gear). Saturation reads
 * as the largest error there is.
 */
export const SATURATED_ELU = 0.99;

/**
 * Out of gears: every point at its lower limit (`atFloor`) and a goal still violated at the last tick. What the
 * metrics' `exhausted` and the status's `exhausted` both say, so that the page and the alert agree.
 */
export const exhausted = (atFloor: boolean, goals: readonly { readonly status: GoalStatus }[]): boolean => atFloor && goals.some((g) => g.status === 'violated');

export function readProcess(goal: Goal, s: ProcessSignals | undefined): Reading | undefined {
  if (!s || (s.count !== undefined && s.count < goal.minSamples)) return undefined;
  const kind = goal.kind as ProcessGoalKind;
  const v = kind === 'eventLoopDelayMs' ? s.eventLoopDelayMs : kind === 'elu' ? s.elu : kind === 'cpu' ? s.cpu : undefined;
  if (v === undefined || !Number.isFinite(v)) return undefined;
  const [samples, sample] = [s.count ?? 0, s.taken?.[kind]];
  if (kind === 'elu' && v >= SATURATED_ELU) return { measured: v, pressure: Infinity, samples, sample };
  return { measured: v, pressure: goal.target > 0 ? v / goal.target : v > 0 ? Infinity : 0, samples, sample };
}
