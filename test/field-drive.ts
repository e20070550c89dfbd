/**
 * The field tests' rig over real HTTP: the service (`test/e2e-field-server.mjs`) in its own process on loopback, and
 * an open-loop load generator here. Shared by `e2e-field` and `e2e-stall`.
 */
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { forkServer } from './fork-server.js';

export interface SceneSpec {
  kind: 'gear' | 'flat';
  unitMs: number;
  gears: number;
  budgetMs: number;
  priority?: 'low' | 'normal' | 'high';
}

export async function startServer(adapter: 'fastify' | 'express' | 'http', scenes: Record<string, SceneSpec>, regulator?: unknown, sense?: unknown) {
  const env: Record<string, string> = { ADAPTER: adapter, SCENES: JSON.stringify(scenes) };
  if (regulator) env.REGULATOR = JSON.stringify(regulator);
  if (sense) env.SENSE = JSON.stringify(sense);
  return forkServer('test/e2e-field-server.mjs', env);
}

export interface ServerInfo {
  gears: Record<string, Record<string, number>>;
  changes: { t: number; scene: string; from: number; to: number; reason: string }[];
}
export const ask = (child: ChildProcess) =>
  new Promise<ServerInfo>((resolve) => {
    child.once('message', (m) => resolve(m as ServerInfo));
    child.send({ cmd: 'stats' });
  });

/** Blocks the server's event loop for `ms` (a stall of the whole process); resolves with when, on the clock of `changes`. */
export const stall = (child: ChildProcess, ms: number) =>
  new Promise<number>((resolve) => {
    child.once('message', (m) => resolve((m as { t: number }).t));
    child.send({ cmd: 'stall', ms });
  });

export interface Rec {
  at: number; // scheduled send, ms since the load started
  rt: number; // from the scheduled send; −1 while unanswered
  status: number;
  retryAfter: number; // Retry-After of a 503, seconds (NaN if absent)
}

/**
 * Open loop over pre-opened keep-alive connections: `phases` of { seconds, rate } for one path, each request sent at
 * its scheduled time whatever the answers do; RT from the scheduled time (the front end's view). Bounded: the phases,
 * then at most `drainMs`.
 */
export async function drive(port: number, path: string, phases: { seconds: number; rate: number }[], drainMs = 1500): Promise<Rec[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const get = (p: string, done: (status: number, retryAfter: number) => void) => {
    const req = request({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0, Number(res.headers['retry-after'] ?? NaN)));
    });
    req.on('error', () => done(-1, NaN));
    req.end();
  };
  // open the pool on a path that is no scene (a cheap 404 on Fastify and Express; a first-scene request on node:http)
  await Promise.all(Array.from({ length: 16 }, () => new Promise<void>((r) => get('/-', () => r()))));
  const times: number[] = [];
  let start = 0;
  for (const p of phases) {
    for (let k = 0; k < p.seconds * p.rate; k++) times.push(start + (k * 1000) / p.rate);
    start += p.seconds * 1000;
  }
  const recs: Rec[] = [];
  let pending = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now() - t0;
      while (recs.length < times.length && times[recs.length]! <= now) {
        const r: Rec = { at: times[recs.length]!, rt: -1, status: 0, retryAfter: NaN };
        recs.push(r);
        pending++;
        get(path, (status, retryAfter) => {
          pending--;
          r.status = status;
          r.retryAfter = retryAfter;
          if (status > 0) r.rt = performance.now() - t0 - r.at;
        });
      }
      if (recs.length >= times.length || now > start + 100) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const deadline = performance.now() + drainMs;
  while (pending > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  agent.destroy();
  return recs;
}

export function judge(recs: Rec[], budgetMs: number, fromS: number, toS: number) {
  const w = recs.filter((r) => r.at >= fromS * 1000 && r.at < toS * 1000);
  const good = w.filter((r) => r.status === 200 && r.rt >= 0 && r.rt <= budgetMs).length;
  const shed = w.filter((r) => r.status === 503).length;
  return { n: w.length, good, shed, goodShare: good / w.length, timeoutRate: (w.length - good - shed) / w.length, shedRate: shed / w.length };
}
export const show = (j: ReturnType<typeof judge>) =>
  `${j.n} requests, ${(j.goodShare * 100).toFixed(1)}% good, ${(j.timeoutRate * 100).toFixed(1)}% timeouts, ${(j.shedRate * 100).toFixed(1)}% shed`;

/** The regulator the e2e test runs (test/e2e-server.mjs): 200 ms period, ELU 0.8 + event-loop delay 40 ms, firmer gains. */
export const TUNED = { periodMs: 200, goals: { elu: { target: 0.8 }, eventLoopDelayMs: { target: 40 } }, control: { kp: 0.3, ki: 0.4, maxDownPerTick: 0.4 } };
export const TUNED_SENSE = {
  rt: { slots: 8, slotMs: 200 },
  outcomes: { slots: 8, slotMs: 200 },
  process: { eventLoopUtilization: { periodMs: 200, samples: 8 }, eventLoopDelay: { periodMs: 200, samples: 8 }, cpu: { periodMs: 200, samples: 8 } },
};
export const settle = () => new Promise((r) => setTimeout(r, 1500)); // the server's start-up (JIT, listen) settles first
