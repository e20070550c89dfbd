/** The regulator's state as plain JSON: gears by name (not by slot), so a snapshot survives a config change. */
import type { RegulatorMode } from '../config/schema-regulate.js';

export const SNAPSHOT_VERSION = 1;

export interface SceneSnapshot {
  /** Controlled gears (differ from `live` only in shadow mode). */
  readonly gears: Readonly<Record<string, number>>;
  readonly live: Readonly<Record<string, number>>;
  readonly caps: Readonly<Record<string, number>>;
  readonly pins: Readonly<Record<string, number>>;
  readonly allowance: number;
  readonly boosted: boolean;
  /** How many `boost.holdMs` the next boost waits (1–8: doubled by each boost that did not hold). Missing: 1. */
  readonly boostBackoff?: number;
  /** A cut inside the fast-recovery window in force took the scene out of it (the peak is not over there). Missing: false. */
  readonly fastLeft?: boolean;
  readonly shedShare: number;
  readonly shedLoadTest: boolean;
  readonly pressures: Readonly<Record<string, number>>;
}

export interface RegulatorSnapshot {
  readonly version: number;
  /** Wall-clock ms when taken. */
  readonly at: number;
  readonly mode: RegulatorMode;
  readonly goalSet: string | null;
  readonly fastRecoveryLeftMs: number;
  readonly processAllowance: number;
  readonly scenes: Readonly<Record<string, SceneSnapshot>>;
}
