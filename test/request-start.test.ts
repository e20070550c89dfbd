/**
 * `requestStart`: a request's RT counted from its arrival at the front proxy (`X-Request-Start`), not from when Node
 * read it; late requests served as timeouts or dropped unserved; the stamp honoured from trusted proxies only.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { RequestStart, stampMs } from '../src/adapters/request-start.js';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { adapterConfig, get, observedEngine, portOf } from './adapters-helpers.js';

/** The proxy's and this host's wall clock, fixed: a stamp `WALL - n` waited exactly n ms. */
const WALL = 1_763_800_000_000;
const now = () => WALL;
const stamp = (waitedMs: number) => `t=${((WALL - waitedMs) / 1000).toFixed(3)}`; // nginx's t=${msec}
const PROXY = { proxies: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] };

describe('the stamp', () => {
  it('reads seconds (with a fraction), milliseconds, microseconds and nanoseconds, with or without t=', () => {
    expect(stampMs('t=1763800000.123')).toBe(1763800000123);
    expect(stampMs('1763800000')).toBe(1763800000000);
    expect(stampMs('t=1763800000123')).toBe(1763800000123);
    expect(stampMs(' 1763800000123456 ')).toBeCloseTo(1763800000123.456, 3);
    expect(stampMs('t=1763800000123456789')).toBeCloseTo(1763800000123.4568, 0);
  });

  it('refuses what is no decimal time', () => {
    for (const bad of ['', 't=', 'abc', '-5', '1e12', 't=1.2.3', '0x10', 'Infinity', 't=1763800000,123', '9'.repeat(30), 't= 1763800000', '1763800000.']) {
      expect(stampMs(bad), bad).toBeNaN();
    }
  });

  it('counts each way a stamp is not applied, and reads a stamp from the future as no wait', () => {
    let wall: unknown = WALL;
    const rs = new RequestStart({ now: () => wall as number, maxMs: 10_000 });
    expect(rs.waitOf(stamp(40), false)).toBe(-1);
    expect(rs.waitOf('soon', true)).toBe(-1);
    expect(rs.waitOf(stamp(20_000), true)).toBe(-1);
    expect(rs.waitOf(stamp(-500), true)).toBe(0);
    expect(rs.waitOf(stamp(40), true)).toBe(40);
    wall = 'noon';
    expect(rs.waitOf(stamp(40), true)).toBe(-1);
    const throwing = new RequestStart({
      now: () => {
        throw new Error('no clock');
      },
    });
    expect(throwing.waitOf(stamp(40), true)).toBe(-1);
    expect(rs.counts()).toEqual({ applied: 2, late: 0, untrusted: 1, malformed: 1, ahead: 1, implausible: 1, badClock: 1 });
    expect(throwing.counts().badClock).toBe(1);
  });

  it('refuses a wrong option by its path when the adapter is made', () => {
    const engine = createGearshift({ config: adapterConfig() });
    const bad: [unknown, RegExp][] = [
      ['yes', /^requestStart: expected true, false or \{ header, maxMs, late, now, clocks \}/],
      [{ late: 'drop' }, /^requestStart\.late: expected 'serve' or 'reject'/],
      [{ maxMs: 0 }, /^requestStart\.maxMs: expected a finite number > 0/],
      [{ maxMs: Infinity }, /^requestStart\.maxMs/],
      [{ header: '' }, /^requestStart\.header/],
      [{ now: 5 }, /^requestStart\.now: expected a function/],
      [{ headr: 'x-start' }, /^requestStart\.headr: unknown option/],
    ];
    for (const [requestStart, message] of bad) {
      expect(() => withGearshift(engine, () => {}, { requestStart } as never), String(requestStart)).toThrow(message);
      expect(() => withGearshift(engine, () => {}, { requestStart } as never)).toThrow(UsageError);
    }
    // a gateway is handed the stamp's value: a header name there would do nothing
    expect(() => createGateway(engine, { requestStart: { header: 'x-start' } } as never)).toThrow(/^requestStart\.header: unknown option/);
    expect(withGearshift(engine, () => {}).requestStart).toBeNull();
    expect(withGearshift(engine, () => {}, { requestStart: false }).requestStart).toBeNull();
    engine.close();
  });
});

