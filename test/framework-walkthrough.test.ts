/**
 * Walking gearshift into real services (Express 4 and 5, Fastify 5, node:http): situations a real app runs into,
 * where what the adapter records, or the signal it hands out, is not what happened. Each test fails on the code it
 * was written against and states what the adapter promises.
 */
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { PassThrough, pipeline } from 'node:stream';
import express5 from 'express';
import express4 from 'express4';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { withGearshift } from '../src/adapters/http.js';
import { abortAfter, closeAll, get, observedEngine, portOf, sleep, waitFor } from './adapters-helpers.js';

const H = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };

const servers: Server[] = [];
const apps: FastifyInstance[] = [];
afterEach(() => closeAll(servers, apps));

async function listenNode(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
}

async function listenFastify(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

/** Waits for `pred`, without failing here: the assertion after it says what was expected. */
const settle = (pred: () => boolean, ms = 1000) => waitFor(pred, ms).catch(() => undefined);

/** A POST with a JSON body over its own connection. */
function postJson(port: number, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The name of the reason `signal` aborts with within `ms`, or 'never aborted'. */
function abortReason(signal: AbortSignal, ms: number): Promise<string> {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve((signal.reason as DOMException).name));
    setTimeout(() => resolve('never aborted'), ms);
  });
}

/** Sends `head` (and what body it holds) over a raw connection, waits until the request is routed, then `ms` more, and leaves. */
async function leaveAfterRouting(port: number, engine: { routeCounts(): { decisions: number } }, head: string, ms: number): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.write(head);
  await waitFor(() => engine.routeCounts().decisions === 1);
  await sleep(ms);
  sock.destroy();
}

/** An upstream that sends a little, then fails (a reset connection, a failing S3 read). */
function failingUpstream(): PassThrough {
  const s = new PassThrough();
  s.write('chunk-1\n');
  setTimeout(() => s.destroy(new Error('upstream reset')), 20);
  return s;
}

describe('Fastify', () => {
  async function build(routes: (app: FastifyInstance) => void, before?: (app: FastifyInstance) => void) {
    const obs = observedEngine();
    const app = Fastify();
    apps.push(app);
    before?.(app);
    await app.register(gearshiftPlugin, { engine: obs.engine });
    routes(app);
    return { ...obs, app, port: await listenFastify(app) };
  }

  it('request.gearshiftSignal fires at the RT budget on a POST whose body Fastify has read', async () => {
    // README: "the signal aborts at the RT budget". The signal's `close` source is the raw request, which closes as
    // soon as its body has been consumed: that clears the deadline timer, so a POST handler's signal never fires.
    let reason = 'never aborted';
    const s = await build((app) => {
      app.post('/wait', async (request) => {
        reason = await abortReason(request.gearshiftSignal, 400); // well past the 50 ms budget of `search`
        return { reason };
      });
    });
    const r = await postJson(s.port, '/wait', { 'x-gearshift-scene': 'search' }, '{"q":"shoes"}');
    expect(r.status).toBe(200);
    expect(reason).toBe('TimeoutError');
  });

  it('request.gearshiftSignal aborts when the client leaves during a POST handler', async () => {
    let reason = 'never aborted';
    const s = await build((app) => {
      app.post('/wait', async (request) => {
        reason = await abortReason(request.gearshiftSignal, 150); // within the 200 ms budget of `feed`
        return 'done';
      });
    });
    await leaveAfterRouting(s.port, s.engine, 'POST /wait HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 7\r\nx-gearshift-scene: feed\r\n\r\n{"a":1}', 30);
    await settle(() => s.recorded().length === 1 && reason !== 'never aborted');
    expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
    expect(reason).toBe('AbortError');
  });

  it('records a hijacked reply answered with reply.raw.end(await …) when it answers, not when the keep-alive connection closes', async () => {
    // The node:http adapter was fixed for exactly this pattern (README, "Responses that end later"); on Fastify the
    // handler reads `reply.raw.end` before the hook shadows it, so the answer is recorded only at the socket's close,
    // with the connection's lifetime as its RT: a 5 ms answer counts as a timeout.
    const s = await build((app) => {
      app.get('/raw', async (_request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/plain' });
        reply.raw.end(await sleep(5).then(() => 'hi'));
      });
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(s.port, '/raw', H, agent)).body).toBe('hi');
      await settle(() => s.recorded().length === 1, 500);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['success']);
    } finally {
      agent.destroy();
    }
    await settle(() => s.recorded().length === 1);
    expect(s.engine.stats('feed')!.timeout).toBe(0);
  });

  it('records a client that left during an earlier async onRequest hook as a client abort, not a success', async () => {
    // README (Fastify): "closed before the response was ended → client abort". The socket closed before gearshift's
    // hook ran, so the watch it adds never hears the close, and the handler's end() on the dead socket reads as 200.
    let entered = false;
    const s = await build(
      (app) => {
        app.get('/', async () => {
          await sleep(20);
          return 'late';
        });
      },
      (app) => {
        app.addHook('onRequest', async () => {
          entered = true;
          await sleep(80); // an auth or session look-up
        });
      },
    );
    await abortAfter(s.port, '/', H, 5, () => entered);
    await settle(() => s.recorded().length === 1);
    await sleep(150);
    expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
  });
});

