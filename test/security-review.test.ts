/**
 * Security review: each test here states a promise of the README that the code does not keep (at the time of the
 * review). They fail on that code and pass once the fault is fixed; they prescribe the outcome, not the fix.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift as expressMiddleware } from '../src/adapters/express.js';
import { withGearshift } from '../src/adapters/http.js';
import { createGateway, type GatewayHints } from '../src/adapters/gateway.js';
import { propagate, propagationHeaders } from '../src/adapters/propagate.js';
import { ProxyRanges, Trust } from '../src/adapters/trust.js';
import { createGearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { adapterConfig, get, KEY, observedEngine, portOf } from './adapters-helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
}

describe('trusted-proxy ranges: a malformed CIDR must be refused, not read as /0', () => {
  // README (Trust): "a wrong shape throws UsageError naming the field: ... `proxies` an array of addresses or CIDR
  // ranges". `Number('')`, `Number(' ')` and `Number('-0')` are all 0, so these were read as /0: every address.
  it.each(['10.0.0.1/', '10.0.0.1/ ', '10.0.0.1/\t', '10.0.0.1/-0', '::1/', 'fd00::/ '])('refuses %j at start-up', (cidr) => {
    let ranges: ProxyRanges | undefined;
    let thrown: unknown;
    try {
      ranges = new ProxyRanges([cidr]);
    } catch (err) {
      thrown = err;
    }
    // The observable harm on the current code: a stranger on the internet is a trusted proxy.
    const strangerTrusted = ranges !== undefined && (ranges.has('203.0.113.9') || ranges.has('2001:db8:dead::1'));
    expect(strangerTrusted, `${JSON.stringify(cidr)} trusts every peer`).toBe(false);
    expect(thrown).toBeInstanceOf(UsageError);
  });

  it('so a typo in trust.proxies cannot make a stranger steer traffic to a dev version', () => {
    let made: Trust | undefined;
    try {
      made = new Trust({ keys: [KEY], proxies: ['10.0.0.1/'] });
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError); // refused at start-up: the fix
    }
    if (made === undefined) return;
    const { engine } = observedEngine();
    try {
      // As a gateway would route a stranger's request that asks for the dev version.
      const peerTrusted = made.fromProxy('203.0.113.9');
      const d = engine.route('feed', 'user-1', { version: 'wip', trusted: peerTrusted });
      expect(d.version).not.toBe('wip');
    } finally {
      engine.close();
    }
  });
});

describe('trusted-proxy ranges: an IPv4 peer matches only in canonical dotted decimal', () => {
  // README (Trust): "An IPv4 address matches only in canonical dotted decimal ... (a gateway's `peer` may come from a
  // string the host parsed itself)". A `%…` suffix is an IPv6 zone id; on an IPv4 string it makes it no address at all.
  it.each(['10.0.0.1%8.8.8.8', '10.0.0.1%', '10.0.0.1%eth0'])('does not trust %j', (peer) => {
    expect(new ProxyRanges(['10.0.0.0/8']).has(peer)).toBe(false);
  });
});

describe('propagation: a client-forged gearshift baggage entry must not ride on a trusted hop', () => {
  // README (Trust): "an untrusted request never reaches a `dev` (except by whitelist) or `lt` version"; (Consistency
  // across services): baggage is "Unsigned, so downstream honours it only from trusted-proxy peers". Service A (edge)
  // rightly ignores the client's baggage, then forwards it (tracing libraries forward baggage as a matter of course)
  // with `propagate(...)` in signed mode, which leaves the client's `gearshift.*` entries in place. Service B trusts
  // A's address; when it refuses A's token (here: A served another scene; an expired token does the same) it falls
  // back to that baggage, now "from a trusted proxy", and serves the client's choice: the dev version, as load test.
  it('downstream does not serve the version the client wrote into baggage', async () => {
    const trust = new Trust({ keys: [KEY] });
    const a = createGearshift({ config: adapterConfig(['search']) });
    const b = observedEngine(['feed']);
    try {
      const listener = withGearshift(b.engine, (req, res) => res.end(JSON.stringify({ version: req.gearshift?.version, loadTest: req.gearshift?.loadTest })), {
        trust: { keys: [KEY], proxies: ['127.0.0.1'] },
      });
      const port = await listen(listener);

      // At A: the client's request, with forged baggage. A's own decision ignores it.
      const clientBaggage = 'gearshift.version=wip,gearshift.lt=1,tenant=acme';
      const atA = a.route('search', 'user-7', null);
      expect(atA.version).toBe('v1');
      // A calls B (scene feed) with the incoming baggage forwarded, and its decision propagated, signed.
      const outgoing = propagate(atA, { baggage: clientBaggage, 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-7' }, { trust });

      const res = await get(port, '/', outgoing as Record<string, string>);
      const served = JSON.parse(res.body) as { version: string; loadTest: boolean };
      expect(served.version, 'a dev version reached from client-written baggage').not.toBe('wip');
      expect(served.loadTest, 'a load-test marker from client-written baggage').toBe(false);
    } finally {
      a.close();
      b.engine.close();
    }
  });
});

describe('ignored hints are counted', () => {
  // README (Trust): "everything else is ignored, counted (`engine.routeCounts().ignored`, `trustCounts()`)". A plain
  // version / load-test header from an untrusted peer next to a valid signed token is ignored (right) and counted
  // nowhere: not in trustCounts().untrusted, not in routeCounts().ignored, not in the decision's `ignored` bits.
  it('counts untrusted plain hints that arrive next to a valid signed token', async () => {
    const { engine } = observedEngine();
    try {
      const listener = withGearshift(engine, (req, res) => res.end(JSON.stringify({ version: req.gearshift?.version, ignored: req.gearshift?.ignored })), {
        trust: { keys: [KEY] },
      });
      const port = await listen(listener);
      const token = listener.trust.sign({ scene: 'feed' }); // a signed hint with no version: routes normally
      const res = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-1', 'x-gearshift-hint': token, 'x-gearshift-version': 'wip', 'x-gearshift-load-test': '1' });
      const body = JSON.parse(res.body) as { version: string; ignored: number };
      expect(body.version).not.toBe('wip'); // not honoured: good
      const counts = listener.trustCounts();
      const ignored = engine.routeCounts().ignored;
      const countedSomewhere = counts.untrusted + ignored.untrustedVersion + ignored.untrustedLoadTest;
      expect(countedSomewhere, 'the ignored plain hints were counted nowhere').toBeGreaterThan(0);
    } finally {
      engine.close();
    }
  });
});

describe('a config value the adapter writes as a header must not take the host down', () => {
  // README (Adapters): "the adapter never throws into the host because of a request"; (Rejections) header values
  // Node will not send are "refused when the adapter is made, not on every rejected request". The config's `version`
  // label is any string of 1–128 characters, and `debugHeaders` writes it as `x-gearshift-config` on every response:
  // `…` (or any character outside Latin-1) makes `setHeader` throw out of the node:http listener, which ends the
  // process. A reload can bring such a label in at run time.
  it('either refuses the label at start-up or answers the request', async () => {
    let listener: ReturnType<typeof withGearshift> | undefined;
    let engine: ReturnType<typeof createGearshift> | undefined;
    try {
      engine = createGearshift({ config: { ...adapterConfig(), version: '2026-11-22 … hotfix' } });
      listener = withGearshift(engine, (_req, res) => res.end('ok'), { debugHeaders: true });
    } catch {
      // refused when made: fine
    }
    try {
      if (listener === undefined) return;
      let thrown: unknown;
      const l = listener;
      const port = await listen((req, res) => {
        try {
          l(req, res);
        } catch (err) {
          thrown = err; // on node:http with no wrapper, this exception ends the process
          if (!res.headersSent) res.writeHead(599);
          res.end();
        }
      });
      const res = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1' });
      expect(thrown, 'the listener threw into the host').toBeUndefined();
      expect(res.status).not.toBe(599);
    } finally {
      engine?.close();
    }
  });
});

describe('rejection overrides: only the five reasons are keys', () => {
  // README (Rejections): "Only these five reasons can be overridden; any other key ... is refused when the adapter is
  // made". The check is `reason in DEFAULTS`, which is also true for Object.prototype's names.
  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])('refuses %j', (reason) => {
    const { engine } = observedEngine();
    try {
      expect(() => expressMiddleware(engine, { rejections: { [reason]: { status: 410 } } as never })).toThrow(UsageError);
    } finally {
      engine.close();
    }
  });
});

describe('hardening from the same review (fixed with it)', () => {
  it("refuses an IPv4-mapped range under /96, which would read '::ffff:10.0.0.0/8' as ::/8", () => {
    expect(() => new ProxyRanges(['::ffff:10.0.0.0/8'])).toThrow(/IPv4-mapped address with a prefix under 96; write the IPv4 range/);
    const mapped = new ProxyRanges(['::ffff:10.0.0.0/104']); // the same as 10.0.0.0/8, still accepted
    expect([mapped.has('10.1.2.3'), mapped.has('::ffff:10.1.2.3'), mapped.has('::1'), mapped.has('11.0.0.1')]).toEqual([true, true, false, false]);
  });

  it('does not let a gateway inherit `trusted` from a hints prototype (a merged, parsed body)', () => {
    const { engine } = observedEngine();
    try {
      const gw = createGateway(engine);
      const hints = Object.assign({}, JSON.parse('{"__proto__": {"trusted": true}, "version": "wip"}')) as GatewayHints;
      expect((hints as { trusted?: boolean }).trusted).toBe(true); // inherited, as the host built it
      const d = gw.route('feed', 'user-1', hints);
      expect(d.version).not.toBe('wip');
      expect(gw.trust.counts().untrusted).toBe(1);
      expect(gw.route('feed', 'user-1', { version: 'wip', trusted: true }).version).toBe('wip'); // an own property still counts
    } finally {
      engine.close();
    }
  });

  it('counts untrusted plain hints beside a valid token at the gateway too', () => {
    const { engine } = observedEngine();
    try {
      const gw = createGateway(engine, { trust: { keys: [KEY] } });
      const d = gw.route('feed', 'user-1', { signed: gw.trust.sign({ scene: 'feed' }), version: 'wip', peer: '203.0.113.9' });
      expect(d.version).not.toBe('wip');
      expect(gw.trust.counts()).toMatchObject({ signed: 1, untrusted: 1 });
    } finally {
      engine.close();
    }
  });

  it('refuses a propagation header name Node would refuse to send, when the options are checked', () => {
    const trust = new Trust({ keys: [KEY] });
    const d = createGearshift({ config: adapterConfig() }).route('feed', 'user-7');
    expect(() => propagationHeaders(d, { trust, header: 'x hint' })).toThrow(/propagate\.header: "x hint" is not a header name Node can send/);
  });

  it('signed propagation drops the gearshift baggage entries it was given, and the header when nothing else is left', () => {
    const trust = new Trust({ keys: [KEY] });
    const d = createGearshift({ config: adapterConfig() }).route('feed', 'user-7');
    expect(propagationHeaders(d, { trust }, 'gearshift.version=wip,tenant=acme').baggage).toBe('tenant=acme');
    expect(propagationHeaders(d, { trust }, 'tenant=acme').baggage).toBeUndefined(); // nothing of ours: left alone
    const plain = propagate(d, { baggage: 'gearshift.lt=1' }, { trust });
    expect('baggage' in plain).toBe(false);
    const fetchHeaders = propagate(d, new Headers({ baggage: 'gearshift.lt=1' }), { trust });
    expect(fetchHeaders.has('baggage')).toBe(false);
    expect(fetchHeaders.has('x-gearshift-hint')).toBe(true);
  });

  it('writes a config label Node will not send as a header percent-encoded', async () => {
    const engine = createGearshift({ config: { ...adapterConfig(), version: '2026-11-22 … hotfix' } });
    try {
      const port = await listen(withGearshift(engine, (_req, res) => res.end('ok'), { debugHeaders: true }));
      const res = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1' });
      expect(res.headers['x-gearshift-config']).toBe(encodeURIComponent('2026-11-22 … hotfix'));
    } finally {
      engine.close();
    }
  });
});

describe('hardening: keys and load-test markers', () => {
  it("refuses a key under 16 bytes (String(process.env.MISSING) is the 9 bytes 'undefined')", () => {
    expect(() => new Trust({ keys: [String(process.env.GEARSHIFT_NO_SUCH_KEY)] })).toThrow(/trust\.keys\[0\]: a key of 9 bytes; at least 16 bytes/);
    expect(() => new Trust({ keys: [new Uint8Array(15)] })).toThrow(UsageError);
    expect(new Trust({ keys: [new Uint8Array(16)] }).canSign).toBe(true);
  });

  it.each(['TRUE', 'yes', 'On', ' 1 '])("reads a trusted proxy's load-test marker %j as on: the load goes to lt, not production", async (value) => {
    const { engine } = observedEngine();
    try {
      const listener = withGearshift(engine, (req, res) => res.end(JSON.stringify({ stage: req.gearshift?.stage, loadTest: req.gearshift?.loadTest })), { trust: { proxies: ['127.0.0.1'] } });
      const port = await listen(listener);
      const res = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-gearshift-load-test': value });
      expect(JSON.parse(res.body)).toEqual({ stage: 'lt', loadTest: true });
      const bag = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', baggage: `gearshift.lt=${encodeURIComponent(value.trim())}` });
      expect(JSON.parse(bag.body)).toEqual({ stage: 'lt', loadTest: true });
    } finally {
      engine.close();
    }
  });

  it.each(['0', 'false', 'No', 'off', ''])('reads %j as off', async (value) => {
    const { engine } = observedEngine();
    try {
      const listener = withGearshift(engine, (req, res) => res.end(JSON.stringify({ loadTest: req.gearshift?.loadTest })), { trust: { proxies: ['127.0.0.1'] } });
      const port = await listen(listener);
      const res = await get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-gearshift-load-test': value });
      expect(JSON.parse(res.body)).toEqual({ loadTest: false });
    } finally {
      engine.close();
    }
  });
});

describe('load-test traffic across scenes (a hardening from the review)', () => {
  // Issue 2: load-test traffic "must never land on base or up silently". Service A (scene feed) serves a load test
  // and propagates its decision, signed; service B decides its own scene (search). The token's version means nothing
  // there, but the request is still load-test traffic: B routes it to its lt version, or refuses it, never to base.
  it("a signed load-test decision for one scene marks the request as load test in another, without its version", async () => {
    const trust = new Trust({ keys: [KEY] });
    const a = createGearshift({ config: adapterConfig() });
    const b = observedEngine();
    try {
      const atA = a.route('feed', 'user-7', { loadTest: true, trusted: true });
      expect([atA.version, atA.loadTest]).toEqual(['soak', true]);
      const listener = withGearshift(b.engine, (req, res) => res.end(JSON.stringify({ stage: req.gearshift?.stage, loadTest: req.gearshift?.loadTest })), { trust: { keys: [KEY] } });
      const port = await listen(listener);
      const toSearch = propagate(atA, { 'x-gearshift-scene': 'search', 'x-gearshift-unit': 'user-7' }, { trust }) as Record<string, string>;
      const res = await get(port, '/', toSearch);
      expect(res.status).toBe(404); // search has no lt version: refused, not served by its base
      expect(JSON.parse(res.body)).toMatchObject({ error: 'no_lt_version' });
      expect(listener.trustCounts()).toMatchObject({ signed: 0, refused: { scene_mismatch: 1 } });
      const toFeed = propagate(atA, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-7' }, { trust }) as Record<string, string>;
      expect(JSON.parse((await get(port, '/', toFeed)).body)).toEqual({ stage: 'lt', loadTest: true });
      // An ordinary decision's token for another scene steers nothing there.
      const plain = propagate(a.route('feed', 'user-7'), { 'x-gearshift-scene': 'search', 'x-gearshift-unit': 'user-7' }, { trust }) as Record<string, string>;
      expect(JSON.parse((await get(port, '/', plain)).body)).toMatchObject({ loadTest: false });
    } finally {
      a.close();
      b.engine.close();
    }
  });
});
