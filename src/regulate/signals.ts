/**
 * What the regulator reads, and nothing more: a small interface so that the engine can adapt the real sensing to it
 * and the simulator can feed it from its own service model. Read once per tick, never per request.
 */

/** A scene's recent responses (business traffic only; load-test traffic is kept apart by sensing). */
export interface SceneSignals {
  /** Responses in the window. */
  readonly count: number;
  /** Responses per second over the window, if known (lets the regulator tell that the load itself changed). */
  readonly rate?: number;
  /** Mean response time (ms). */
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  /** Share of responses slower than the scene's RT budget (0–1). */
  readonly timeoutRate: number;
}

/** The process's load. Any field may be missing when it is not sensed. */
export interface ProcessSignals {
  readonly eventLoopDelayMs?: number;
  readonly elu?: number;
  readonly cpu?: number;
  /** Samples behind the figures (e.g. event-loop delay histogram count); missing counts as enough. */
  readonly count?: number;
  /**
   * Per figure, how many samples of it have been taken so far (a count that only grows). A figure whose count has
   * not moved since the last tick is the sample already read, and moves nothing; missing: every read is a new sample.
   */
  readonly taken?: { readonly eventLoopDelayMs?: number; readonly elu?: number; readonly cpu?: number };
}

export interface SignalSource {
  /** Signals of one scene over a recent window holding at least `minSamples` when traffic allows; undefined if none. */
  scene(scene: string, minSamples: number): SceneSignals | undefined;
  process(): ProcessSignals | undefined;
}

/** A source with nothing to say: the regulator holds still (used until sensing is wired). */
export const silentSource: SignalSource = { scene: () => undefined, process: () => undefined };
