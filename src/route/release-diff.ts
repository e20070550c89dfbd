/**
 * The release diff of going from one config to another: the fields that change and, per scene in both, the units
 * whose code version moves. A reload returns it; `releaseDiff` computes it without an engine, for a config review (a
 * CI job, `gearshift diff`) to show what a reload would do before anything runs it.
 */
import { diffConfigs } from '../config/diff.js';
import { ReleaseDiff } from '../config/release.js';
import { validateConfig } from '../config/validate.js';
import { splitMoves } from './moves.js';
import { compileTables, type RouteTables } from './tables.js';

/** @internal Between two compiled configs, which a reload has at hand. */
export const releaseOf = (before: RouteTables, after: RouteTables): ReleaseDiff =>
  new ReleaseDiff(before.configVersion, after.configVersion, diffConfigs(before.config, after.config), splitMoves(before, after));

/**
 * The release diff a reload from `before` to `after` returns, bucket moves included. Each document is validated,
 * `before` first: an invalid one throws its ConfigError.
 */
export function releaseDiff(before: unknown, after: unknown): ReleaseDiff {
  return releaseOf(compileTables(validateConfig(before)), compileTables(validateConfig(after)));
}
