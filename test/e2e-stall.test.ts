/**
 * A stall of the whole process over real HTTP: a Fastify service on loopback (`test/e2e-field-server.mjs`) at half its
 * capacity, its event loop blocked for 400 ms from the outside (a GC pause, a synchronous call). The process goals cut
 * on the stall's sample, as they must; the cut made for that transient comes back in one move at the next clean sample
 * (regulate/transient.ts). About 40 s on 2 cores.
 *
 * `GEARSHIFT_STALL_ROUNDS=<n>` also runs the measurement the README reports: n rounds of the same stall with the
 * give-back on and off, interleaved, each printing how long the gears stayed below their top.
 */
import { describe, expect, it } from 'vitest';
import { ask, drive, judge, type ServerInfo, settle, show, stall, startServer, TUNED, TUNED_SENSE } from './field-drive.js';

const RANK = { rank: { kind: 'gear' as const, unitMs: 1, gears: 8, budgetMs: 200 } }; // full gear 8 ms: ~120 req/s here
const RATE = 60;
/**
 * When the stall comes, in seconds of load: after the calm readings the give-back compares with. (At 30 s until the
 * process's figures waited for the first request: a fresh process's first utilisation sample held its module loading
 * and could cut, and the climb back was a probe for four dwells, in which a cut is the probe failing, not a transient.)
 */
const STALL_AT_S = 10;
const STALL_MS = 400;

interface Round {
  /** The stall's start, on the server's clock (the clock of `changes`). */
  at: number;
  /** The changes from the stall on. */
  changes: ServerInfo['changes'];
  /** Seconds from the stall's first cut until every gear was back at the top (NaN: not within the run). */
  below: number;
  timeouts: string;
}

async function round(giveBack: boolean, loadS: number): Promise<Round> {
  const srv = await startServer('fastify', RANK, { ...TUNED, transients: { giveBack } }, TUNED_SENSE);
  await settle();
  let at = NaN;
  const timer = setTimeout(() => void stall(srv.child, STALL_MS).then((t) => (at = t)), STALL_AT_S * 1000);
  const recs = await drive(srv.port, '/rank', [{ seconds: loadS, rate: RATE }]);
  clearTimeout(timer);
  const info = await ask(srv.child);
  srv.child.disconnect();
  const changes = info.changes.filter((c) => c.t >= at);
  const cut = changes.find((c) => c.to < c.from);
  let gear = cut ? cut.from : 7;
  let back = NaN;
  for (const c of changes) {
    gear = c.to;
    if (cut && c.t >= cut.t && gear === 7 && Number.isNaN(back)) back = c.t;
  }
  return { at, changes, below: cut ? back - cut.t : 0, timeouts: show(judge(recs, 200, STALL_AT_S, loadS)) };
}

const describeChanges = (r: Round) => r.changes.map((c) => `${(c.t - r.at).toFixed(1)} s ${c.from}→${c.to} ${c.reason}`).join(', ');

describe('a stall of the whole process over real HTTP', () => {
  it('Fastify, tuned regulator, half its capacity, a 400-ms stall: the cut it makes is given back within a second, as a transient', async () => {
    let r = await round(true, STALL_AT_S + 4);
    const ok = (x: Round) => x.changes.some((c) => c.to < c.from) && x.below <= 1.5;
    if (!ok(r)) r = await round(true, STALL_AT_S + 4); // one retry: this VM can stall every process on it, the generator too
    console.log(`stall, give-back on: below the top ${r.below.toFixed(1)} s; ${describeChanges(r)}; from the stall on: ${r.timeouts}`);
    expect(r.changes.some((c) => c.to < c.from)).toBe(true); // the stall's sample cuts
    expect(r.below).toBeLessThanOrEqual(1.5); // measured 0.2–0.6 s (one to three 200-ms ticks); with the give-back off, 7.6–9.4 s
    expect(r.changes.filter((c) => c.to > c.from).every((c) => c.reason === 'transient')).toBe(true);
  }, 120_000);

  const rounds = Number(process.env.GEARSHIFT_STALL_ROUNDS ?? 0);
  it.runIf(rounds > 0)(`measurement: ${rounds} rounds, give-back on and off, interleaved`, async () => {
    const below: Record<string, number[]> = { on: [], off: [] };
    for (let i = 0; i < rounds; i++) {
      for (const giveBack of [true, false]) {
        const r = await round(giveBack, STALL_AT_S + 20);
        below[giveBack ? 'on' : 'off']!.push(r.below);
        console.log(`round ${i + 1}, give-back ${giveBack ? 'on' : 'off'}: below the top ${r.below.toFixed(1)} s; ${describeChanges(r)}; from the stall on: ${r.timeouts}`);
      }
    }
    console.log(`seconds below the top after a ${STALL_MS}-ms stall: on ${below.on!.map((x) => x.toFixed(1)).join(' ')}; off ${below.off!.map((x) => x.toFixed(1)).join(' ')}`);
  }, 600_000);
});
