/**
 * Review of `requestStart` (X-Request-Start queue time): each `it` is one fault, written as the behaviour that should
 * hold, so each fails on the reviewed build. See REPORT.md for file:line, what happens, and a suggested fix.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { prometheusText } from '../src/metrics.js';
import { adapterConfig, get, observedEngine, portOf } from './adapters-helpers.js';

/** The proxy's and this host's wall clock, fixed (a whole second): a stamp `WALL - n` waited exactly n ms. */
const WALL = 1_763_800_000_000;
const now = () => WALL;
const stamp = (waitedMs: number) => `t=${((WALL - waitedMs) / 1000).toFixed(3)}`; // nginx's t=${msec}
const PROXY = { proxies: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] };

function gateway(requestStart: object) {
  const clock = new ManualClock(1000);
  const engine = createGearshift({ config: adapterConfig(), clock });
  const gw = createGateway(engine, { trust: PROXY, requestStart });
  return { engine, gw };
}

describe('over HTTP (node:http adapter, trusted loopback proxy)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  async function serve(requestStart: object) {
    const obs = observedEngine();
    const state = { ran: 0 };
    const listener = withGearshift(
      obs.engine,
      (_req, res) => {
        state.ran++;
        res.end('ok');
      },
      { trust: PROXY, requestStart },
    );
    const server = createServer(listener);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { ...obs, state, listener, port: portOf(server) };
  }

  // Why: a proxy that appends rather than replaces (Envoy's request_headers_to_add appends by default, HAProxy
  // add-header) puts the client's own X-Request-Start first; honouring the first lets any client get its requests
  // dropped as `late` and recorded as timeouts, driving the scene's gears down (the very attack the trust rule is for).
  it('a repeated X-Request-Start does not let the client-sent (first) stamp override the proxy-added one', async () => {
    const s = await serve({ now, late: 'reject' });
    const clientForged = stamp(5_000); // the client claims it has waited 5 s
    const proxyOwn = stamp(10); // the proxy appends its own, true, stamp
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-request-start': [clientForged, proxyOwn] } as never);
    expect(r.status).toBe(200);
    expect(s.state.ran).toBe(1);
    expect(s.engine.stats('feed')).toMatchObject({ count: 1, timeout: 0 });
  });

  // Why: stampMs refuses 't=1763800000,123' (a decimal comma, as a locale-formatted stamp has it; request-start.test.ts
  // pins it as "no decimal time"), but the header path first splits it as a list and applies 't=1763800000': the
  // fraction is dropped, the wait overstated by up to a second, and with late: 'reject' an on-time request is dropped.
  it('a stamp with a decimal comma is refused as malformed on the header path too, not truncated to whole seconds', async () => {
    const s = await serve({ now, late: 'reject' });
    const arrived = (WALL - 40) / 1000; // waited 40 ms
    const commaStamp = `t=${arrived.toFixed(3).replace('.', ',')}`; // t=1763799999,960
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-request-start': commaStamp });
    expect(r.status).toBe(200);
    expect(s.listener.requestStart!.counts()).toMatchObject({ applied: 0, malformed: 1, late: 0 });
  });
});

describe('the stamp', () => {
  // Why: a proxy that stamps whole seconds (HAProxy `t=%Ts`, Envoy `%START_TIME(%s)%`) only says the request arrived
  // somewhere in that second; reading it as its first instant overstates every wait by 0–999 ms, so with a 200 ms
  // budget and late: 'reject' about 80% of on-time requests are dropped unserved and recorded as timeouts.
  it('a whole-second stamp never makes a request that waited less than its budget late', () => {
    const { engine, gw } = gateway({ now: () => WALL + 900, late: 'reject' }); // now 900 ms into the second
    // arrived at WALL + 800 (waited 100 ms of feed's 200), stamped in whole seconds
    const { decision } = gw.begin('feed', 'u1', { requestStart: `t=${WALL / 1000}`, peer: '127.0.0.1' });
    expect(decision.ok).toBe(true);
    expect(gw.requestStart!.counts().late).toBe(0);
    engine.close();
  });
});