describe('a gateway (manual clock)', () => {
  function setup(late: 'serve' | 'reject' = 'serve') {
    const clock = new ManualClock(1000);
    const engine = createGearshift({ config: adapterConfig(), clock });
    const gw = createGateway(engine, { trust: PROXY, requestStart: { now, late } });
    return { clock, engine, gw };
  }

  it('moves the start back by the wait: the deadline and the RT count from arrival', () => {
    const { clock, engine, gw } = setup();
    const { decision, done } = gw.begin('feed', 'u1', { requestStart: stamp(40), peer: '127.0.0.1' });
    expect(decision.ok).toBe(true);
    expect(decision.startedAt).toBe(960);
    expect(gw.remainingMs(decision)).toBe(160); // feed's budget is 200 ms
    clock.advance(170); // served 170 ms after Node read it: 210 ms after arrival
    expect(done(200)).toBe(true);
    expect(engine.stats('feed')).toMatchObject({ count: 1, timeout: 1, success: 0 });
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 1, late: 0 });
    engine.close();
  });

  it('ignores the stamp of an untrusted peer (counted), and of hints marked untrusted', () => {
    const { engine, gw } = setup();
    expect(gw.begin('feed', 'u1', { requestStart: stamp(40), peer: '10.9.9.9' }).decision.startedAt).toBe(1000);
    expect(gw.begin('feed', 'u1', { requestStart: stamp(40), peer: '127.0.0.1', trusted: false }).decision.startedAt).toBe(1000);
    expect(gw.begin('feed', 'u1', { requestStart: [stamp(40), stamp(10)], trusted: true }).decision.startedAt).toBe(990); // a repeated header: its last, the nearest proxy's (the first until the twenty-third session)
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 1, untrusted: 2 });
    engine.close();
  });

  it('serves a request that arrived past its budget as a timeout, by default', () => {
    const { engine, gw } = setup();
    const { decision, done } = gw.begin('feed', 'u1', { requestStart: stamp(500), peer: '127.0.0.1' });
    expect(decision.ok).toBe(true);
    expect(gw.remainingMs(decision)).toBe(-300);
    done(200);
    expect(engine.stats('feed')).toMatchObject({ count: 1, timeout: 1 });
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 1, late: 1 });
    engine.close();
  });

  it("with late: 'reject', refuses it unserved (503 late), recorded once as a timeout of the version it was routed to", () => {
    const { engine, gw } = setup('reject');
    const { decision, done } = gw.begin('feed', 'u1', { requestStart: stamp(500), peer: '127.0.0.1' });
    expect(decision.ok).toBe(false);
    expect(decision.reason).toBe('late');
    const r = gw.rejection(decision);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeUndefined(); // the caller has given up: there is nothing to retry into
    expect(JSON.parse(r.body.toString())).toMatchObject({ error: 'late' });
    expect(done(200)).toBe(false);
    expect(engine.stats('feed')).toMatchObject({ count: 1, timeout: 1, rejected: 0 });
    const versions = ['main', 'canary'].map((v) => engine.stats('feed', v)!.timeout);
    expect(versions[0]! + versions[1]!).toBe(1);
    expect(engine.routeCounts().byReason).toMatchObject({ late: 1, split: 0 });
    // a wait within the budget is served
    expect(gw.begin('feed', 'u2', { requestStart: stamp(150), peer: '127.0.0.1' }).decision.ok).toBe(true);
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 2, late: 1 });
    engine.close();
  });

  it('leaves rejections and requests without a stamp alone', () => {
    const { engine, gw } = setup('reject');
    expect(gw.begin('nope', 'u1', { requestStart: stamp(500), peer: '127.0.0.1' }).decision.reason).toBe('unknown_scene');
    expect(gw.begin('feed', 'u1', { peer: '127.0.0.1' }).decision.startedAt).toBe(1000);
    expect(gw.begin('feed', 'u1').decision.startedAt).toBe(1000);
    expect(gw.requestStart!.counts().applied).toBe(0);
    engine.close();
  });
});

