/**
 * Sensing against a model (seeded fuzz): random window settings, requests that start, take any time and end with any
 * outcome, the clock moving in steps from a fraction of a millisecond to longer than both windows, and reads at any
 * moment, on a scene with two versions. Each read (a version, the scene's versions merged, the whole process) must
 * equal what a plain list of the same completions gives: counts per outcome, timeout rate, rate, RT count, sum and
 * exact max, exactly; every percentile (nearest rank) within the histogram's stated precision of the exact one.
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import type { Decision } from '../src/route/decision.js';
import type { WindowStats } from '../src/sense/stats.js';
import { FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';

interface Done {
  version: string;
  end: number;
  rt: number;
  outcome: 'success' | 'degraded' | 'error' | 'timeout' | 'clientAbort';
}

const QS = [0.5, 0.9, 0.99, 0.999] as const;

describe('sensing windows (seeded fuzz)', () => {
  it('read what a model of the same completions gives', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] }); // the engine's own timers do not run here
    const r = new Rng(FUZZ_SEED + 5);
    try {
      for (let run = 0, runs = fuzzCases(30); run < runs; run++) {
        const cSlots = 1 + r.int(12);
        const cMs = r.pick([10, 250, 1000, 1500]);
        const hSlots = 1 + r.int(12);
        const hMs = r.pick([10, 250, 1000, 2000]);
        const bits = 2 + r.int(4);
        const budget = r.pick([5, 50, 200]);
        const clock = new ManualClock(r.int(1e6), Date.UTC(2026, 10, 21));
        const gs = createGearshift({
          config: {
            scenes: { feed: { rtBudgetMs: budget, versions: { main: { stage: 'base' }, canary: { stage: 'up' } }, split: [{ version: 'canary', weight: 40 }, { version: 'main', weight: 60 }] } },
            sense: { rt: { slots: hSlots, slotMs: hMs, precisionBits: bits, maxMs: 60000 }, outcomes: { slots: cSlots, slotMs: cMs } },
          },
          clock,
        });
        const bornAt = clock.now();
        /** One read against the completions it should cover. */
        const expectWindow = (got: WindowStats, done: readonly Done[], now: number, where: () => string) => {
          const inC = done.filter((x) => Math.floor(x.end / cMs) > Math.floor(now / cMs) - cSlots);
          const inH = done.filter((x) => Math.floor(x.end / hMs) > Math.floor(now / hMs) - hSlots);
          const by = (o: Done['outcome']) => inC.filter((x) => x.outcome === o).length;
          const spanMs = Math.max(0, now - Math.max((Math.floor(now / cMs) - cSlots + 1) * cMs, bornAt));
          const want = {
            count: inC.length, success: by('success'), degraded: by('degraded'), error: by('error'), timeout: by('timeout'),
            clientAbort: by('clientAbort'), timeoutRate: inC.length ? by('timeout') / inC.length : 0,
            errorRate: inC.length ? by('error') / inC.length : 0, rtCount: inH.length,
            max: inH.reduce((m, x) => Math.max(m, x.rt), 0), spanMs, rate: spanMs > 0 ? (inC.length * 1000) / spanMs : 0,
          };
          const exactFields = (x: WindowStats | typeof want) => ({ ...x, mean: undefined, p50: undefined, p90: undefined, p99: undefined, p999: undefined, shed: undefined, rejected: undefined });
          expect(exactFields(got), where()).toEqual(exactFields(want));
          const sum = inH.reduce((s, x) => s + x.rt, 0);
          expect(Math.abs(got.mean - (inH.length ? sum / inH.length : 0)), where()).toBeLessThan(1e-6 * (1 + sum));
          const sorted = inH.map((x) => x.rt).sort((a, b) => a - b);
          QS.forEach((q, k) => {
            const p = [got.p50, got.p90, got.p99, got.p999][k]!;
            if (sorted.length === 0) return void expect(p, where()).toBe(0);
            // Slower than maxMs lands in the top bucket (the max stays exact, checked above).
            const exact = Math.min(sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!, 60000);
            // A bucket's midpoint is within 1/2^(bits+1) of any value in it; RTs are bucketed in whole µs.
            expect(Math.abs(p - exact), `${where()}: p${q * 100} ${p} against ${exact} of ${sorted.length}`).toBeLessThanOrEqual(exact / 2 ** (bits + 1) + 0.0011);
          });
        };
        const open: Decision[] = [];
        const done: Done[] = [];
        for (let step = 0; step < 400; step++) {
          const where = () => `${replay('sense run', run)}, step ${step} (outcomes ${cSlots}×${cMs} ms, RT ${hSlots}×${hMs} ms, ${bits} bits, budget ${budget} ms)`;
          const action = r.int(10);
          if (action < 3) open.push(gs.route('feed', `u${r.int(1e6)}`));
          else if (action < 6) clock.advance(r.pick([0.37, 1, r.int(50), r.int(3000), r.chance(0.1) ? 40_000 : 5]));
          else if (action < 9 && open.length > 0) {
            const d = open.splice(r.int(open.length), 1)[0]!;
            const reported = r.pick(['success', 'success', 'degraded', 'error', 'timeout', 'clientAbort'] as const);
            gs.complete(d, reported);
            const rt = clock.now() - d.startedAt;
            // classify(): a reported timeout, or any answer slower than the budget, is a timeout.
            done.push({ version: d.version!, end: clock.now(), rt, outcome: reported === 'timeout' || rt > budget ? 'timeout' : reported });
          } else {
            // Each version alone, the scene (its versions merged) and the process (every series merged).
            const now = clock.now();
            for (const [label, got, of] of [
              ['main', gs.stats('feed', 'main')!, done.filter((x) => x.version === 'main')],
              ['canary', gs.stats('feed', 'canary')!, done.filter((x) => x.version === 'canary')],
              ['feed', gs.stats('feed')!, done],
              ['process', gs.stats()!, done],
            ] as const) {
              const at = () => `${where()}, ${label}`;
              expectWindow(got, of, now, at);
            }
          }
        }
        gs.close();
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
