/**
 * Field review of the control loop over real HTTP (loopback, real Fastify / Express / node:http servers in their own
 * process, `test/e2e-field-server.mjs`, driven open-loop from here) and, where a field symptom has a deterministic cause, the
 * same cause reproduced on the regulator with a manual clock and scripted signals. Every test in the first blocks
 * failed on the reviewed code (3f20808) and names the outcome it expects; the last block holds what held up.
 * The review's measurements are summarised in the README (Reviews in the twentieth session). About 35 s on 2 cores.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { RegulatorConfig } from '../src/config/schema-regulate.js';
import { validateConfig } from '../src/config/validate.js';
import type { GearChange, TickReport } from '../src/regulate/events.js';
import { Regulator } from '../src/regulate/regulator.js';
import type { SceneSignals } from '../src/regulate/signals.js';
import { ask, drive, judge, settle, show, startServer, TUNED, TUNED_SENSE } from './field-drive.js';
import { OneSceneSource } from './regulate-helpers.js';

// ---- the manual-clock rig: one scene `rank`, one point `depth` with 8 gears (cost 1…8, the default) ----------------

/** What a real server's sensing reports for a synchronous CPU-bound handler: its own short RTs, never the queue. */
const served = (rate: number): SceneSignals => ({ count: rate * 10, rate, mean: 10, p50: 8, p90: 15, p99: 20, p999: 30, timeoutRate: 0 });
/** The same scene when its own RTs are over budget (only seen when the handler itself waits on the event loop). */
const slow = (rate: number): SceneSignals => ({ count: rate * 10, rate, mean: 150, p50: 120, p90: 250, p99: 400, p999: 500, timeoutRate: 0.2 });

function rig(regulator: RegulatorConfig = {}, scene: Record<string, unknown> = {}) {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const src = new OneSceneSource();
  const config = validateConfig({
    scenes: { rank: { rtBudgetMs: 200, versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3, 4, 5, 6, 7, 8] } }, ...scene } },
    regulator: { boost: { enabled: false }, ...regulator },
  });
  const reg = new Regulator({ config, clock, signals: src });
  const changes: (GearChange & { t: number })[] = [];
  reg.on('change', (c) => changes.push({ ...c, t: clock.now() / 1000 }));
  const tick = (): TickReport => {
    clock.advance(1000);
    return reg.tick();
  };
  const gear = () => reg.gears().rank!.depth!;
  return { clock, src, reg, changes, tick, gear };
}

/** A process whose event-loop utilisation follows its gear: `load` × cost / top cost, plus 5% of overhead. */
const eluAt = (load: number, gear: number) => Math.min(1, 0.05 + (load * (gear + 1)) / 8);

// ---- faults ----------------------------------------------------------------------------------------------------------

describe('with the default goals, a saturated process cuts fast enough to matter', () => {
  // Fault: the default process goal (ELU 0.85) is the only one that sees a saturated Node process over real HTTP (the
  // scene's RTs start at `onRequest`, after the queue), and its error cannot exceed 1/0.85 − 1 = 0.18, because ELU
  // cannot pass 1: it cuts 0.048 of the allowance on the first tick and 0.021 per tick after, a tenth of
  // maxDownPerTick (0.2): one gear of 8 every ~5 s. Field: 2x step, 15 s of 100% front-end timeouts, 59–64% over
  // the 24-s peak (README's simulator: converged 6 s, 0.0%). Expected: at the largest reading there is, the cut is fast.
  it('six ticks of a fully saturated event loop (ELU 1.0) take the gears down by a third or more', () => {
    const { src, tick, gear } = rig();
    for (let t = 0; t < 6; t++) {
      src.signals = served(140);
      src.proc = { elu: 1, count: 10 };
      tick();
    }
    expect(gear()).toBeLessThanOrEqual(4); // cost ≤ 5/8 of the top; the reviewed code is at gear 6 (7/8)
  });

  // The same fault over real HTTP: a Fastify service with the library's defaults, a handler that burns (gear+1) ms
  // (full gear 8 ms: ~110–125 req/s here), offered 150 req/s. Eight seconds later the reviewed code has moved one gear
  // (it cannot move more than two: its cut per tick is bounded by ELU ≤ 1), while every request has timed out since
  // the second second.
  it('Fastify, default config, 150 req/s on a ~120 req/s service: the gear is down to half cost or less within 8 s', async () => {
    const srv = await startServer('fastify', { rank: { kind: 'gear', unitMs: 1, gears: 8, budgetMs: 200 } });
    await settle();
    const recs = await drive(srv.port, '/rank', [{ seconds: 8, rate: 150 }], 0);
    const info = await ask(srv.child);
    srv.child.disconnect();
    console.log(`default config, 2x: seconds 2–8: ${show(judge(recs, 200, 2, 8))}; gear after 8 s: ${info.gears.rank!.depth} of 7; changes: ${info.changes.map((c) => `${c.from}→${c.to} ${c.reason}`).join(', ')}`);
    expect(info.gears.rank!.depth).toBeLessThanOrEqual(4);
  }, 60_000);
});

