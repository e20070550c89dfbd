/**
 * Runs regulator ticks written as generators that yield between slices of scenes. A tick the timer starts runs one
 * slice per turn of the event loop, so requests are served between slices: at 10,000 scenes a whole tick took 50–80 ms
 * on the 2-vCPU VM used here, and blocked every request that long once a period. A tick called by hand (tests, the
 * simulator) runs whole, as before. Either way one tick's slices never interleave with a command: a command, a read of
 * the state or a tick called by hand finishes a tick under way first, so it acts on a whole tick, exactly as if the
 * tick had run at once. A timer tick due while one is still under way is skipped.
 */
export type TickRun<T> = Generator<void, T, void>;

export class TickRunner {
  private pending: { readonly run: TickRun<unknown>; readonly onError: (e: unknown) => void } | null = null;
  /** Slices stepping now (nested: a listener's `tick()` inside one): a call from inside must not step them again. */
  private depth = 0;

  /** Runs `run` whole, now, after the tick under way. */
  now<T>(run: TickRun<T>): T {
    this.finish();
    for (;;) {
      const r = this.slice(run);
      if (r.done) return r.value;
    }
  }

  /**
   * Starts `run` in the background, one slice now and the next after the event loop has served what waits; returns
   * false, and starts nothing, while a tick is still under way (a period shorter than a sliced tick): finishing that
   * one at once would block requests for a whole tick, which is what slicing is for. A slice that throws ends the run,
   * reported to `onError`.
   */
  spread(run: () => TickRun<unknown>, onError: (e: unknown) => void): boolean {
    if (this.pending !== null) return false;
    const pending = { run: run(), onError };
    this.pending = pending;
    const next = (): void => {
      if (this.pending !== pending) return; // finished by a command or a tick called by hand
      try {
        if (this.slice(pending.run).done) this.pending = null;
        else setImmediate(next).unref();
      } catch (e) {
        if (this.pending === pending) this.pending = null;
        onError(e);
      }
    };
    next();
    return true;
  }

  /**
   * The tick under way, if any, runs to its end now. Not from inside one of its own slices (a listener of its events
   * calling a command): that slice is the tick, and a command there acts mid-tick, as it did before ticks were sliced.
   */
  finish(): void {
    const p = this.pending;
    if (p === null || this.depth > 0) return;
    this.pending = null;
    // Its fault is the tick's, reported where the timer reports it, not thrown at the command that finished it.
    try {
      while (!this.slice(p.run).done);
    } catch (e) {
      p.onError(e);
    }
  }

  /** A tick is under way in the background. */
  get busy(): boolean {
    return this.pending !== null;
  }

  private slice<T>(run: TickRun<T>): IteratorResult<void, T> {
    this.depth++;
    try {
      return run.next();
    } finally {
      this.depth--;
    }
  }
}
