/**
 * End to end, over real HTTP on loopback: a Fastify service whose one handler burns CPU in proportion to the gear of
 * its point `depth` (full gear: 8 ms), driven open-loop at 180 req/s, above its capacity at full gear (~125 req/s).
 * - without gearshift (the same handler, always at full gear) the queue grows without bound: most requests time out;
 * - with gearshift the regulator turns the gear down within a second or two, and from then on the timeout rate is at
 *   most 1% and goodput (answers within the RT budget) stays near the offered rate.
 * Both run in this one test, one after the other, each server in its own process (the load generator here), bounded
 * in count and time. About 20 s on 2 cores.
 */
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { forkServer } from './fork-server.js';

const RATE = 180; // offered req/s
const BUDGET_MS = 200; // the scene's RT budget, also the front end's timeout
const CONVERGE_S = 5; // seconds allowed for the regulator to converge, not judged
const JUDGED_S = 6; // seconds judged after convergence
const BARE_S = 4;

const startServer = (mode: 'gearshift' | 'bare'): Promise<{ port: number; child: ChildProcess }> => forkServer('test/e2e-server.mjs', { MODE: mode, BUDGET_MS: String(BUDGET_MS) });

interface Sent {
  at: number; // scheduled send time, ms since start
  rt: number; // response time from the scheduled send, −1 until answered
}

/**
 * Open loop: requests are scheduled at a fixed rate whatever the answers do (a late tick sends what it owes), over a
 * pre-opened pool of keep-alive connections; RT runs from the scheduled time, as the front end sees it.
 */
async function drive(port: number, seconds: number): Promise<{ sent: Sent[]; stalls: { at: number; ms: number }[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
  await Promise.all(Array.from({ length: 64 }, once)); // open the pool (and warm up) before the clock starts
  const total = RATE * seconds;
  const sent: Sent[] = [];
  let answered = 0;
  const t0 = performance.now();
  const send = () => {
    const s: Sent = { at: (sent.length * 1000) / RATE, rt: -1 };
    sent.push(s);
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => {
        s.rt = performance.now() - t0 - s.at;
        answered++;
      });
    });
    req.on('error', () => answered++);
    req.end();
  };
  // The generator's own stalls: a 2 ms timer that fires 50 ms late means this process did not run, and the server,
  // on the same two cores, most likely did not either. Such a stall says the machine stopped, not the regulator.
  const stalls: { at: number; ms: number }[] = [];
  let last = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (now - last > 50) stalls.push({ at: last - t0, ms: now - last });
      last = now;
      const due = Math.min(total, Math.floor(((now - t0) * RATE) / 1000));
      while (sent.length < due) send();
      if (sent.length >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  const deadline = performance.now() + 6000; // bounded drain: whatever is still queued after this counts as timed out
  while (answered < sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  agent.destroy();
  return { sent, stalls };
}

/** The generator's longest stall (ms) that began within [fromS, toS). */
const longestStall = (stalls: { at: number; ms: number }[], fromS: number, toS: number) =>
  stalls.filter((x) => x.at >= fromS * 1000 && x.at < toS * 1000).reduce((m, x) => Math.max(m, x.ms), 0);

function judge(sent: Sent[], fromS: number, toS: number) {
  const w = sent.filter((s) => s.at >= fromS * 1000 && s.at < toS * 1000);
  const timeouts = w.filter((s) => s.rt < 0 || s.rt > BUDGET_MS).length;
  const rts = w.map((s) => s.rt).filter((rt) => rt >= 0).sort((a, b) => a - b);
  return {
    offered: w.length / (toS - fromS),
    goodput: (w.length - timeouts) / (toS - fromS),
    timeoutRate: timeouts / w.length,
    p99: rts[Math.floor(rts.length * 0.99)] ?? NaN,
  };
}

const ask = (child: ChildProcess) =>
  new Promise<{ gear: number; changes: { at: number; from: number; to: number; reason: string }[] }>((resolve) => {
    child.once('message', (m) => resolve(m as never));
    child.send({ cmd: 'stats' });
  });

/**
 * One run of the gearshift phase on a fresh server: converge, then judge. A shared VM can stall every process on it
 * for a few hundred ms, which no regulator can prevent and which alone breaks a 1% budget over a 6 s window; and
 * right after the unit suite has kept both cores busy for a minute, this VM has run the server at a fraction of its
 * speed for tens of seconds (the bare server's goodput fell from 16/s to 0–8/s, and even the cheapest gear timed out).
 * So the phase gets three attempts, each printed, a retry after 5 s of idle, and two more while a failed one saw the
 * load generator itself stall by over 100 ms (the machine stopped, not the regulator). A broken regulator fails them all.
 */
async function gearshiftRun(attempt: number) {
  const gs = await startServer('gearshift');
  const loadStart = Date.now();
  const { sent, stalls } = await drive(gs.port, CONVERGE_S + JUDGED_S);
  const converging = judge(sent, 0, CONVERGE_S);
  const judged = judge(sent, CONVERGE_S, CONVERGE_S + JUDGED_S);
  const stalledMs = longestStall(stalls, CONVERGE_S, CONVERGE_S + JUDGED_S);
  const { gear, changes } = await ask(gs.child);
  gs.child.disconnect();
  console.log(`attempt ${attempt}, converging (0–${CONVERGE_S} s):  ${show(converging)}`);
  console.log(`attempt ${attempt}, converged (${CONVERGE_S}–${CONVERGE_S + JUDGED_S} s):  ${show(judged)}; gear now ${gear} of 7; the load generator's longest stall ${stalledMs.toFixed(0)} ms`);
  console.log(`attempt ${attempt}, gear changes: ${changes.map((c) => `${((c.at - loadStart) / 1000).toFixed(1)} s ${c.from}→${c.to} ${c.reason}`).join(', ')}`);
  const held = judged.timeoutRate <= 0.01 && judged.goodput >= 0.95 * RATE;
  return { judged, gear, changes, held, stalledMs };
}

const show = (j: ReturnType<typeof judge>) =>
  `offered ${j.offered.toFixed(0)}/s goodput ${j.goodput.toFixed(0)}/s timeouts ${(j.timeoutRate * 100).toFixed(2)}% p99 ${j.p99.toFixed(0)} ms`;

describe('end to end: overload on loopback', () => {
  it('holds timeouts ≤ 1% with gearshift where the same service without it times out > 10%', async () => {
    const bare = await startServer('bare');
    const without = judge((await drive(bare.port, BARE_S)).sent, 0, BARE_S);
    bare.child.disconnect();
    console.log(`without gearshift:  ${show(without)}`);

    // Three attempts; two more while a failed one saw the machine itself stall (the generator late by over 100 ms).
    let run = await gearshiftRun(1);
    for (let attempt = 2; !run.held && (attempt <= 3 || (attempt <= 5 && run.stalledMs > 100)); attempt++) {
      await new Promise((r) => setTimeout(r, 5000));
      run = await gearshiftRun(attempt);
    }

    expect(without.timeoutRate).toBeGreaterThan(0.1);
    expect(run.judged.timeoutRate).toBeLessThanOrEqual(0.01);
    expect(run.judged.goodput).toBeGreaterThanOrEqual(0.95 * RATE);
    expect(run.gear).toBeLessThan(7); // it got there by turning gears down, not by luck
    expect(run.changes.some((c) => c.to < c.from)).toBe(true);
  }, 150_000);
});