describe('the process loop forgives a failed probe when the load leaves, as a scene loop does', () => {
  // Fault: `ProcessLoop.step` passes no request rate to its allowance (`propose(…, NaN, …)`), so the dwell reset on a
  // real load drop ("a third below the rate at the last cut … the conditions that made the cut are gone") never fires
  // for process goals: a dwell backed off by failed probes at a steady overload stays up to maxDwellMs (60 s) after
  // the load has left. Field (tuned config, sawtooth): 10 s at gear 2 of 7 with ELU 0.22 after the last drop, until
  // the run ended; two scenes: 15 s with both process goals at headroom (ELU 0.20) and no gear moving. Expected: the
  // first raise follows the load drop within the base dwell and a few ticks, as it does when a scene goal made the
  // same cuts (3 ticks, held-up block below).
  it('after failed probes at a 2x load, the gears start climbing within 10 ticks of the load falling to a fifth', () => {
    const { src, tick, gear, changes } = rig();
    // probing the edge at a steady 2x load: saturated at gear 4 and above, comfortable below
    let t = 0;
    for (; t < 400; t++) {
      src.signals = served(200);
      src.proc = { elu: gear() >= 4 ? 1 : 0.5, count: 10 };
      const before = changes.length;
      tick();
      const last = changes.at(-1);
      if (t > 200 && changes.length > before && last && last.to < last.from) break; // right after a failed probe
    }
    const failed = changes.filter((c) => c.to > c.from).length;
    expect(failed).toBeGreaterThanOrEqual(4); // the dwell has backed off
    const at = gear();
    let first = -1;
    for (let k = 1; k <= 90; k++) {
      src.signals = served(40);
      src.proc = { elu: 0.1, count: 10 };
      tick();
      if (first < 0 && gear() > at) first = k;
    }
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10); // the reviewed code: 63 ticks
  });
});

describe('a cut made during a transient is given back at the load that ran at full gear before it', () => {
  // Fault: a process goal in its band vetoes every raise (scene-loop `processHold`). A service whose normal load runs
  // at ELU 0.80 on its top gear (inside the default goal, 0.85: never cut) has ELU ~0.70 one gear lower, which is in
  // the band (0.64–0.85). After any transient that cut it, it holds the lower gear for good at the very load it served
  // at full gear before. Field: 85 req/s at gear 7 with ELU 0.80 and 0% timeouts; an 8-s spike; back at 85 req/s it
  // sits at gear 6 with ELU 0.64 "in band" until the run ends. Expected: back at the top once the transient is over
  // (a raise whose predicted utilisation stays under the target is not what pushes the process over).
  it('after a 15-s spike, five minutes at the earlier load bring the top gear back', () => {
    const { src, tick, gear } = rig();
    const normal = () => {
      src.signals = served(85);
      src.proc = { elu: eluAt(0.75, gear()), count: 10 };
      tick();
    };
    for (let t = 0; t < 20; t++) normal();
    expect(gear()).toBe(7); // 0.80 at the top: inside the goal, nothing is cut
    for (let t = 0; t < 15; t++) {
      src.signals = served(170);
      src.proc = { elu: 1, count: 10 };
      tick();
    }
    expect(gear()).toBeLessThan(7);
    for (let t = 0; t < 300; t++) normal();
    expect(gear()).toBe(7); // the reviewed code: 6, for good
  });
});

describe('shedding stops when the overload is gone', () => {
  // Fault: the shed share drains by step/2 per tick whatever the goals read (`SceneLoop.updateShedding`), and it
  // climbed on the readings of the backlog draining after the cause was gone. Field (default period, ELU + event-loop
  // delay goals, a low-priority gear-independent scene): the share reached 0.9 while ELU was already 0.34, refused
  // 85% of 170 req/s with ELU 0.21–0.41 (the process could serve ~95 req/s), and after the load fell to 30 req/s it
  // refused 60% → 5% over 13 s with ELU 0.10–0.25 (17.9% of that phase refused). Expected: with the process idle and
  // the offered load a fifth of what it was, nothing is refused within a few ticks.
  it('five ticks after the process goes idle and the load falls to a fifth, no request is shed', () => {
    const { src, tick, reg } = rig({}, { priority: 'low' });
    for (let t = 0; t < 80; t++) {
      src.signals = served(170);
      src.proc = { elu: 1, count: 10 }; // gear-independent cost: saturated at every gear
      tick();
    }
    expect(reg.status()!.scenes[0]!.shedShare).toBeGreaterThan(0.5);
    for (let t = 0; t < 5; t++) {
      src.signals = served(34);
      src.proc = { elu: 0.1, count: 10 };
      tick();
    }
    const live = reg.scene('rank')!;
    let shed = 0;
    for (let i = 0; i < 1000; i++) if (live.shouldShed(false)) shed++;
    expect(shed).toBe(0); // the reviewed code: 650 of 1,000 (share 0.65)
  });
});

