/** The simulator, shipped so that goals and gains can be tuned offline against a model of the service. */
export { CONTROLLERS, type ControllerKind } from './controllers.js';
export { type Metrics, metricsOf } from './metrics.js';
export { feedPoints, feedScene, simConfig, type SimScene } from './model.js';
export { type LoadTestCounts, type RunResult, runScenario, type Second } from './run.js';
export type { Scenario } from './scenario.js';
export type { Stall } from './stalls.js';
export { type LoadShape, loadShapes, PEAK_REGULATOR, PEAK_START, scenarios } from './scenarios.js';
export { COLUMNS, formatTable, row } from './table.js';