describe('a gateway', () => {
  // Why: README says the stamp "is trusted as plain hints are (trusted: true, or peer in trust.proxies)", and the
  // gateway's own decide() reads an own `trusted: undefined` as absent (falls back to `peer`); route() instead reads
  // it as untrusted, so `{ trusted: opts.trusted, peer }` honours a plain version from the proxy but drops its stamp.
  it('with `trusted: undefined` and a trusted peer, honours the stamp as it honours the plain hints', () => {
    const { engine, gw } = gateway({ now });
    const plain = gw.begin('feed', 'u1', { version: 'wip', peer: '127.0.0.1', trusted: undefined });
    expect(plain.decision.reason).toBe('explicit'); // plain hints: trusted through the peer
    const { decision } = gw.begin('feed', 'u1', { requestStart: stamp(40), peer: '127.0.0.1', trusted: undefined });
    expect(decision.startedAt).toBe(960);
    expect(gw.requestStart!.counts()).toMatchObject({ applied: 1, untrusted: 0 });
    engine.close();
  });

  // Why: a JavaScript gateway handing over a number (`Number(header)`, `Date.now()` from its own front end) has it
  // silently dropped before waitOf, whose non-string branch would count it `malformed`: no count moves, so the
  // operator cannot see why requestStart does nothing.
  it('a stamp that is not a string is counted (malformed or applied), never silently dropped', () => {
    const { engine, gw } = gateway({ now });
    gw.begin('feed', 'u1', { requestStart: (WALL - 40) as never, peer: '127.0.0.1' });
    const c = gw.requestStart!.counts();
    expect(c.applied + c.malformed + c.untrusted + c.ahead + c.implausible + c.badClock).toBe(1);
    engine.close();
  });
});

describe('metrics', () => {
  // Why: README documents an adapter's `.requestStart` as "null when off" and tells users to pass it to
  // prometheusText; with the option turned off (a config flag), the metrics endpoint then throws on every scrape.
  it('prometheusText takes an adapter’s `.requestStart` when it is null (requestStart off) as none', () => {
    const engine = createGearshift({ config: adapterConfig() });
    const listener = withGearshift(engine, () => {});
    expect(listener.requestStart).toBeNull();
    let text = '';
    expect(() => (text = prometheusText(engine, { requestStart: listener.requestStart as never }))).not.toThrow();
    expect(text).not.toContain('request_start_total');
    engine.close();
  });
});

describe('both builds in one process (an ESM app with a CommonJS dependency)', () => {
  // Why: README offers "a RequestStart shared between adapters", and Trust/Decision are recognised across the ESM and
  // CommonJS builds by a registered brand; RequestStart is checked with `instanceof` only, so one made by the app's
  // ESM import is refused by an adapter from the CommonJS build with a misleading message ("got RequestStart instance").
  it('an adapter of one build accepts a RequestStart made by the other (needs `npm run build`)', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type',
        'module',
        '-e',
        `import { createRequire } from 'node:module';
         import { RequestStart } from 'gearshift/http';
         const req = createRequire(process.cwd() + '/');
         const C = req('gearshift'), CH = req('gearshift/http');
         const engine = C.createGearshift({ config: { version: 'v', scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
         const rs = new RequestStart({ late: 'reject' });
         let r;
         try { r = CH.withGearshift(engine, () => {}, { trust: { proxies: ['127.0.0.1'] }, requestStart: rs }).requestStart === rs ? 'shared' : 'copied'; } catch (e) { r = 'threw: ' + e.message; }
         engine.close();
         console.log(r);`,
      ],
      { encoding: 'utf8', cwd: process.cwd() },
    ).trim();
    expect(out).toBe('shared');
  });
});