describe('over HTTP', () => {
  const servers: Server[] = [];
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  type Host = 'node:http' | 'express' | 'fastify';
  /** A server whose handler reports the time left of its budget; `ran` counts handler runs. */
  async function serve(host: Host, requestStart: unknown, trust: object = PROXY) {
    const obs = observedEngine();
    const state = { ran: 0, counts: () => ({}) as object };
    const options = { trust, requestStart } as never;
    let port: number;
    if (host === 'fastify') {
      const app = Fastify();
      apps.push(app);
      await app.register(gearshiftPlugin, { engine: obs.engine, ...(options as object) });
      app.get('/', async (request) => {
        state.ran++;
        return { left: request.gearshiftRemainingMs };
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      port = (app.server.address() as { port: number }).port;
      state.counts = () => app.gearshiftAdapter.requestStart!.counts();
    } else {
      let server: Server;
      if (host === 'express') {
        const app = express();
        const mw = gearshift(obs.engine, options);
        app.use(mw);
        app.get('/', (req, res) => {
          state.ran++;
          res.json({ left: mw.remainingMs(req) });
        });
        server = createServer(app);
        state.counts = () => mw.requestStart!.counts();
      } else {
        const listener = withGearshift(
          obs.engine,
          (req, res) => {
            state.ran++;
            res.end(JSON.stringify({ left: listener.remainingMs(req) }));
          },
          options,
        );
        server = createServer(listener);
        state.counts = () => listener.requestStart!.counts();
      }
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = portOf(server);
    }
    return { ...obs, state, port };
  }

  const feed = (waitedMs: number) => ({ 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-request-start': stamp(waitedMs) });

  for (const host of ['node:http', 'express', 'fastify'] as const) {
    describe(host, () => {
      it('counts a late request as a timeout and gives the handler the budget left after the wait', async () => {
        const s = await serve(host, { now });
        // the fixed wall clock: every stamp waited its nominal time, whatever the real clock does meanwhile
        const early = await get(s.port, '/', feed(60));
        expect(early.status).toBe(200);
        expect(JSON.parse(early.body).left).toBeLessThanOrEqual(140);
        const late = await get(s.port, '/', feed(500));
        expect(late.status).toBe(200);
        expect(JSON.parse(late.body).left).toBeLessThan(-299);
        expect(s.state.ran).toBe(2);
        expect(s.engine.stats('feed')).toMatchObject({ count: 2, timeout: 1 });
        expect(s.state.counts()).toMatchObject({ applied: 2, late: 1 });
      });

      it("with late: 'reject', answers 503 late without running the handler, recorded once as a timeout", async () => {
        const s = await serve(host, { now, late: 'reject' });
        const r = await get(s.port, '/', feed(500));
        expect(r.status).toBe(503);
        expect(JSON.parse(r.body)).toMatchObject({ error: 'late' });
        expect(s.state.ran).toBe(0);
        expect(s.recorded()).toHaveLength(1);
        expect(s.engine.stats('feed')).toMatchObject({ count: 1, timeout: 1 });
        expect(s.engine.routeCounts().byReason.late).toBe(1);
      });

      it('ignores a stamp from a peer outside trust.proxies (a client could make every request a timeout)', async () => {
        const s = await serve(host, { now, late: 'reject' }, { proxies: ['10.0.0.0/8'] }); // loopback is not one of them
        const r = await get(s.port, '/', feed(500));
        expect(r.status).toBe(200);
        expect(s.state.ran).toBe(1);
        expect(s.engine.stats('feed')).toMatchObject({ count: 1, timeout: 0 });
        expect(s.state.counts()).toMatchObject({ applied: 0, untrusted: 1 });
      });
    });
  }

  it('on Fastify, a route with its own scene counts with the plugin', async () => {
    const obs = observedEngine();
    const app = Fastify();
    apps.push(app);
    await app.register(gearshiftPlugin, { engine: obs.engine, trust: PROXY, requestStart: { now, late: 'reject' } });
    app.get('/fixed', { config: { gearshift: { scene: 'feed' } } }, async () => 'ok');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const r = await get(port, '/fixed', { 'x-request-start': stamp(500) });
    expect(r.status).toBe(503);
    expect(app.gearshiftAdapter.requestStart!.counts()).toMatchObject({ applied: 1, late: 1 });
  });
});

describe('twenty-third session: the review of hostile input (see request-start-review.test.ts), and what came with it', () => {
  it('reads a stamp more than maxMs ahead as implausible, not as an applied wait of 0', () => {
    const rs = new RequestStart({ now, maxMs: 10_000 });
    expect(rs.waitOf(stamp(-20_000), true)).toBe(-1); // 20 s ahead: a wrong clock or unit
    expect(rs.waitOf(stamp(-5_000), true)).toBe(0); // 5 s ahead: the proxy's clock runs ahead
    expect(rs.counts()).toMatchObject({ applied: 1, ahead: 1, implausible: 1 });
  });

  it('reads a whole-second stamp as the end of its second: no wait and not ahead inside it, the rest after it', () => {
    const rs = new RequestStart({ now: () => WALL + 400 });
    expect(rs.waitOf(`t=${WALL / 1000}`, true)).toBe(0); // came in at WALL … WALL + 400: none of it provable
    expect(rs.waitOf(`t=${WALL / 1000 - 1}`, true)).toBe(401); // the second before: at least 401 ms ago
    expect(rs.waitOf(`t=${WALL / 1000 + 1}`, true)).toBe(0); // the next second: ahead
    expect(rs.waitOf(`t=${WALL / 1000 - 1}.000`, true)).toBe(1400); // a fraction: as precise as it says
    expect(rs.waitOf(`t=${WALL - 100}`, true)).toBe(500); // milliseconds: exact
    expect(rs.counts()).toMatchObject({ applied: 5, ahead: 1 });
  });

  it('takes no stamp shorter than ten digits: no time since 2001 in any unit is', () => {
    for (const bad of ['t=123', '999999999', 't=960']) expect(stampMs(bad), bad).toBeNaN();
    expect(stampMs('1000000000')).toBe(1e12);
  });

  it('refuses an HTTP adapter with requestStart on and no trusted proxy: it could never apply a stamp', () => {
    const engine = createGearshift({ config: adapterConfig() });
    const message = /^requestStart: the stamp is read only from a trusted proxy, and trust\.proxies lists none/;
    expect(() => withGearshift(engine, () => {}, { requestStart: true })).toThrow(message);
    expect(() => withGearshift(engine, () => {}, { trust: { keys: ['k'.repeat(32)] }, requestStart: true })).toThrow(UsageError);
    expect(() => gearshift(engine, { requestStart: { late: 'reject' } })).toThrow(message);
    expect(withGearshift(engine, () => {}, { trust: PROXY, requestStart: true }).requestStart).not.toBeNull();
    // a gateway may be told a hint is trusted (`trusted: true`): it needs no proxy
    expect(createGateway(engine, { requestStart: true }).requestStart).not.toBeNull();
    engine.close();
  });

  it('stampOf writes a decision’s start for the next hop, none for a refusal, and counts a failed clock', () => {
    const clock = new ManualClock(1000);
    const engine = createGearshift({ config: adapterConfig(), clock });
    const rs = new RequestStart({ now });
    const d = engine.route('feed', 'u1');
    clock.advance(30);
    expect(rs.stampOf(engine, d)).toBe(`t=${WALL - 30}`);
    expect(rs.stampOf(engine, engine.route('nowhere', 'u1'))).toBeUndefined();
    const broken = new RequestStart({ now: () => NaN });
    expect(broken.stampOf(engine, d)).toBeUndefined();
    expect(broken.counts().badClock).toBe(1);
    // the gateway's propagationHeaders is the same, and counts the same
    const gw = createGateway(engine, { requestStart: { now: () => NaN } });
    expect(gw.propagationHeaders(gw.route('feed', 'u1'))['x-request-start']).toBeUndefined();
    expect(gw.requestStart!.counts().badClock).toBe(1);
    engine.close();
  });

  it('a gateway reads the last entry of a list, as the adapters read a repeated header', () => {
    const clock = new ManualClock(1000);
    const engine = createGearshift({ config: adapterConfig(), clock });
    const gw = createGateway(engine, { trust: PROXY, requestStart: { now } });
    expect(gw.begin('feed', 'u1', { requestStart: `${stamp(5000)}, ${stamp(40)}`, peer: '127.0.0.1' }).decision.startedAt).toBe(960);
    expect(gw.begin('feed', 'u1', { requestStart: [stamp(5000), stamp(20)], peer: '127.0.0.1' }).decision.startedAt).toBe(980);
    expect(gw.begin('feed', 'u1', { requestStart: `${stamp(40)}, garbage`, peer: '127.0.0.1' }).decision.startedAt).toBe(1000);
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 2, malformed: 1 });
    engine.close();
  });
});
