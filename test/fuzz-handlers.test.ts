/**
 * Handlers that misbehave, on all three adapters (Express 4 and 5). Each request tells its handler, by a header, what
 * to do: answer now or later, answer 5xx, throw or reject before or after the headers went out, end twice, destroy its
 * socket, or never answer while the client gives up; with a scene or without one. Requests go concurrently, each on
 * its own connection. Whatever the handlers do:
 * - nothing escapes to the process (vitest fails a run on an uncaught exception or an unhandled rejection), and the
 *   server keeps serving;
 * - every decision is recorded exactly once, and none is left unrecorded;
 * - a decision's outcome is the one its handler's behaviour implies (a throw is never a success, an answer never an
 *   error; slowness may always make either a timeout).
 * It found that node:http let a handler's failure end the process when the request had no decision (adapters-http).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import express from 'express';
import express4 from 'express4';
import Fastify, { type FastifyReply } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { withGearshift } from '../src/adapters/http.js';
import type { Decision } from '../src/route/decision.js';
import { adapterConfig, observedEngine, portOf, sleep, waitFor } from './adapters-helpers.js';
import { FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';

/** What a handler may do. `wait` is how long it takes first (ms). */
const BEHAVIOURS = ['ok', 'ok-later', '500', '503-later', 'throw', 'reject', 'throw-after-head', 'reject-after-head', 'end-twice', 'destroy', 'hang'] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

/** The outcomes each behaviour may be recorded as. A failure after the headers went out can only cut the connection,
 * which some hosts report as a closed response (client abort); a destroyed socket looks the same from the adapter. */
const EXPECTED: Record<Behaviour, readonly string[]> = {
  ok: ['success'],
  'ok-later': ['success'],
  'end-twice': ['success'],
  '500': ['error'],
  '503-later': ['error'],
  throw: ['error'],
  reject: ['error'],
  'throw-after-head': ['error', 'clientAbort'],
  'reject-after-head': ['error', 'clientAbort'],
  destroy: ['clientAbort', 'error'],
  hang: ['clientAbort'],
};

interface Plan {
  behaviour: Behaviour;
  wait: number;
  scene: boolean;
}

const failure = (b: Behaviour) => new Error(`handler fails on purpose: ${b}`);

/**
 * One behaviour on a node response. Returns a promise for the asynchronous ones (what an `async` handler returns);
 * `fail` is how the host takes an asynchronous failure (node:http and Express 5: a rejection; Express 4: `next`).
 */
function act(plan: Plan, res: import('node:http').ServerResponse, destroy: () => void): Promise<void> | void {
  const { behaviour: b, wait } = plan;
  switch (b) {
    case 'ok':
      res.end('ok');
      return;
    case 'ok-later':
      return sleep(wait).then(() => void res.end('ok'));
    case '500':
      res.statusCode = 500;
      res.end('no');
      return;
    case '503-later':
      return sleep(wait).then(() => {
        res.statusCode = 503;
        res.end('later');
      });
    case 'throw':
      throw failure(b);
    case 'reject':
      return sleep(wait).then(() => {
        throw failure(b);
      });
    case 'throw-after-head':
      res.writeHead(200);
      res.write('partial');
      throw failure(b);
    case 'reject-after-head':
      res.writeHead(200);
      res.write('partial');
      return sleep(wait).then(() => {
        throw failure(b);
      });
    case 'end-twice':
      res.end('once');
      res.end();
      return;
    case 'destroy':
      return sleep(wait).then(destroy);
    case 'hang':
      return new Promise<void>(() => {}); // the client gives up
  }
}

const planOf = (headers: import('node:http').IncomingHttpHeaders): Plan => JSON.parse(String(headers['x-plan'])) as Plan;

type Host = (obs: ReturnType<typeof observedEngine>, seen: Map<Decision, number>) => Promise<{ port: number; close: () => Promise<void> }>;

async function listen(server: Server): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: portOf(server), close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Express 5 or 4, as the README sets it up: the middleware, the handler, `gs.errors`; Express 4 passes async failures to `next`. */
const expressHost = (make: typeof express | typeof express4, catchesRejections: boolean): Host => async (obs, seen) => {
  const app = make();
  app.set('env', 'test'); // Express's final handler logs each error's stack otherwise
  const gs = gearshift(obs.engine);
  app.use(gs);
  app.use((req, res, next) => {
    if (req.gearshift) seen.set(req.gearshift, Number(req.headers['x-req']));
    const done = act(planOf(req.headers), res, () => req.socket.destroy());
    if (done && !catchesRejections) done.catch(next);
    return done;
  });
  app.use(gs.errors);
  return listen(createServer(app));
};

