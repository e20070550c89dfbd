/**
 * Seeded random inputs for the fuzz tests: reproducible, so a failure names a seed that replays it.
 * `GEARSHIFT_FUZZ_SEED=<n>` replays a run; `GEARSHIFT_FUZZ_SCALE=<x>` multiplies every case count (a long local hunt,
 * `GEARSHIFT_FUZZ_SCALE=50 npx vitest run test/fuzz-`); CI runs the defaults.
 */
export const FUZZ_SEED = Number(process.env.GEARSHIFT_FUZZ_SEED ?? 20261121) >>> 0;
const SCALE = Number(process.env.GEARSHIFT_FUZZ_SCALE ?? 1);

/** How many cases to run: `n`, scaled by GEARSHIFT_FUZZ_SCALE. */
export const fuzzCases = (n: number): number => Math.max(1, Math.round(n * (SCALE > 0 ? SCALE : 1)));

/** Where a failing case came from, for an assertion message. */
export const replay = (what: string, i: number): string => `${what} case ${i} (replay with GEARSHIFT_FUZZ_SEED=${FUZZ_SEED})`;

/** mulberry32: small, fast and good enough to pick inputs; not for anything secret. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** `count` characters, each drawn by `char`. */
  chars(count: number, char: (r: Rng) => string): string {
    let s = '';
    for (let i = 0; i < count; i++) s += char(this);
    return s;
  }
  /** A short length, now and then a long one: most bugs live at 0, 1, block edges and limits. */
  length(limit: number): number {
    return this.chance(0.1) ? this.int(limit + 1) : this.int(Math.min(limit, 24) + 1);
  }
}

/** Characters a JavaScript string can hold, weighted to the awkward ones: controls, Latin-1, BMP, astral, lone surrogates. */
export function anyChar(r: Rng): string {
  switch (r.int(8)) {
    case 0:
      return String.fromCharCode(r.int(0x20)); // C0 controls, NUL included
    case 1:
      return String.fromCharCode(0x80 + r.int(0x80)); // Latin-1 high half
    case 2:
      return String.fromCharCode(0x100 + r.int(0xd800 - 0x100)); // the rest of the BMP below the surrogates
    case 3:
      return String.fromCharCode(0xd800 + r.int(0x800)); // a lone surrogate
    case 4:
      return String.fromCodePoint(0x10000 + r.int(0x100000)); // astral: a surrogate pair
    case 5:
      return r.pick([';', ',', '=', '%', '"', ' ', '\\', '.', ':', '-', '_', '/']);
    default:
      return String.fromCharCode(0x21 + r.int(0x5e)); // printable ASCII
  }
}

/** What an HTTP/1.1 header value may carry on the wire: visible ASCII, space, tab and obs-text (Latin-1 bytes). */
export function headerChar(r: Rng): string {
  const c = r.int(10);
  if (c === 0) return String.fromCharCode(0x80 + r.int(0x80));
  if (c === 1) return r.pick([' ', '\t', ';', ',', '=', '%', '"']);
  return String.fromCharCode(0x21 + r.int(0x5e));
}
