/** The regulator's public surface. */
export { Regulator, type RegulatorOptions } from './regulator.js';
export type { ChangeReason, GearChange, GoalReport, RegulatorEvents, SceneReport, TickReport } from './events.js';
export type { Goal, GoalKind } from './goals.js';
export type { Step } from './ladder.js';
export type { LiveScene } from './live.js';
export type { GoalStatus, Terms } from './pid.js';
export type { Point } from './points.js';
export type { RegulatorSnapshot, SceneSnapshot } from './snapshot.js';
export { sensingSource } from './sensing-source.js';
export type { ProcessSignals, SceneSignals, SignalSource } from './signals.js';
