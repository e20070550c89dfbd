/** The regulator's events and records: every gear change carries why it happened. */
import type { RegulatorMode } from '../config/schema-regulate.js';
import type { JsonValue } from '../config/shape.js';
import type { ListenerError } from '../errors.js';
import type { GoalKind } from './goals.js';
import type { GoalStatus, Terms } from './pid.js';

/**
 * violated / headroom: a goal moved it; fast_recovery: the climb inside a fast-recovery window; transient: a cut made
 * for a transient given back in one move (see TransientCut); boost / boost_release:
 * tidal boost; cap / process / pin: a limit moved (scheduled cap, process-wide ladder, pinned gear); template,
 * restore: applied at once by an operator or a rule.
 */
export type ChangeReason = 'violated' | 'headroom' | 'fast_recovery' | 'transient' | 'boost' | 'boost_release' | 'cap' | 'process' | 'pin' | 'template' | 'restore';

export interface GearChange {
  /** Wall-clock ms. */
  readonly at: number;
  readonly scene: string;
  readonly point: string;
  readonly from: number;
  readonly to: number;
  readonly fromGear: JsonValue | undefined;
  readonly toGear: JsonValue | undefined;
  readonly reason: ChangeReason;
  /** The goal whose proposal won, its reading and the controller terms (absent for limits and operator actions). */
  readonly goal?: GoalKind;
  readonly measured?: number;
  readonly target?: number;
  readonly band?: number;
  readonly terms?: Terms;
  /** The cost allowance after the move (fraction of the normal top's cost). */
  readonly allowance: number;
  /** False in shadow mode: computed and reported, not applied. */
  readonly applied: boolean;
  readonly mode: RegulatorMode;
}

export interface GoalReport {
  readonly goal: GoalKind;
  readonly status: GoalStatus;
  readonly measured: number;
  readonly pressure: number;
  readonly target: number;
  readonly band: number;
}

export interface SceneReport {
  readonly scene: string;
  readonly goals: readonly GoalReport[];
  readonly allowance: number;
  readonly gears: Readonly<Record<string, number>>;
  /** Value and cost of the current gears relative to the normal top (1 = full gear). */
  readonly value: number;
  readonly cost: number;
  /** Every point at its upper limit (normal top, or lower when capped, pinned or held by the process ladder). */
  readonly atTop: boolean;
  /** Some point serves below its normal top gear. */
  readonly degraded: boolean;
  /**
   * Every point at its lower limit (its floor, or a pin): nothing is left to cut. With a goal still violated the
   * gears can do no more, and what comes next is shedding or timeouts (see Alerting). True for a scene without points.
   */
  readonly atFloor: boolean;
  readonly boosted: boolean;
  readonly shedShare: number;
  readonly shedLoadTest: boolean;
}

/** A scene's gears and shedding, and what derives from them: computed (`SceneReport`) or served (`served()`). */
export type ServedState = Pick<SceneReport, 'gears' | 'value' | 'cost' | 'degraded' | 'atFloor' | 'boosted' | 'shedShare' | 'shedLoadTest'>;

export interface TickReport {
  readonly at: number;
  readonly mode: RegulatorMode;
  readonly fastRecovery: boolean;
  readonly scenes: readonly SceneReport[];
  readonly process: readonly GoalReport[];
  readonly changes: number;
  /**
   * Set when a listener reloaded the config inside this tick, which ends it there: `scenes` holds the scenes stepped
   * before the reload; the others step in the next tick, under the new config.
   */
  readonly reloaded?: true;
}

export interface RegulatorEvents {
  change: (c: GearChange) => void;
  tick: (r: TickReport) => void;
  mode: (e: { from: RegulatorMode; to: RegulatorMode; reason: string; at: number }) => void;
  rule: (e: { index: number; name?: string; at: number }) => void;
  /** `applied`: false in shadow mode (computed and reported, never reaching requests), as on `change`. */
  boost: (e: { scene: string; engaged: boolean; at: number; applied: boolean }) => void;
  shed: (e: { scene: string; share: number; loadTest: boolean; at: number; applied: boolean }) => void;
  /** A listener or the timer's tick threw: what it threw is `cause`, where is `source`. */
  error: (e: ListenerError) => void;
}
