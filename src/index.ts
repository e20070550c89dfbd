export { createGearshift, Gearshift, type GearshiftOptions } from './engine.js';
export { ClosedError, type ConfigIssue, ConfigError, GearshiftError, HostTimeError, ListenerError, UsageError } from './errors.js';
export { configJsonSchema, STAGES, type ArmConfig, type GearshiftConfig, type LayerConfig, type SceneConfig, type SplitEntry, type Stage, type VersionConfig } from './config/schema.js';
export type { JsonValue } from './config/shape.js';
export { validateConfig } from './config/validate.js';
export { diffConfigs, formatChange, type ConfigChange } from './config/diff.js';
export { ReleaseDiff, type SplitMove } from './config/release.js';
export { releaseDiff } from './route/release-diff.js';
export { Decision, Ignored, Reason, type ReasonCode, type RejectedDecision, type RejectedReason, type RoutedDecision, type ServedDecision, type ServedReason } from './route/decision.js';
export { bucketOf, murmurUtf8, saltOf, unitHash } from './route/hash.js';
export type { RouteCounts, RouteHints } from './route/router.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export { resolveSense, SENSE_DEFAULTS, type ResolvedSense, type SenseConfig } from './config/schema-sense.js';
export {
  maxOfMeans, meanOf, Outcome, OUTCOME_NAMES, SampleWindow, Sensing, Stats,
  type OutcomeCode, type OutcomeName, type ProcessLoadOptions, type ProcessLoadStats, type SampleStats, type SceneRef, type SenseOptions, type VersionRef, type WindowStats,
} from './sense/index.js';
export * from './regulate/index.js';
export { MODES, type GearSet, type GoalConfig, type PointConfig, type ProcessGoalsConfig, type RegulatorConfig, type RegulatorMode, type SceneGoalsConfig, type ScheduleRule } from './config/schema-regulate.js';
export type { GearReader } from './route/decision.js';
export { prometheusText, prometheusTextAsync, type CountsRequestStart, type CountsTrust, type MetricsOptions } from './metrics.js';
export { engineStatus, type ChangeEntry, type EngineStatus, type GoalStatusEntry, type PointStatus, type SceneStatus, type StatusOptions, type TrafficStatus } from './observe/status.js';
export { statusPage, type StatusPageOptions } from './observe/status-page.js';
export type { GearCurve } from './observe/gear-curve.js';
