/**
 * A load test whose signed token has expired: its authority lapsed, so it may not reach the `lt` version, and its
 * signature still proves it is a load test, so the production versions must not take it either (issue 2: load-test
 * traffic "must never land on base or up silently"). Every adapter refuses it with `expired_load_test`. Until the
 * twentieth session an expired token was read as no token at all, and the load test's load landed on production.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { Trust } from '../src/adapters/trust.js';
import { get, KEY, observedEngine, portOf } from './adapters-helpers.js';

const T0 = Date.UTC(2026, 10, 22, 12);
let now = T0;
const trust = () => new Trust({ keys: [KEY], now: () => now });
/** A load-test token for feed that lives 5 s, read 10 s after signing; and the same with a version that is not lt. */
function expired(): { lt: string; dev: string } {
  now = T0;
  const signer = trust();
  const tokens = { lt: signer.sign({ scene: 'feed', loadTest: true }, 5), dev: signer.sign({ scene: 'feed', version: 'wip' }, 5) };
  now = T0 + 10_000;
  return tokens;
}

const servers: Server[] = [];
const closers: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const close of closers.splice(0)) await close();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
}

const handler = (version: string | undefined) => JSON.stringify({ served: version });

async function hosts(): Promise<{ name: string; port: number; engine: ReturnType<typeof observedEngine>['engine'] }[]> {
  const out = [];
  {
    const { engine } = observedEngine();
    closers.push(() => engine.close());
    const listener = withGearshift(engine, (req, res) => res.end(handler(req.gearshift?.version ?? undefined)), { trust: trust() });
    out.push({ name: 'node:http', port: await listen(createServer(listener)), engine });
  }
  {
    const { engine } = observedEngine();
    closers.push(() => engine.close());
    const app = express();
    app.use(gearshift(engine, { trust: trust() }));
    app.get('/', (req, res) => void res.end(handler(req.gearshift?.version ?? undefined)));
    out.push({ name: 'express', port: await listen(createServer(app)), engine });
  }
  {
    const { engine } = observedEngine();
    closers.push(() => engine.close());
    const app = Fastify();
    await app.register(gearshiftPlugin, { engine, trust: trust() });
    app.get('/', async (req) => handler(req.gearshift?.version ?? undefined));
    await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    out.push({ name: 'fastify', port: portOf(app.server), engine });
  }
  return out;
}

describe('an expired load-test token', () => {
  it('is refused 403 expired_load_test by every adapter, never served, and counted with the load tests', async () => {
    const { lt } = expired();
    for (const host of await hosts()) {
      const res = await get(host.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-1', 'x-gearshift-hint': lt });
      expect([res.status, JSON.parse(res.body).error], host.name).toEqual([403, 'expired_load_test']);
      expect(host.engine.routeCounts().byReason.expired_load_test, host.name).toBe(1);
      // Counted with the load tests, never in the scene's business figures.
      expect(host.engine.sensing.loadTestStats().rejected, host.name).toBe(1);
      expect(host.engine.stats('feed')!.count, host.name).toBe(0);
    }
  });

  it('is refused whatever plain hints beside it say; an expired token that is not a load test steers nothing', async () => {
    const { lt, dev } = expired();
    for (const host of await hosts()) {
      const withPlain = await get(host.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-1', 'x-gearshift-hint': lt, 'x-gearshift-load-test': '0' });
      expect(withPlain.status, host.name).toBe(403);
      const other = await get(host.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-1', 'x-gearshift-hint': dev });
      expect(other.status, host.name).toBe(200);
      expect(JSON.parse(other.body).served, host.name).not.toBe('wip');
    }
  });

  it('is refused by the gateway, and a forged load-test token (bad signature) is ignored as before', () => {
    const { lt } = expired();
    const { engine } = observedEngine();
    closers.push(() => engine.close());
    const gw = createGateway(engine, { trust: trust() });
    const d = gw.route('feed', 'user-1', { signed: lt });
    expect([d.ok, d.reason, d.loadTest]).toEqual([false, 'expired_load_test', true]);
    expect(gw.rejection(d).status).toBe(403);
    now = T0;
    const forged = `${trust().sign({ scene: 'feed', loadTest: true }, 5).slice(0, -2)}AA`;
    const f = gw.route('feed', 'user-1', { signed: forged });
    expect([f.ok, f.loadTest]).toEqual([true, false]);
    expect(gw.trust.counts().refused).toMatchObject({ expired_load_test: 1, bad_signature: 1 });
  });
});
