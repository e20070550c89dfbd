/**
 * Who ended an unfinished response: the server (it destroyed the response or its socket: a failed stream, a bare
 * `res.destroy()`, its own socket timeout) or the client (it closed or reset its connection). The first is the server
 * failing to serve, an error; the second a client abort. At the socket's close, a client that left has ended its side
 * (a FIN) or broken it (a reset); a socket the server destroyed has neither.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { withGearshift } from '../src/adapters/http.js';
import { closeAll, get, observedEngine, portOf, waitFor } from './adapters-helpers.js';

const H = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
const HEAD = 'GET / HTTP/1.1\r\nhost: x\r\nx-gearshift-scene: feed\r\nx-gearshift-unit: bob\r\n\r\n';

const servers: Server[] = [];
const apps: FastifyInstance[] = [];
afterEach(() => closeAll(servers, apps));

/** A Fastify app with gearshift and `routes`, listening on loopback. */
async function fastifyWith(routes: (app: FastifyInstance) => void) {
  const obs = observedEngine();
  const app = Fastify();
  apps.push(app);
  await app.register(gearshiftPlugin, { engine: obs.engine });
  routes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { ...obs, port: (app.server.address() as { port: number }).port };
}

type Handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

/** One server per adapter, each serving `handler` on `/`; resolves with its port and its engine's records. */
const hosts: Record<string, (handler: Handler) => Promise<{ port: number; outcomes: () => string[]; routed: () => number }>> = {
  'node:http': async (handler) => {
    const obs = observedEngine();
    const server = createServer(withGearshift(obs.engine, handler));
    return { port: await listen(server), ...records(obs) };
  },
  express: async (handler) => {
    const obs = observedEngine();
    const app = express();
    app.use(gearshift(obs.engine));
    app.get('/', (req, res) => handler(req, res));
    return { port: await listen(createServer(app)), ...records(obs) };
  },
  fastify: async (handler) => {
    const f = await fastifyWith((app) =>
      app.get('/', (request, reply) => {
        reply.hijack();
        handler(request.raw, reply.raw);
      }),
    );
    return { port: f.port, ...records(f) };
  },
};

const records = (obs: ReturnType<typeof observedEngine>) => ({
  outcomes: () => obs.recorded().map((c) => c.outcome),
  routed: () => obs.engine.routeCounts().decisions,
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
}

/** Sends one request over a raw connection and leaves once the server has routed it: `end` (a FIN) or `reset` (an RST). */
async function leave(port: number, how: 'end' | 'reset', routed: () => boolean): Promise<void> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  sock.write(HEAD);
  await waitFor(routed);
  if (how === 'reset') sock.resetAndDestroy();
  else sock.destroy();
}

const outcomeOf = async (h: { outcomes: () => string[] }) => {
  await waitFor(() => h.outcomes().length > 0, 2000).catch(() => undefined);
  return h.outcomes();
};

for (const [name, host] of Object.entries(hosts)) {
  describe(name, () => {
    it('records a response the server destroyed mid-body without a reason as an error', async () => {
      const h = await host((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part 1\n');
        setTimeout(() => res.destroy(), 20);
      });
      await get(h.port, '/', H).catch(() => undefined);
      expect(await outcomeOf(h)).toEqual(['error']);
    });

    it('records a response cut by its own socket timeout as an error', async () => {
      const h = await host((req) => {
        req.setTimeout(20); // no listener: Node destroys the socket when it fires
      });
      await get(h.port, '/', H).catch(() => undefined);
      expect(await outcomeOf(h)).toEqual(['error']);
    });

    it('records a client that closed its connection, or reset it, as a client abort', async () => {
      const h = await host((_req, res) => {
        res.writeHead(200);
        res.write('part 1\n');
        setTimeout(() => res.end('late'), 150);
      });
      await leave(h.port, 'end', () => h.routed() === 1);
      await leave(h.port, 'reset', () => h.routed() === 2);
      await waitFor(() => h.outcomes().length === 2, 2000).catch(() => undefined);
      expect(h.outcomes()).toEqual(['clientAbort', 'clientAbort']);
    });
  });
}

describe('fastify', () => {
  it('records a reply streamed from a source that fails after the headers as an error (Fastify destroys the response without a reason)', async () => {
    const obs = await fastifyWith((app) =>
      app.get('/', (_request, reply) => {
        const body = new PassThrough();
        body.write('chunk 1\n');
        setTimeout(() => body.destroy(new Error('upstream reset')), 20);
        return reply.type('text/plain').send(body);
      }),
    );
    await get(obs.port, '/', H).catch(() => undefined);
    await waitFor(() => obs.recorded().length > 0, 2000).catch(() => undefined);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['error']);
  });

  it('still records a stream that ends normally as a success', async () => {
    const obs = await fastifyWith((app) => app.get('/', (_request, reply) => reply.type('text/plain').send(Readable.from(['a', 'b']))));
    expect((await get(obs.port, '/', H)).body).toBe('ab');
    await waitFor(() => obs.recorded().length > 0, 2000).catch(() => undefined);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['success']);
  });
});

describe('a long-lived response settled early (server-sent events)', () => {
  it('is recorded once, when the handler settles it, not as a timeout or a client abort when the client leaves later', async () => {
    const obs = await fastifyWith((app) =>
      app.get('/events', (request, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
        reply.raw.write('data: first\n\n');
        obs.engine.complete(request.gearshift!, 'success'); // the stream has started: that is the answer
        const tick = setInterval(() => reply.raw.write('data: more\n\n'), 50); // well past the 200 ms budget
        reply.raw.on('close', () => clearInterval(tick));
      }),
    );
    const sock = connect(obs.port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write(HEAD.replace('GET / ', 'GET /events '));
    let received = '';
    sock.on('data', (c: Buffer) => (received += c.toString()));
    await waitFor(() => received.split('data: more').length > 6, 3000); // 300 ms and more of events
    sock.destroy();
    await waitFor(() => obs.completions.length > 1, 500).catch(() => undefined); // the close tries again, in vain
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['success']);
    expect(obs.engine.stats('feed')).toMatchObject({ success: 1, timeout: 0, clientAbort: 0 });
  });
});
