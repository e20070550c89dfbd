/**
 * The simulator's sensing: completed requests land in one-second slots by completion time; a reading at time T looks
 * only at slots that ended by T, newest first, widening until it holds enough samples. Implements the regulator's
 * SignalSource, as the engine's adapter does for real sensing.
 */
import type { ProcessSignals, SceneSignals, SignalSource } from '../regulate/signals.js';
import { nearestRank } from './rank.js';

interface Slot {
  rts: number[];
  timeouts: number;
}

export class SlotWindow implements SignalSource {
  private readonly slots = new Map<string, Map<number, Slot>>();
  private readonly busy = new Map<number, number>();
  now = 0;
  queueDelayMs = 0;

  constructor(
    private readonly slotMs: number,
    private readonly servers: number,
    private readonly budgets: ReadonlyMap<string, number>,
    private readonly minSlots = 1,
    private readonly maxSlots = 10,
  ) {}

  /** One business response and the server time it took. */
  record(scene: string, completedAt: number, rt: number, serviceMs: number): void {
    this.recordRt(scene, completedAt, rt);
    this.recordBusy(completedAt, serviceMs);
  }

  /** A response the scene's goals read: business traffic only, as the engine's sensing keeps load tests out of them. */
  recordRt(scene: string, completedAt: number, rt: number): void {
    let m = this.slots.get(scene);
    if (!m) this.slots.set(scene, (m = new Map()));
    const k = Math.floor(completedAt / this.slotMs);
    let s = m.get(k);
    if (!s) m.set(k, (s = { rts: [], timeouts: 0 }));
    s.rts.push(rt);
    if (rt > this.budgets.get(scene)!) s.timeouts++;
  }

  /**
   * Server time of any request, load tests included: the process's utilisation covers all its work, as ELU does in
   * production (left out, half the traffic in load tests read as half the load, and the ELU goal was blind to it).
   */
  recordBusy(completedAt: number, serviceMs: number): void {
    const k = Math.floor(completedAt / this.slotMs);
    this.busy.set(k, (this.busy.get(k) ?? 0) + serviceMs);
  }

  scene(scene: string, minSamples: number): SceneSignals | undefined {
    const m = this.slots.get(scene);
    if (!m) return undefined;
    const last = Math.floor(this.now / this.slotMs) - 1;
    const rts: number[] = [];
    let timeouts = 0;
    let slots = 0;
    for (let k = last, n = 0; n < this.maxSlots; k--, n++) {
      slots = n + 1;
      const s = m.get(k);
      if (s) {
        for (const x of s.rts) rts.push(x);
        timeouts += s.timeouts;
      }
      if (n + 1 >= this.minSlots && rts.length >= minSamples) break;
    }
    if (rts.length === 0) return undefined;
    const sorted = Float64Array.from(rts).sort();
    // Nearest rank, as the engine's sensing takes it: one slow request in 100 is no alarm here, as in production.
    const q = (p: number) => nearestRank(sorted, p);
    let sum = 0;
    for (const x of rts) sum += x;
    return { count: rts.length, rate: (rts.length * 1000) / (slots * this.slotMs), mean: sum / rts.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), timeoutRate: timeouts / rts.length };
  }

  process(): ProcessSignals {
    const k = Math.floor(this.now / this.slotMs) - 1;
    // The utilisation of the last whole slot, numbered by it (a regulator faster than the slots reads it once); the
    // queue's delay is read as it is now, a new figure every tick.
    return { elu: Math.min(1, (this.busy.get(k) ?? 0) / (this.servers * this.slotMs)), eventLoopDelayMs: this.queueDelayMs, taken: { elu: k } };
  }

  /** Drops slots older than the widest window (keeps memory flat over long runs). */
  prune(): void {
    const oldest = Math.floor(this.now / this.slotMs) - this.maxSlots - 1;
    for (const m of this.slots.values()) for (const k of m.keys()) if (k < oldest) m.delete(k);
    for (const k of this.busy.keys()) if (k < oldest) this.busy.delete(k);
  }
}
