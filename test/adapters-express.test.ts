import { Agent, type Server } from 'node:http';
import { connect } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { Trust } from '../src/adapters/trust.js';
import { Ignored } from '../src/route/decision.js';
import { abortAfter, get, KEY, observedEngine, portOf, sleep, waitFor } from './adapters-helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

for (const [major, express] of [
  ['4', express4],
  ['5', express5],
] as const) {
  describe(`Express ${major}`, () => {
    async function serve(options: Parameters<typeof gearshift>[1] = {}, routes?: (app: ReturnType<typeof express>, mw: ReturnType<typeof gearshift>) => void) {
      const obs = observedEngine();
      const app = express();
      const mw = gearshift(obs.engine, options);
      if (routes) routes(app, mw);
      else {
        app.use(mw);
        app.get('/', (req, res) => {
          const d = req.gearshift;
          res.json(d ? { version: d.version, reason: d.reason, depth: d.param('depth'), ignored: d.ignored } : null);
        });
        app.get('/boom', () => {
          throw new Error('boom');
        });
        app.get('/slow', (_req, res) => {
          setTimeout(() => {
            if (!res.destroyed) res.send('late');
          }, 300);
        });
      }
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      servers.push(server);
      return { ...obs, port: portOf(server), mw };
    }

    it('keeps the decision off the request object: an accessor on the Express request prototype, not a property per request', async () => {
      let own: boolean | undefined;
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/', (req, res) => {
          own = Object.prototype.hasOwnProperty.call(req, 'gearshift');
          res.json({ version: req.gearshift?.version });
        });
        app.get('/later', (req, res) => {
          req.gearshift = null; // a write goes through the accessor too
          res.json({ cleared: req.gearshift === null });
        });
      });
      expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed' })).body).version).toBe('main');
      expect(own).toBe(false);
      expect(JSON.parse((await get(s.port, '/later', { 'x-gearshift-scene': 'feed' })).body)).toEqual({ cleared: true });
      expect('gearshift' in {}).toBe(false); // no shared prototype touched
    });

    it('keeps the decision in res.locals under a symbol: no key that templates or Object.keys would see', async () => {
      let seen: { keys: string[]; symbols: number } | undefined;
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/', (req, res) => {
          seen = { keys: Object.keys(res.locals), symbols: Object.getOwnPropertySymbols(res.locals).length };
          res.json({ version: req.gearshift?.version });
        });
      });
      expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed' })).body).version).toBe('main');
      expect(seen).toEqual({ keys: [], symbols: 1 });
    });

    it('still carries the decision when something took res.locals away', async () => {
      const s = await serve({}, (app, mw) => {
        app.use((_req, res, next) => {
          (res as { locals?: unknown }).locals = undefined;
          next();
        });
        app.use(mw);
        app.get('/', (req, res) => res.json({ version: req.gearshift?.version }));
      });
      expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed' })).body).version).toBe('main');
      await waitFor(() => s.recorded().length === 1);
      expect(s.recorded()[0]).toMatchObject({ outcome: 'success' });
    });

    it('reads headers the way req.headers would: an override on the prototype or on the request wins', async () => {
      const s = await serve({}, (app, mw) => {
        app.use((req, _res, next) => {
          if (req.path === '/own') Object.defineProperty(req, 'headers', { value: { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' } });
          next();
        });
        app.use(mw);
        app.get('/own', (req, res) => res.json({ version: req.gearshift?.version ?? null }));
      });
      expect(JSON.parse((await get(s.port, '/own', {})).body)).toEqual({ version: 'wip' }); // alice is whitelisted to wip

      const p = await serve({}, (app, mw) => {
        Object.defineProperty(app.request, 'headers', { get: () => ({ 'x-gearshift-scene': 'feed' }), configurable: true });
        app.use(mw);
        app.get('/', (req, res) => res.json({ version: req.gearshift?.version ?? null }));
      });
      expect(JSON.parse((await get(p.port, '/', {})).body)).toEqual({ version: 'main' });
    });

    it('keeps req.gearshift readable after a mounted sub-app hands the request back', async () => {
      const s = await serve({}, (app, mw) => {
        const sub = express();
        sub.use(mw);
        sub.get('/inner', (req, res) => res.json({ inner: req.gearshift?.version }));
        app.use('/sub', sub);
        app.use((req, res) => res.json({ after: req.gearshift?.version ?? 'missing' }));
      });
      expect(JSON.parse((await get(s.port, '/sub/inner', { 'x-gearshift-scene': 'feed' })).body)).toEqual({ inner: 'main' });
      expect(JSON.parse((await get(s.port, '/sub/other', { 'x-gearshift-scene': 'feed' })).body)).toEqual({ after: 'main' });
    });

    it('routes by header and puts the decision on req.gearshift', async () => {
      const s = await serve();
      const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ version: 'wip', reason: 'whitelist', depth: 100, ignored: 0 });
      expect(r.headers['x-gearshift-version']).toBeUndefined(); // debug headers off by default
      await waitFor(() => s.recorded().length === 1);
      expect(s.recorded()[0]).toMatchObject({ outcome: 'success' });
    });

    it('records a synchronous answer when next() returns, an asynchronous one when Node reports it finished (no close listener)', async () => {
      let atFinish = -1;
      const closeListeners: number[] = [];
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/sync', (_req, res) => {
          res.once('finish', () => (atFinish = s.recorded().length));
          res.status(503).send('busy');
        });
        app.get('/async', (_req, res) => {
          res.once('finish', () => (atFinish = s.recorded().length));
          setTimeout(() => {
            closeListeners.push(res.listenerCount('close'));
            res.send('later');
          }, 5);
        });
      });
      const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
      expect((await get(s.port, '/sync', headers)).status).toBe(503);
      expect(atFinish).toBe(1); // already recorded when the response finished
      await get(s.port, '/async', headers);
      await waitFor(() => s.recorded().length === 2);
      expect(atFinish).toBe(2); // Node's own finish handler (which publishes) runs before the handler's listener
      expect(closeListeners).toEqual([0]); // parked on its socket, not a listener of its own
      expect(s.recorded().map((c) => c.outcome)).toEqual(['error', 'success']);
    });

    it('records once per engine when two gearshift middlewares see one asynchronous request', async () => {
      const other = observedEngine();
      const s = await serve({}, (app, mw) => {
        app.use(gearshift(other.engine));
        app.use(mw);
        app.get('/', (_req, res) => {
          setTimeout(() => res.send('later'), 2);
        });
      });
      const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 3; i++) expect((await get(s.port, '/', headers, agent)).body).toBe('later');
      agent.destroy();
      await waitFor(() => s.recorded().length === 3 && other.recorded().length === 3);
      await sleep(20);
      expect([s.recorded().length, other.recorded().length]).toEqual([3, 3]); // once each, no more
      expect([...s.recorded(), ...other.recorded()].every((c) => c.outcome === 'success')).toBe(true);
    });

    it('records asynchronous answers over one keep-alive connection, and pipelined ones, once each', async () => {
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/hang', () => undefined); // never answers: recorded when the client goes away
        app.get('/:n', (req, res) => {
          setTimeout(() => res.send(req.params.n), req.params.n === 'a' ? 20 : 1);
        });
      });
      const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (const n of ['1', '2', '3']) expect((await get(s.port, `/${n}`, headers, agent)).body).toBe(n);
      agent.destroy();
      await waitFor(() => s.recorded().length === 3);
      const sock = connect(s.port, '127.0.0.1');
      const head = 'x-gearshift-scene: feed\r\nx-gearshift-unit: bob\r\nhost: x\r\n\r\n';
      sock.write(`GET /a HTTP/1.1\r\n${head}GET /b HTTP/1.1\r\n${head}GET /hang HTTP/1.1\r\n${head}`);
      let got = '';
      sock.on('data', (b) => (got += b.toString('latin1')));
      await waitFor(() => /\r\n\r\nb$/.test(got));
      await waitFor(() => s.recorded().length === 5);
      sock.destroy();
      await waitFor(() => s.recorded().length === 6);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['success', 'success', 'success', 'success', 'success', 'clientAbort']);
    });

    it('lets requests without a scene through, or rejects them when asked', async () => {
      const s = await serve();
      expect(JSON.parse((await get(s.port, '/')).body)).toBeNull();
      const strict = await serve({ missingScene: 'reject' });
      const r = await get(strict.port, '/');
      expect([r.status, JSON.parse(r.body).error]).toEqual([400, 'invalid_scene']);
    });

    it('refuses unknown and not-deployed scenes with prebuilt JSON, recorded as rejected', async () => {
      const s = await serve();
      const unknown = await get(s.port, '/', { 'x-gearshift-scene': 'nope' });
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse(unknown.body)).toMatchObject({ error: 'unknown_scene' });
      const elsewhere = await get(s.port, '/', { 'x-gearshift-scene': 'elsewhere' });
      expect([elsewhere.status, JSON.parse(elsewhere.body).error]).toEqual([421, 'not_deployed']);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['rejected', 'rejected']);
    });

    it('takes overrides for rejections', async () => {
      const s = await serve({ rejections: { unknown_scene: { status: 410, body: 'gone', headers: { 'X-Why': 'no' } } } });
      const r = await get(s.port, '/', { 'x-gearshift-scene': 'nope' });
      expect([r.status, r.body, r.headers['x-why'], r.headers['content-type']]).toEqual([410, 'gone', 'no', 'text/plain; charset=utf-8']);
    });

    it('reads the scene from a path parameter and the unit from a cookie', async () => {
      const s = await serve({ scene: { param: 'scene' }, unit: { cookie: 'uid' } }, (app, mw) => {
        // req.params without `?`: the middleware's generic signature leaves Express's request type to the next handler
        app.get('/s/:scene', mw, (req, res) => res.json({ scene: req.gearshift?.scene, param: req.params.scene, version: req.gearshift?.version }));
      });
      const r = await get(s.port, '/s/feed', { cookie: 'a=1; uid=alice' });
      expect(JSON.parse(r.body)).toEqual({ scene: 'feed', param: 'feed', version: 'wip' });
    });

    it('adds debug headers when asked', async () => {
      const s = await serve({ debugHeaders: true });
      const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed' });
      expect([r.headers['x-gearshift-scene'], r.headers['x-gearshift-version'], r.headers['x-gearshift-reason'], r.headers['x-gearshift-config']]).toEqual(['feed', 'main', 'no_unit', 'cfg-1']);
      // a unit routed by the split also gets its bucket
      const split = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' });
      await waitFor(() => s.recorded().length === 2);
      const d = s.recorded()[1]!.decision;
      expect(d.reason).toBe('split');
      expect(split.headers['x-gearshift-bucket']).toBe(String(d.bucket));
    });

    it('records a handler error once, with or without the error middleware', async () => {
      for (const withErrors of [false, true]) {
        const s = await serve({}, (app, mw) => {
          app.use(mw);
          app.get('/boom', () => {
            throw new Error('boom');
          });
          if (withErrors) app.use(mw.errors);
          app.use((_err: unknown, _req: unknown, res: { status(n: number): { send(s: string): void } }, _next: unknown) => res.status(200).send('handled'));
        });
        const r = await get(s.port, '/boom', { 'x-gearshift-scene': 'feed' });
        expect(r.status).toBe(200);
        await sleep(20);
        // without the error middleware the 200 from the user's handler reads as success; with it, error
        expect(s.recorded().map((c) => c.outcome)).toEqual([withErrors ? 'error' : 'success']);
      }
    });

    it('records a 500 from the default error handler as an error, once', async () => {
      const s = await serve();
      const r = await get(s.port, '/boom', { 'x-gearshift-scene': 'feed' });
      expect(r.status).toBe(500);
      await waitFor(() => s.completions.length > 0);
      await sleep(20);
      expect(s.recorded().map((c) => c.outcome)).toEqual(['error']);
    });

    it('records a client abort once', async () => {
      const s = await serve();
      await abortAfter(s.port, '/slow', { 'x-gearshift-scene': 'feed' }, 40, () => s.engine.routeCounts().decisions === 1);
      await waitFor(() => s.recorded().length === 1);
      await sleep(350); // the late handler finishes: nothing more is recorded
      expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
    });

    it('gives the handler a lazy AbortSignal that fires at the RT budget', async () => {
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/wait', (req, res) => {
          const before = mw.remainingMs(req);
          const signal = mw.signal(req);
          expect(mw.signal(req)).toBe(signal);
          signal.addEventListener('abort', () => res.json({ before, after: mw.remainingMs(req), reason: (signal.reason as DOMException).name }));
        });
      });
      const t = Date.now();
      const r = await get(s.port, '/wait', { 'x-gearshift-scene': 'search' }); // 50 ms budget
      const body = JSON.parse(r.body);
      expect(body.reason).toBe('TimeoutError');
      expect(body.before).toBeGreaterThan(40);
      expect(body.before).toBeLessThanOrEqual(50);
      expect(body.after).toBeLessThanOrEqual(50 - 20); // read at the deadline: the time since the decision counts
      expect(Date.now() - t).toBeGreaterThanOrEqual(45);
      await waitFor(() => s.recorded().length === 1);
      expect(s.recorded()[0]!.outcome).toBe('timeout');
      expect(s.engine.stats('search')!.timeout).toBe(1);
    });

    it('aborts the signal when the client goes away', async () => {
      let reason = '';
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/wait', (req) => {
          mw.signal(req).addEventListener('abort', function (this: AbortSignal) {
            reason = (this.reason as DOMException).name;
          });
        });
      });
      await abortAfter(s.port, '/wait', { 'x-gearshift-scene': 'feed' }, 30, () => s.engine.routeCounts().decisions === 1);
      await waitFor(() => reason !== '');
      expect(reason).toBe('AbortError');
    });

    it('leaves the signal alone when the response ends normally', async () => {
      let signal: AbortSignal | undefined;
      let closed = false;
      const s = await serve({}, (app, mw) => {
        app.use(mw);
        app.get('/', (req, res) => {
          signal = mw.signal(req);
          res.once('close', () => (closed = true));
          res.send('done');
        });
      });
      expect((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' })).body).toBe('done');
      await waitFor(() => closed && s.recorded().length === 1);
      expect(s.recorded()[0]!.outcome).toBe('success');
      expect(signal!.aborted).toBe(false); // a close after the answer is no client abort
    });

    describe('spoofing', () => {
      it('ignores and counts an explicit version from an untrusted peer', async () => {
        const s = await serve();
        const r = JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip' })).body);
        expect(r.version).toBe('main');
        expect(r.ignored & Ignored.UntrustedVersion).toBeTruthy();
        expect(s.mw.trustCounts().untrusted).toBe(1);
        expect(s.engine.routeCounts().ignored.untrustedVersion).toBe(1);
      });

      it('never reaches the load-test version from an untrusted peer', async () => {
        const s = await serve();
        const spoofs: Record<string, string>[] = [{ 'x-gearshift-load-test': '1' }, { 'x-gearshift-load-test': 'true', 'x-gearshift-version': 'soak' }, { baggage: 'gearshift.lt=1,gearshift.version=soak' }];
        for (const h of spoofs) {
          const r = JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', ...h })).body);
          expect(r.version).not.toBe('soak');
          expect(r.version).not.toBe('wip');
        }
        expect(s.engine.routeCounts().ignored.untrustedLoadTest).toBe(3);
      });

      it('ignores forged, expired and cross-scene tokens', async () => {
        let now = Date.now();
        const trust = new Trust({ keys: [KEY], now: () => now });
        const s = await serve({ trust });
        const forger = new Trust({ keys: ['not-the-key-not-the-key-not-the-key'] });
        const cases: [string, string][] = [
          [forger.sign({ scene: 'feed', version: 'wip' }), 'bad_signature'],
          [trust.sign({ scene: 'search', version: 'wip' }), 'scene_mismatch'],
          [trust.sign({ scene: 'feed', version: 'wip' }).replace(';wip;', ';soak;'), 'bad_signature'],
          ['g1;9999999999;;feed;wip;;-1;' + 'A'.repeat(43), 'bad_signature'],
        ];
        for (const [token] of cases) {
          const r = JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-hint': token })).body);
          expect(r.version).toBe('main');
        }
        const expiring = trust.sign({ scene: 'feed', version: 'wip' }, 5);
        now += 6000;
        expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-hint': expiring })).body).version).toBe('main');
        expect(trust.counts().refused).toMatchObject({ bad_signature: 3, scene_mismatch: 1, expired: 1 });
        expect(trust.counts().signed).toBe(0);
      });

      it('honours a valid signed token (and the token alone names the scene)', async () => {
        const trust = new Trust({ keys: [KEY] });
        const s = await serve({ trust });
        const token = trust.sign({ scene: 'feed', version: 'wip' });
        expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-hint': token })).body)).toMatchObject({ version: 'wip', reason: 'explicit' });
        expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-hint': token })).body)).toMatchObject({ version: 'wip', reason: 'explicit' });
        const lt = trust.sign({ scene: 'feed', loadTest: true });
        expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-hint': lt })).body)).toMatchObject({ version: 'soak', reason: 'load_test' });
      });

      it('honours plain hints and baggage only from a trusted proxy range', async () => {
        const s = await serve({ trust: { proxies: ['127.0.0.0/8', '::1/128'] } });
        expect(JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip' })).body).version).toBe('wip');
        expect(JSON.parse((await get(s.port, '/', { baggage: 'tenant=x,gearshift.scene=feed,gearshift.version=canary' })).body).version).toBe('canary');
        const other = await serve({ trust: { proxies: ['10.0.0.0/8'] } });
        expect(JSON.parse((await get(other.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip' })).body).version).toBe('main');
        expect(JSON.parse((await get(other.port, '/', { baggage: 'gearshift.scene=feed,gearshift.version=canary' })).body)).toBeNull();
        expect(s.mw.trustCounts().proxy).toBe(2);
        expect(other.mw.trustCounts().untrusted).toBe(2);
      });

      it('does not let a header claim a trusted peer (X-Forwarded-For is not read)', async () => {
        const s = await serve({ trust: { proxies: ['10.0.0.0/8'] } });
        const r = JSON.parse((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-version': 'wip', 'x-forwarded-for': '10.0.0.1', 'x-real-ip': '10.0.0.1' })).body);
        expect(r.version).toBe('main');
      });
    });
  });
}

describe('Express middleware on a request that is not an Express one', () => {
  it('sets a plain property and changes no shared prototype (plain object, bare IncomingMessage)', async () => {
    const obs = observedEngine();
    const mw = gearshift(obs.engine);
    const plain = { headers: { 'x-gearshift-scene': 'feed' }, socket: {} } as unknown as Parameters<typeof mw>[0];
    const res = { on() {}, setHeader() {} } as unknown as Parameters<typeof mw>[1];
    let nexted = 0;
    mw(plain, res, () => nexted++);
    expect(Object.prototype.hasOwnProperty.call(plain, 'gearshift')).toBe(true);
    expect(plain.gearshift?.version).toBe('main');
    expect('gearshift' in {}).toBe(false);
    const { IncomingMessage } = await import('node:http');
    const bare = Object.assign(new IncomingMessage(null as never), { headers: { 'x-gearshift-scene': 'feed' } }) as Parameters<typeof mw>[0];
    mw(bare, res, () => nexted++);
    expect(Object.prototype.hasOwnProperty.call(bare, 'gearshift')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'gearshift')).toBeUndefined();
    expect(nexted).toBe(2);
  });

  it('leaves a prototype alone that already has its own gearshift property', () => {
    const obs = observedEngine();
    const mw = gearshift(obs.engine);
    const proto = { gearshift: 'theirs' };
    const req = Object.assign(Object.create(proto), { headers: { 'x-gearshift-scene': 'feed' } }) as Parameters<typeof mw>[0];
    mw(req, { on() {} } as unknown as Parameters<typeof mw>[1], () => {});
    expect(proto.gearshift).toBe('theirs');
    expect(req.gearshift?.version).toBe('main');
  });
});