// ---- what held up ----------------------------------------------------------------------------------------------------

describe('held up', () => {
  it('a steady 1.5x load whose ELU follows the gears converges without oscillating (no change in the last 5 minutes)', () => {
    const { src, tick, gear, changes } = rig();
    for (let t = 0; t < 600; t++) {
      src.signals = served(150);
      src.proc = { elu: eluAt(1.5, gear()), count: 10 };
      tick();
    }
    expect(gear()).toBeLessThan(7);
    expect(eluAt(1.5, gear())).toBeLessThanOrEqual(0.85);
    expect(changes.filter((c) => c.t > 300)).toHaveLength(0);
  });

  it('a scene goal that backed its dwell off raises within 5 ticks of a real load drop', () => {
    const { src, tick, gear, changes } = rig({ goals: {} });
    for (let t = 0; t < 400; t++) {
      src.proc = undefined;
      src.signals = gear() >= 4 ? slow(200) : served(200);
      const before = changes.length;
      tick();
      const last = changes.at(-1);
      if (t > 200 && changes.length > before && last && last.to < last.from) break;
    }
    const at = gear();
    let first = -1;
    for (let k = 1; k <= 30 && first < 0; k++) {
      src.signals = served(40);
      tick();
      if (gear() > at) first = k;
    }
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(5);
  });

  // The e2e test's claim on another adapter: with its tuned regulator (event-loop delay goal beside ELU, 200 ms
  // period), Express holds a 2x step: ≤ 2% timeouts once converged (measured 0.0–0.1%, converged in < 1 s).
  it('Express, tuned regulator, 2x step: after 3 s, timeouts ≤ 3% and goodput ≥ 90% of offered', async () => {
    const attempt = async () => {
      const srv = await startServer('express', { rank: { kind: 'gear', unitMs: 1, gears: 8, budgetMs: 200 } }, TUNED, TUNED_SENSE);
      await settle();
      const recs = await drive(srv.port, '/rank', [{ seconds: 8, rate: 150 }]);
      const info = await ask(srv.child);
      srv.child.disconnect();
      const j = judge(recs, 200, 3, 8);
      console.log(`express, tuned, 2x: seconds 3–8: ${show(j)}; gear ${info.gears.rank!.depth} of 7`);
      return { j, gear: info.gears.rank!.depth!, ok: j.timeoutRate <= 0.03 && j.goodShare >= 0.9 };
    };
    let run = await attempt();
    if (!run.ok) run = await attempt(); // one retry: this VM can stall every process on it for a few hundred ms
    expect(run.j.timeoutRate).toBeLessThanOrEqual(0.03);
    expect(run.j.goodShare).toBeGreaterThanOrEqual(0.9);
    expect(run.gear).toBeLessThan(7);
  }, 45_000);

  // Shedding over node:http: a low-priority scene whose cost does not depend on the gear; the regulator walks the
  // gears to the floor, then refuses a share with 503 + Retry-After instead of letting everything time out, and stops
  // refusing soon after the load leaves (measured: ~42% shed, 0% timeouts in the second half, no 503 two seconds after).
  it('node:http, tuned regulator, gear-independent low-priority overload: 503 + Retry-After, then none after the load leaves', async () => {
    const attempt = async () => {
      const srv = await startServer('http', { rank: { kind: 'flat', unitMs: 1, gears: 8, budgetMs: 200, priority: 'low' } }, TUNED, TUNED_SENSE);
      await settle();
      const recs = await drive(srv.port, '/rank', [{ seconds: 7, rate: 170 }, { seconds: 5, rate: 30 }]);
      srv.child.disconnect();
      const over = judge(recs, 200, 4, 7);
      const after = judge(recs, 200, 9, 12);
      console.log(`http, flat low-priority: seconds 4–7: ${show(over)}; seconds 9–12: ${show(after)}`);
      return { recs, over, after, ok: over.timeoutRate <= 0.1 && after.shed === 0 && after.timeoutRate <= 0.02 };
    };
    let run = await attempt();
    if (!run.ok) run = await attempt(); // one retry, as above
    const { recs, over, after } = run;
    const shed = recs.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.every((r) => r.retryAfter >= 1)).toBe(true);
    expect(over.timeoutRate).toBeLessThanOrEqual(0.1);
    expect(after.shed).toBe(0);
    expect(after.timeoutRate).toBeLessThanOrEqual(0.02);
  }, 60_000);
});

