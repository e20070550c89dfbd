/**
 * One scene's open-loop arrivals: a Poisson process whose rate is the scenario's `rate(scene, t)`, taken as constant
 * within each whole second and redrawn at every second's edge (the exponential gap is memoryless, so cutting a draw
 * at the edge and drawing again at the new rate is exact for such a rate). Drawing one gap at the rate of the moment
 * instead waited out a rate of 0, or a tiny one, at t = 0: a scene that started cold never got a request.
 */
import { Rng, streamSeed } from './rng.js';

export class Arrivals {
  /** Time (ms) of the next arrival; Infinity when none falls before the end. */
  next: number;
  private readonly rng: Rng;

  constructor(
    seed: number,
    private readonly scene: string,
    private readonly rate: (scene: string, t: number) => number,
    private readonly endMs: number,
  ) {
    this.rng = new Rng(streamSeed(seed, `arrivals/${scene}`));
    this.next = this.after(0);
  }

  /** Moves on to the arrival after the current one. */
  advance(): void {
    this.next = this.after(this.next);
  }

  private after(from: number): number {
    for (let t = from; t < this.endMs; ) {
      const r = this.rate(this.scene, t / 1000);
      const edge = (Math.floor(t / 1000) + 1) * 1000;
      if (r > 0) {
        const a = t + this.rng.exp(1000 / r);
        if (a < edge) return a;
      }
      t = edge;
    }
    return Infinity;
  }
}
