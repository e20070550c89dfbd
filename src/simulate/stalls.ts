/**
 * Stalls of the whole process: a garbage-collection pause, a synchronous `require`, the host taking the CPU away.
 * Node runs one thread, so for the stall's length no server starts, none finishes, and the event loop counts as busy
 * (its utilisation is 1 through it, as ELU reads a long synchronous call). A request a server would start inside a
 * stall starts at its end; one in service when it begins ends that much later.
 */
import { shown, UsageError } from '../errors.js';

/** Longer than any pause a service survives; the bound keeps a typo (ms for s) from freezing a whole run. */
export const MAX_STALL_MS = 60_000;

export interface Stall {
  /** When it begins, in seconds from the start of the run. */
  readonly atS: number;
  /** How long every server stops, in ms. */
  readonly ms: number;
}

export class Stalls {
  private readonly from: Float64Array;
  private readonly to: Float64Array;

  /** `list` as checkStalls accepted it. */
  constructor(list: readonly Stall[]) {
    const sorted = [...list].sort((a, b) => a.atS - b.atS);
    this.from = Float64Array.from(sorted, (s) => s.atS * 1000);
    this.to = Float64Array.from(sorted, (s) => s.atS * 1000 + s.ms);
  }

  /** When a server free at `t` (ms) can start: past every stall `t` falls in. */
  start(t: number): number {
    for (let i = 0; i < this.from.length; i++) if (t >= this.from[i]! && t < this.to[i]!) t = this.to[i]!;
    return t;
  }

  /** When work that would end at `done` ends, having started at `start`: later by each stall that begins in between. */
  end(start: number, done: number): number {
    for (let i = 0; i < this.from.length; i++) if (start < this.from[i]! && done > this.from[i]!) done += this.to[i]! - this.from[i]!;
    return done;
  }

  /** Calls `busy(slotStartMs, ms)` for each one-second slot a stall covers, with the part of it inside that slot. */
  eachSlot(busy: (slotStartMs: number, ms: number) => void): void {
    for (let i = 0; i < this.from.length; i++) {
      for (let t = this.from[i]!; t < this.to[i]!; t = Math.floor(t / 1000) * 1000 + 1000) {
        busy(Math.floor(t / 1000) * 1000, Math.min(this.to[i]!, Math.floor(t / 1000) * 1000 + 1000) - t);
      }
    }
  }
}

/** Refuses a malformed `stalls` naming the entry: a NaN start silently stalled nothing. */
export function checkStalls(stalls: unknown, durationS: number): void {
  if (stalls === undefined) return;
  if (!Array.isArray(stalls)) throw new UsageError(`runScenario: scenario.stalls: expected an array of { atS, ms }, got ${shown(stalls)}`);
  stalls.forEach((s: unknown, i) => {
    const x = s as Record<string, unknown> | null;
    const ok = typeof x === 'object' && x !== null && typeof x.atS === 'number' && x.atS >= 0 && x.atS < durationS && typeof x.ms === 'number' && x.ms > 0 && x.ms <= MAX_STALL_MS;
    if (!ok) throw new UsageError(`runScenario: scenario.stalls[${i}]: expected { atS: seconds, 0 ≤ atS < ${durationS} (the run's length), ms: 0 < ms ≤ ${MAX_STALL_MS.toLocaleString('en')} }, got ${shown(s)}`);
  });
}