describe('Fastify errors and statuses (fixed with the walkthrough)', () => {
  it('records a thrown server error as an error even when an error handler answers 200, and a 400 as served', async () => {
    const obs = observedEngine();
    const app = Fastify();
    apps.push(app);
    await app.register(gearshiftPlugin, { engine: obs.engine });
    app.setErrorHandler((_err, _request, reply) => reply.code(200).send({ fallback: true }));
    app.get('/boom', async () => {
      throw new Error('ranker down');
    });
    app.post('/strict', { schema: { body: { type: 'object', required: ['q'] } } }, async () => 'ok');
    expect((await app.inject({ method: 'GET', url: '/boom', headers: H })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/strict', headers: H, payload: {} })).statusCode).toBe(200); // the handler above answers it 200 too
    await settle(() => obs.recorded().length === 2);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['error', 'success']); // the validation error is the client's
  });
});

describe('a status a proxy passes on', () => {
  it("records nginx's 499 (client closed request) as a client abort", async () => {
    const { createGateway } = await import('../src/adapters/gateway.js');
    const obs = observedEngine();
    const gw = createGateway(obs.engine);
    gw.begin('feed', 'bob').done(499);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
  });
});

for (const [major, express] of [
  ['4', express4],
  ['5', express5],
] as const) {
  describe(`Express ${major}`, () => {
    async function serve(setup: (app: ReturnType<typeof express5>, mw: ReturnType<typeof gearshift>) => void) {
      const obs = observedEngine();
      const app = express() as ReturnType<typeof express5>;
      const mw = gearshift(obs.engine);
      setup(app, mw);
      const server = createServer(app);
      return { ...obs, mw, port: await listenNode(server) };
    }

    it('records a request whose client left during an earlier async middleware, exactly once', async () => {
      // An async middleware before gearshift (auth, session store): the client goes away while it waits. The
      // response watch is parked on a socket that has already closed, so the decision is never recorded.
      let entered = false;
      const s = await serve((app, mw) => {
        app.use((_req, _res, next) => {
          entered = true;
          setTimeout(next, 80);
        });
        app.use(mw);
        app.get('/', (_req, res) => {
          setTimeout(() => res.send('late'), 20);
        });
      });
      await abortAfter(s.port, '/', H, 5, () => entered);
      await settle(() => s.recorded().length === 1);
      await sleep(150);
      expect(s.engine.routeCounts().decisions).toBe(1);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
    });

    for (const withErrors of [false, true]) {
      it(`records a client that aborts mid-body as a client abort${withErrors ? ' (with gs.errors)' : ''}`, async () => {
        // body-parser answers the aborted read with a 400 on the dead socket: recorded as success (by the 400), or
        // with gs.errors as a handler error. The brief and README: closed before finishing → client abort.
        const s = await serve((app, mw) => {
          app.use(mw);
          app.use(express.json());
          app.post('/p', (_req, res) => res.json({ ok: true }));
          if (withErrors) app.use(mw.errors);
        });
        await leaveAfterRouting(s.port, s.engine, 'POST /p HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nx-gearshift-scene: feed\r\n\r\n{"a":', 20);
        await settle(() => s.recorded().length === 1);
        await sleep(50);
        expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
        expect(s.engine.stats('feed')).toMatchObject({ clientAbort: 1, success: 0, error: 0 });
      });
    }

    it('gs.errors does not count a client error (400 from a malformed JSON body) as a server error', async () => {
      // Outcome classes: error = "the handler threw or answered 5xx". body-parser's error carries status 400.
      const s = await serve((app, mw) => {
        app.use(mw);
        app.use(express.json());
        app.post('/p', (_req, res) => res.json({ ok: true }));
        app.use(mw.errors);
      });
      const r = await postJson(s.port, '/p', H, '{not json');
      expect(r.status).toBe(400);
      await settle(() => s.recorded().length === 1);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['success']);
      expect(s.engine.stats('feed')!.error).toBe(0);
    });

    it('records a response the server cut because its upstream failed mid-stream as an error, not a client abort', async () => {
      const s = await serve((app, mw) => {
        app.use(mw);
        app.get('/proxy', (_req, res) => {
          res.type('text/plain');
          pipeline(failingUpstream(), res, () => undefined);
        });
      });
      await get(s.port, '/proxy', H).catch(() => undefined); // the client sees a cut response
      await settle(() => s.recorded().length === 1);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['error']);
      expect(s.engine.stats('feed')).toMatchObject({ error: 1, clientAbort: 0 });
    });

    it('keeps req.gearshift when a later middleware merges into res.locals; replacing it loses the decision, not the record', async () => {
      // A common pattern: `res.locals = { user, csrfToken }` for the templates. The decision lives in res.locals (one
      // dictionary store, where any other place costs Express thousands of instructions per request: see
      // express-access.ts), so a replacement takes it along. Documented (README, Express); the outcome is still
      // recorded, exactly once, since the middleware keeps its own reference. Merging keeps everything.
      const s = await serve((app, mw) => {
        app.use(mw);
        app.use((req, res, next) => {
          if (req.path === '/merged') Object.assign(res.locals, { user: 'u-17' });
          else res.locals = { user: 'u-17' };
          next();
        });
        for (const path of ['/', '/merged']) app.get(path, (req, res) => res.json({ version: req.gearshift?.version ?? null, finite: Number.isFinite(mw.remainingMs(req)) }));
      });
      expect(JSON.parse((await get(s.port, '/merged', H)).body)).toEqual({ version: 'main', finite: true });
      expect(JSON.parse((await get(s.port, '/', H)).body)).toEqual({ version: null, finite: false });
      await settle(() => s.recorded().length === 2);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['success', 'success']);
    });
  });
}

describe('node:http', () => {
  it('records a response the server cut because its upstream failed mid-stream as an error, not a client abort', async () => {
    const obs = observedEngine();
    const port = await listenNode(
      createServer(
        withGearshift(obs.engine, (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          pipeline(failingUpstream(), res, () => undefined);
        }),
      ),
    );
    await get(port, '/', H).catch(() => undefined);
    await settle(() => obs.recorded().length === 1);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['error']);
    expect(obs.engine.stats('feed')).toMatchObject({ error: 1, clientAbort: 0 });
  });
});
