import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type FastifyGearshiftOptions, gearshiftPlugin } from '../src/adapters/fastify.js';
import { Trust } from '../src/adapters/trust.js';
import { abortAfter, get, KEY, observedEngine, sleep, waitFor } from './adapters-helpers.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function build(options: Omit<FastifyGearshiftOptions, 'engine'> = {}, routes?: (app: FastifyInstance) => void) {
  const obs = observedEngine();
  const app = Fastify();
  apps.push(app);
  await app.register(gearshiftPlugin, { engine: obs.engine, ...options });
  if (routes) routes(app);
  else {
    app.get('/', async (request) => {
      const d = request.gearshift;
      return d ? { version: d.version, reason: d.reason, depth: d.param('depth') } : { none: true };
    });
    app.get('/s/:scene', async (request) => ({ scene: request.gearshift?.scene, version: request.gearshift?.version }));
    app.get('/health', { config: { gearshift: false } }, async (request) => ({ decided: request.gearshift !== null }));
    app.get('/fixed', { config: { gearshift: { scene: 'search' } } }, async (request) => ({ scene: request.gearshift?.scene }));
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/slow', async () => {
      await sleep(300);
      return 'late';
    });
  }
  return { ...obs, app };
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as { port: number }).port;
}

describe('Fastify plugin', () => {
  it('is a named fastify-plugin for Fastify 5', () => {
    const meta = (gearshiftPlugin as unknown as Record<symbol, { name: string; fastify: string }>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ name: 'gearshift', fastify: '5.x' });
  });

  it('refuses to register without an engine', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(gearshiftPlugin, {} as FastifyGearshiftOptions).ready()).rejects.toThrow(/engine/);
  });

  it('refuses a second registration on one app through ready(), not by ending the process', async () => {
    const { engine } = observedEngine();
    const app = Fastify();
    apps.push(app);
    app.register(gearshiftPlugin, { engine });
    app.register(async (child) => void child.register(gearshiftPlugin, { engine, scene: { value: 'feed' } }));
    await expect(app.ready()).rejects.toThrow(/^gearshift\/fastify: registered twice on one app/);
    engine.close();
  });

  it("refuses a misspelt option, and accepts Fastify's own register options beside its own", async () => {
    const { engine } = observedEngine();
    const bad = Fastify();
    apps.push(bad);
    await expect(bad.register(gearshiftPlugin, { engine, debugheaders: true } as never).ready()).rejects.toThrow(/^debugheaders: unknown option/);
    const good = Fastify();
    apps.push(good);
    await good.register(gearshiftPlugin, { engine, logLevel: 'warn', debugHeaders: false } as never).ready();
    engine.close();
  });

  it('routes, decorates request.gearshift and records success once', async () => {
    const { app, recorded } = await build();
    const r = await app.inject({ url: '/', headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' } });
    expect(r.json()).toEqual({ version: 'wip', reason: 'whitelist', depth: 100 });
    expect(recorded()).toHaveLength(1);
    expect(recorded()[0]).toMatchObject({ outcome: 'success' });
  });

  it('skips routes with config.gearshift=false and fixes the scene per route', async () => {
    const { app, completions } = await build();
    expect((await app.inject({ url: '/health', headers: { 'x-gearshift-scene': 'nope' } })).json()).toEqual({ decided: false });
    expect((await app.inject({ url: '/fixed', headers: { 'x-gearshift-scene': 'feed' } })).json()).toEqual({ scene: 'search' });
    expect((await app.inject({ url: '/s/feed', headers: { 'x-gearshift-scene': 'search' } })).json()).toEqual({ scene: 'search', version: 'v1' });
    expect(completions.filter((c) => c.recorded)).toHaveLength(2);
  });

  it('refuses a route with a malformed config.gearshift when it is declared, naming the route', async () => {
    const { app } = await build({}, () => undefined);
    expect(() => app.get('/bad', { config: { gearshift: { scene: 42 } as unknown as { scene: string } } }, async () => 'unreachable')).toThrow(
      /route GET \/bad: config\.gearshift must be false or \{ scene: string \}/,
    );
    expect(() => app.get('/empty', { config: { gearshift: {} as unknown as { scene: string } } }, async () => 'unreachable')).toThrow(/route GET \/empty/);
  });

  it('answers a malformed route declared before the plugin (unseen at declaration) with a clear 500, recording nothing', async () => {
    const obs = observedEngine();
    const app = Fastify();
    apps.push(app);
    app.get('/bad', { config: { gearshift: { scene: 42 } as unknown as { scene: string } } }, async () => 'unreachable');
    app.get('/ok', async (request) => request.gearshift?.scene ?? 'none');
    await app.register(gearshiftPlugin, { engine: obs.engine });
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
    const r = await app.inject({ url: '/bad', headers });
    expect(r.statusCode).toBe(500);
    expect(r.json().message).toMatch(/route GET \/bad: config\.gearshift must be false or \{ scene: string \}/);
    expect(obs.recorded()).toHaveLength(0);
    expect((await app.inject({ url: '/ok', headers })).body).toBe('feed');
  });

  it('reads a path parameter scene', async () => {
    const { app } = await build({ scene: { param: 'scene' } });
    expect((await app.inject({ url: '/s/feed' })).json()).toEqual({ scene: 'feed', version: 'main' });
  });

  it('rejects unknown and not-deployed scenes with prebuilt JSON, recorded once', async () => {
    const { app, recorded, completions } = await build();
    const r = await app.inject({ url: '/', headers: { 'x-gearshift-scene': 'nope' } });
    expect([r.statusCode, r.json().error, r.headers['content-type']]).toEqual([404, 'unknown_scene', 'application/json; charset=utf-8']);
    const e = await app.inject({ url: '/', headers: { 'x-gearshift-scene': 'elsewhere' } });
    expect([e.statusCode, e.json().error]).toEqual([421, 'not_deployed']);
    expect(recorded().map((c) => c.outcome)).toEqual(['rejected', 'rejected']);
    expect(completions).toHaveLength(2); // the close of a rejected response does not try again
  });

  it('records a synchronous answer as the hook chain returns, an asynchronous one right after its end() (no close listener)', async () => {
    const atFinish: number[] = [];
    const { app, recorded } = await build({}, (a) => {
      a.get('/sync', (_request, reply) => {
        reply.code(503).send('busy');
      });
      a.get('/async', async () => {
        await sleep(5);
        return 'later';
      });
      a.addHook('onResponse', async () => {
        atFinish.push(recorded().length); // onResponse runs at 'finish', before 'close'
      });
    });
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
    const port = await listen(app); // over real HTTP: inject's response emits 'finish' inside end()
    expect((await get(port, '/sync', headers)).status).toBe(503);
    expect(atFinish).toEqual([1]); // recorded before the response even finished
    expect(recorded()[0]).toMatchObject({ outcome: 'error' });
    expect((await get(port, '/async', headers)).status).toBe(200);
    await waitFor(() => recorded().length === 2);
    expect(atFinish).toEqual([1, 2]); // the async one was recorded inside end(), before its finish
    expect(recorded()[1]).toMatchObject({ outcome: 'success' });
  });

  it('records a handler error once', async () => {
    const { app, recorded } = await build();
    expect((await app.inject({ url: '/boom', headers: { 'x-gearshift-scene': 'feed' } })).statusCode).toBe(500);
    expect(recorded().map((c) => c.outcome)).toEqual(['error']);
  });

  it('adds debug headers only when asked', async () => {
    const off = await build();
    expect((await off.app.inject({ url: '/', headers: { 'x-gearshift-scene': 'feed' } })).headers['x-gearshift-version']).toBeUndefined();
    const on = await build({ debugHeaders: true });
    const r = await on.app.inject({ url: '/', headers: { 'x-gearshift-scene': 'feed' } });
    expect([r.headers['x-gearshift-version'], r.headers['x-gearshift-reason']]).toEqual(['main', 'no_unit']);
    // a unit routed by the split also gets its bucket
    const split = await on.app.inject({ url: '/', headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' } });
    const d = on.recorded()[1]!.decision;
    expect(d.reason).toBe('split');
    expect(split.headers['x-gearshift-bucket']).toBe(String(d.bucket));
  });

  it('records a client abort once, over real HTTP', async () => {
    const { app, recorded, completions, engine } = await build();
    const port = await listen(app);
    await abortAfter(port, '/slow', { 'x-gearshift-scene': 'feed' }, 40, () => engine.routeCounts().decisions === 1);
    await waitFor(() => recorded().length === 1);
    await sleep(350);
    expect(recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
    expect(completions.filter((c) => c.recorded)).toHaveLength(1);
  });

  it('gives the handler a lazy signal: deadline → TimeoutError, recorded as timeout', async () => {
    const { app, recorded, engine } = await build({}, (a) => {
      a.get('/wait', (request, reply) => {
        const before = request.gearshiftRemainingMs;
        const signal = request.gearshiftSignal;
        expect(request.gearshiftSignal).toBe(signal);
        signal.addEventListener('abort', () => {
          void reply.send({ before, after: request.gearshiftRemainingMs, reason: (signal.reason as DOMException).name });
        });
      });
    });
    const port = await listen(app);
    const r = JSON.parse((await get(port, '/wait', { 'x-gearshift-scene': 'search' })).body);
    expect(r.reason).toBe('TimeoutError');
    expect(r.before).toBeGreaterThan(30);
    expect(r.after).toBeLessThanOrEqual(50 - 20); // read at the deadline: the time since the decision counts
    await waitFor(() => recorded().length === 1);
    expect(recorded()[0]!.outcome).toBe('timeout');
    expect(engine.stats('search')!.timeout).toBe(1);
  });

  it('aborts the signal when the client goes away', async () => {
    let reason = '';
    const { app, engine } = await build({}, (a) => {
      a.get('/wait', (request) => {
        const signal = request.gearshiftSignal;
        signal.addEventListener('abort', () => {
          reason = (signal.reason as DOMException).name;
        });
        return new Promise(() => {}); // never answers
      });
    });
    const port = await listen(app);
    await abortAfter(port, '/wait', { 'x-gearshift-scene': 'feed' }, 30, () => engine.routeCounts().decisions === 1);
    await waitFor(() => reason !== '');
    expect(reason).toBe('AbortError');
  });

  it('leaves the signal alone when the response ends normally', async () => {
    let signal: AbortSignal | undefined;
    let closed = false;
    const { app, recorded } = await build({}, (a) => {
      a.get('/', async (request) => {
        signal = request.gearshiftSignal;
        request.raw.once('close', () => (closed = true)); // the signal watches the raw request's close
        return 'done';
      });
    });
    const port = await listen(app);
    expect((await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' })).body).toBe('done');
    await waitFor(() => closed && recorded().length === 1);
    expect(recorded()[0]!.outcome).toBe('success');
    expect(signal!.aborted).toBe(false); // a close after the answer is no client abort
  });

  describe('spoofing', () => {
    it('ignores an explicit version and load-test marker from an untrusted peer, and counts them', async () => {
      const { app, engine } = await build({ trust: { proxies: ['10.0.0.0/8'] } });
      const r = await app.inject({ url: '/', remoteAddress: '203.0.113.9', headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip', 'x-gearshift-load-test': '1' } });
      expect(r.json().version).toBe('main');
      expect(engine.routeCounts().ignored).toMatchObject({ untrustedVersion: 1, untrustedLoadTest: 1 });
      expect(app.gearshiftAdapter.trustCounts().untrusted).toBe(1);
      const viaProxy = await app.inject({ url: '/', remoteAddress: '10.1.1.1', headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip' } });
      expect(viaProxy.json().version).toBe('wip');
    });

    it('honours only valid signed tokens for the right scene', async () => {
      const trust = new Trust({ keys: [KEY] });
      const { app } = await build({ trust });
      const good = trust.sign({ scene: 'feed', version: 'wip' });
      const url = '/';
      expect((await app.inject({ url, headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-hint': good } })).json().version).toBe('wip');
      expect((await app.inject({ url, headers: { 'x-gearshift-scene': 'search', 'x-gearshift-hint': good } })).json().version).toBe('v1');
      const forged = new Trust({ keys: ['x'.repeat(32)] }).sign({ scene: 'feed', version: 'wip' });
      expect((await app.inject({ url, headers: { 'x-gearshift-scene': 'feed', 'x-gearshift-hint': forged } })).json().version).toBe('main');
      expect(trust.counts()).toMatchObject({ signed: 1, refused: { scene_mismatch: 1, bad_signature: 1 } });
    });
  });
});
