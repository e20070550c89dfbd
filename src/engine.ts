/**
 * The one object users create. It owns the live config (validated, compiled, swapped atomically on reload) and
 * wires the router; later parts (sensing, the regulator) hang off it and share its clock and its `close()`.
 */
import { diffConfigs } from './config/diff.js';
import { ReleaseDiff } from './config/release.js';
import type { GearshiftConfig } from './config/schema.js';
import { validateConfig } from './config/validate.js';
import { ClosedError } from './errors.js';
import type { Decision } from './route/decision.js';
import { splitMoves } from './route/moves.js';
import { type RouteCounts, type RouteHints, Router } from './route/router.js';
import { compileTables } from './route/tables.js';

export interface GearshiftOptions {
  /** The config document (validated; an invalid one throws ConfigError). */
  config: GearshiftConfig | unknown;
}

export class Gearshift {
  private readonly router: Router;
  private closed = false;

  constructor(options: GearshiftOptions) {
    this.router = new Router(compileTables(validateConfig(options.config)));
  }

  /** Decides scene → version → params for one request. Never throws: bad input yields a rejection decision. */
  route(scene: unknown, unit?: unknown, hints?: RouteHints | null): Decision {
    return this.router.route(scene, unit, hints);
  }

  /** The label of the config now serving. */
  get configVersion(): string {
    return this.router.tables.configVersion;
  }

  /** The config now serving (a deep-frozen copy). */
  get config(): Readonly<GearshiftConfig> {
    return this.router.tables.config;
  }

  /**
   * Validates, compiles and atomically swaps in a new config, returning the release diff. An invalid document
   * throws ConfigError and the old config keeps serving; decisions already made keep the tables they were made with.
   */
  reload(config: GearshiftConfig | unknown): ReleaseDiff {
    if (this.closed) throw new ClosedError('reload');
    const before = this.router.tables;
    const after = compileTables(validateConfig(config));
    this.router.swap(after);
    return new ReleaseDiff(before.configVersion, after.configVersion, diffConfigs(before.config, after.config), splitMoves(before, after));
  }

  /** Counts of decisions by reason and of ignored hints since start. */
  routeCounts(): RouteCounts {
    return this.router.counts();
  }

  /** Stops timers and refuses further reloads. Routing keeps answering from the last config. */
  close(): void {
    this.closed = true;
  }
}

export const createGearshift = (options: GearshiftOptions): Gearshift => new Gearshift(options);
