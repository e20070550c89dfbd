import { fmix32 } from '../route/hash.js';

/** A seeded PRNG (mulberry32) with the few distributions the simulator needs: runs repeat bit for bit. */
export class Rng {
  private s: number;
  private spare = NaN;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const u = 1 - this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
  /** Log-normal with mean 1 and shape `sigma`: service-time noise with a realistic right tail. */
  lognormal1(sigma: number): number {
    return Math.exp(sigma * this.normal() - (sigma * sigma) / 2);
  }
}

/**
 * The state of one named stream of a run's seed. Arrivals, load-test draws and service noise each draw from their own
 * stream, per scene: with one stream, a controller that refused a request (and so drew no service noise for it) saw
 * other arrivals from then on, and a side-by-side table compared controllers on different traffic. The whole seed
 * is hashed, its high bits too: `seed >>> 0` alone made 42 and 42 + 2³² the same run.
 */
export function streamSeed(seed: number, stream: string): number {
  const lo = ((seed % 0x1_0000_0000) + 0x1_0000_0000) % 0x1_0000_0000;
  const hi = Math.floor(seed / 0x1_0000_0000);
  let h = fmix32(fmix32(lo) ^ hi);
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  return fmix32(h) >>> 0;
}