const HOSTS: [string, Host][] = [
  [
    'node:http',
    async (obs, seen) =>
      listen(
        createServer(
          withGearshift(
            obs.engine,
            (req, res) => {
              if (req.gearshift) seen.set(req.gearshift, Number(req.headers['x-req']));
              return act(planOf(req.headers), res, () => req.socket.destroy());
            },
            { onError: () => {} },
          ),
        ),
      ),
  ],
  ['Express 5', expressHost(express, true)],
  ['Express 4', expressHost(express4, false)],
  [
    'Fastify',
    async (obs, seen) => {
      const app = Fastify();
      await app.register(gearshiftPlugin, { engine: obs.engine });
      app.get('/*', async (request, reply: FastifyReply) => {
        if (request.gearshift) seen.set(request.gearshift, Number(request.headers['x-req']));
        // Fastify answers through `reply` and takes what an async handler throws; what a handler does to the raw
        // response (a head sent early, a socket destroyed, an answer never given) it does to reply.raw.
        const plan = planOf(request.headers);
        const { behaviour: b, wait } = plan;
        if (b === 'ok' || b === 'end-twice') {
          reply.send('ok');
          if (b === 'end-twice') reply.send('again'); // Fastify refuses it (a warning to its logger, not a throw)
          return reply;
        }
        if (b === 'ok-later' || b === '503-later') {
          await sleep(wait);
          return reply.code(b === 'ok-later' ? 200 : 503).send('later');
        }
        if (b === '500') return reply.code(500).send('no');
        if (b === 'throw') throw failure(b);
        if (b === 'reject') {
          await sleep(wait);
          throw failure(b);
        }
        if (b === 'destroy' || b === 'hang') reply.hijack(); // the handler owns the response from here
        await act(plan, reply.raw, () => request.raw.socket.destroy());
        return reply;
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
    },
  ],
];

/** Sends one planned request on its own connection; a `hang` is given up after 30 ms, anything else after 2 s. */
function send(port: number, i: number, plan: Plan): Promise<number> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'x-req': String(i), 'x-plan': JSON.stringify(plan), 'x-gearshift-unit': `u-${i}` };
    if (plan.scene) headers['x-gearshift-scene'] = 'feed';
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
      res.on('aborted', () => resolve(-1));
    });
    req.on('error', () => resolve(-1)); // a cut connection
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve(-2);
    }, plan.behaviour === 'hang' ? 30 : 2000);
  });
}

describe('misbehaving handlers', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });

  it.each(HOSTS)('%s: nothing escapes, every decision is recorded once, with the outcome its handler implies', async (name, host) => {
    const obs = observedEngine();
    // Windows longer than any run (a scaled one may outlast the default 10 s), so that the figures checked below keep every request.
    obs.engine.reload({ ...adapterConfig(['feed', 'search']), sense: { outcomes: { slotMs: 600_000 } } });
    const seen = new Map<Decision, number>();
    const { port, close } = await host(obs, seen);
    closers.push(close);
    const r = new Rng(FUZZ_SEED ^ (name.length * 7919));
    const n = fuzzCases(66);
    const plans: Plan[] = Array.from({ length: n }, (_, i) => ({
      behaviour: i < BEHAVIOURS.length * 2 ? BEHAVIOURS[i % BEHAVIOURS.length]! : r.pick(BEHAVIOURS), // each at least twice
      wait: 1 + r.int(15),
      scene: i < BEHAVIOURS.length || r.chance(0.75), // each with a scene at least once; some without any
    }));
    for (let at = 0; at < n; at += 11) await Promise.all(plans.slice(at, at + 11).map((plan, k) => send(port, at + k, plan)));

    // Every decision recorded exactly once (the engine refuses a second record), none left over.
    await waitFor(() => obs.recorded().length >= obs.engine.routeCounts().decisions);
    await sleep(50); // a late second record would show here
    expect(obs.recorded().length).toBe(obs.engine.routeCounts().decisions);
    // ...and sensing counted each one: feed's figures merge its versions and its rejections.
    expect(obs.engine.stats('feed')!.count).toBe(obs.recorded().filter((c) => c.decision.scene === 'feed').length);
    // The fuzz reached the handlers: on a loaded machine a client may give up (a `hang` after 30 ms) before the server
    // has even read its request, so not every planned request gets that far, but most must.
    const planned = plans.filter((p) => p.scene).length;
    expect(seen.size).toBeLessThanOrEqual(planned);
    expect(seen.size).toBeGreaterThan(planned / 2);
    for (const c of obs.recorded()) {
      const i = seen.get(c.decision);
      if (i === undefined) {
        // Decided, but its client left before the handler ran (a loaded machine): a client abort, or too slow.
        expect(['clientAbort', 'timeout'], `${name}: a decision no handler saw, recorded as ${c.outcome}`).toContain(c.outcome);
        continue;
      }
      const plan = plans[i]!;
      const allowed = [...EXPECTED[plan.behaviour], 'timeout'];
      expect(allowed, `${replay(name, i)}: ${plan.behaviour} recorded as ${c.outcome}`).toContain(c.outcome);
    }
    // And the server still answers an ordinary request.
    expect(await send(port, n, { behaviour: 'ok', wait: 0, scene: true })).toBe(200);
  });
});
