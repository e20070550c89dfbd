/** The regulator's public surface. */
export { Regulator, type RegulatorOptions } from './regulator.js';
export type { ChangeReason, GearChange, GoalReport, RegulatorEvents, SceneReport, TickReport } from './events.js';
export { DEFAULT_PROCESS_GOALS, type Goal, type GoalKind } from './goals.js';
export { Ladder, type Step } from './ladder.js';
export { LiveScene } from './live.js';
export type { GoalStatus, Terms } from './pid.js';
export type { Point } from './points.js';
export type { RegulatorSnapshot, SceneSnapshot } from './snapshot.js';
export { sensingSource } from './sensing-source.js';
export { type ProcessSignals, type SceneSignals, type SignalSource, silentSource } from './signals.js';
