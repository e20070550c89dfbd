/** The sensing layer's public surface. */
export { classify, hasServiceTime, Outcome, OUTCOME_NAMES, outcomeOf, type OutcomeCode, type OutcomeName } from './outcome.js';
export { HistogramLayout } from './layout.js';
export { type ProcessLoadOptions, ProcessLoad, type ProcessLoadStats } from './process-load.js';
export { maxOfMeans, meanOf, type SampleStats, SampleWindow } from './samples.js';
export { Series, SeriesShape } from './series.js';
export { type SceneRef, type SenseOptions, Sensing, type VersionRef } from './sensing.js';
export { Stats, StatsReader, type WindowStats } from './stats.js';
