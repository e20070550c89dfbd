/**
 * `requestStart.clocks`: how far each front proxy's clock runs behind, learnt from its stamps (LEDBAT's base delay,
 * RFC 6817), so that such a proxy does not make every request late; never an offset below 0, so that a forged stamp
 * ahead of the clock cannot make every request late either.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { ProxyClocks } from '../src/adapters/proxy-clock.js';
import { RequestStart } from '../src/adapters/request-start.js';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { prometheusText } from '../src/metrics.js';
import { adapterConfig, get, portOf } from './adapters-helpers.js';

const WALL = 1_763_800_000_000;
const MINUTE = 60_000;
const PROXY = { proxies: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] };
/** A stamp in ms on a proxy clock `behindMs` behind this host's, for a request that waited `waitMs` until `at`. */
const stampOn = (at: number, waitMs: number, behindMs: number) => `t=${at - waitMs - behindMs}`;

describe('ProxyClocks: the least reading of the last ten minutes, per proxy', () => {
  it('learns nothing for a minute, then subtracts the least reading', () => {
    const c = new ProxyClocks();
    expect(c.offset('a', 350, WALL)).toBe(0); // one old stamp is a late request, not yet a clock
    expect(c.offset('a', 300, WALL + 30_000)).toBe(0);
    expect(c.offset('a', 420, WALL + MINUTE)).toBe(300);
    expect(c.offset('a', 290, WALL + MINUTE + 1)).toBe(290); // a lower reading counts at once
    expect(c.offsets(WALL + MINUTE + 2)).toEqual([{ peer: 'a', offsetMs: 290 }]);
  });

  it('keeps each proxy apart: each host has a clock of its own', () => {
    const c = new ProxyClocks();
    c.offset('a', 300, WALL);
    c.offset('b', 120, WALL);
    expect(c.offset('a', 310, WALL + MINUTE)).toBe(300);
    expect(c.offset('b', 130, WALL + MINUTE)).toBe(120);
    expect(c.offset('', 5, WALL + MINUTE)).toBe(0); // a newcomer learns its own
  });

  it('never learns an offset below 0: a clock ahead looks like a forged stamp', () => {
    const c = new ProxyClocks();
    c.offset('a', -100, WALL);
    expect(c.offset('a', -90, WALL + MINUTE)).toBe(0);
    expect(c.offsets(WALL + MINUTE)).toEqual([{ peer: 'a', offsetMs: 0 }]);
  });

  it('forgets a reading after ten minutes: a clock stepped forward is followed', () => {
    const c = new ProxyClocks();
    for (let m = 0; m < 10; m++) c.offset('a', m === 0 ? 0 : 500, WALL + m * MINUTE);
    expect(c.offset('a', 500, WALL + 9 * MINUTE + 1)).toBe(0); // the minute of the 0 is still in the ten
    expect(c.offset('a', 500, WALL + 10 * MINUTE)).toBe(500); // now it is not
    expect(c.offsets(WALL + 30 * MINUTE)).toEqual([]); // all aged out: no estimate to show
  });

  it('follows at most 64 proxies, replacing the one first seen', () => {
    const c = new ProxyClocks();
    for (let i = 0; i < 65; i++) c.offset(`p${i}`, i, WALL);
    const peers = c.offsets(WALL + MINUTE).map((o) => o.peer);
    expect(peers).toHaveLength(64);
    expect(peers).not.toContain('p0');
    expect(peers).toContain('p64');
  });
});

describe('RequestStart with clocks: estimate (the default)', () => {
  it('a proxy 300 ms behind: late at first, as before, then only the real wait once its clock is learnt', () => {
    let now = WALL;
    const rs = new RequestStart({ now: () => now });
    expect(rs.waitOf(stampOn(now, 0, 300), true, 'p')).toBe(300); // the first minute: read as synchronised
    for (let t = 1_000; t <= MINUTE; t += 1_000) {
      now = WALL + t;
      rs.waitOf(stampOn(now, t % 7_000 === 0 ? 0 : 20, 300), true, 'p');
    }
    now += 10;
    expect(rs.waitOf(stampOn(now, 40, 300), true, 'p')).toBe(40);
    expect(rs.waitOf(stampOn(now, 250, 300), true, 'p')).toBe(250);
    expect(rs.offsets()).toEqual([{ peer: 'p', offsetMs: 300 }]);
    expect(rs.counts().ahead).toBe(0);
  });

  it('a proxy 100 ms ahead is read as synced clocks are: its stamps ahead are no wait, and counted ahead', () => {
    let now = WALL;
    const rs = new RequestStart({ now: () => now });
    expect(rs.waitOf(stampOn(now, 0, -100), true, 'p')).toBe(0);
    now += MINUTE;
    expect(rs.waitOf(stampOn(now, 150, -100), true, 'p')).toBe(50);
    expect(rs.counts()).toMatchObject({ applied: 2, ahead: 1 });
  });

  it("a forged stamp 50 s ahead, passed on by a proxy that does not replace the header, makes no other request late", () => {
    let now = WALL;
    const rs = new RequestStart({ now: () => now, late: 'reject' });
    for (let t = 0; t <= MINUTE; t += 1_000) {
      now = WALL + t;
      rs.waitOf(stampOn(now, 10, 0), true, 'p');
      rs.waitOf(`t=${now + 50_000}`, true, 'p'); // the client's own header, from the future
    }
    expect(rs.waitOf(stampOn(now, 10, 0), true, 'p')).toBe(10);
    expect(rs.waitOf(stampOn(now, 120, 0), true, 'p')).toBe(120);
  });

  it('forged stamps from the past cannot raise the least reading while real requests flow', () => {
    let now = WALL;
    const rs = new RequestStart({ now: () => now });
    for (let t = 0; t <= MINUTE; t += 1_000) {
      now = WALL + t;
      rs.waitOf(stampOn(now, 10, 200), true, 'p'); // a proxy 200 ms behind; the quickest requests wait 10 ms
      for (let i = 0; i < 20; i++) rs.waitOf(`t=${now - 30_000}`, true, 'p');
    }
    expect(rs.offsets()).toEqual([{ peer: 'p', offsetMs: 210 }]);
    expect(rs.waitOf(stampOn(now, 120, 200), true, 'p')).toBe(110); // its least transit, 10 ms, is taken off too
  });

  it("with late: 'reject', a proxy 300 ms behind stops having every request refused after its first minute", () => {
    const clock = new ManualClock(1000);
    const engine = createGearshift({ config: adapterConfig(), clock });
    let now = WALL;
    const gw = createGateway(engine, { trust: PROXY, requestStart: { now: () => now, late: 'reject' } });
    const begin = (wait: number) => gw.begin('feed', 'u1', { requestStart: stampOn(now, wait, 300), peer: '127.0.0.1' }).decision;
    expect(begin(10).reason).toBe('late'); // feed's budget is 200 ms: before the clock is learnt, this is late
    for (let t = 1_000; t <= MINUTE; t += 1_000) {
      now = WALL + t;
      begin(t % 5_000 === 0 ? 0 : 10);
    }
    expect(begin(10).ok).toBe(true);
    expect(begin(250).reason).toBe('late'); // a real wait past the budget still is
    engine.close();
  });

  it('reads whole-second stamps against the offset and is still never long', () => {
    let now = WALL + 400;
    const rs = new RequestStart({ now: () => now });
    // A proxy 300 ms behind stamping whole seconds; a request arrives (host time) 0, 250, 500 or 750 ms into a second.
    const seconds = (arrival: number) => `t=${Math.floor((arrival - 300) / 1000)}`;
    for (let t = 0; t <= MINUTE; t += 250) {
      now = WALL + t;
      rs.waitOf(seconds(now), true, 'p'); // no wait
    }
    for (const wait of [0, 100, 400, 900]) {
      for (const into of [0, 250, 500, 750]) {
        const arrival = WALL + 2 * MINUTE + into;
        now = arrival + wait;
        const read = rs.waitOf(seconds(arrival), true, 'p');
        expect(read, `wait ${wait}, ${into} ms into the second`).toBeLessThanOrEqual(wait);
        expect(read).toBeGreaterThan(wait - 1000);
      }
    }
  });

  it("clocks: 'synced' reads now − stamp as the wait, as before, and learns nothing", () => {
    let now = WALL;
    const rs = new RequestStart({ now: () => now, clocks: 'synced' });
    rs.waitOf(stampOn(now, 0, 300), true, 'p');
    now += 2 * MINUTE;
    expect(rs.waitOf(stampOn(now, 0, 300), true, 'p')).toBe(300);
    expect(rs.offsets()).toEqual([]);
  });

  it('refuses a wrong clocks option by its path', () => {
    expect(() => new RequestStart({ clocks: 'ntp' as never })).toThrow(UsageError);
    expect(() => new RequestStart({ clocks: 'ntp' as never })).toThrow(/^requestStart\.clocks: expected 'estimate' or 'synced', got "ntp"/);
    const engine = createGearshift({ config: adapterConfig() });
    expect(() => createGateway(engine, { requestStart: { clocks: 1 as never } })).toThrow(/^requestStart\.clocks/);
    engine.close();
  });

  it('a gateway learns per peer, and hints trusted without one as one clock', () => {
    const engine = createGearshift({ config: adapterConfig(), clock: new ManualClock(1000) });
    let now = WALL;
    const gw = createGateway(engine, { trust: PROXY, requestStart: { now: () => now } });
    gw.route('feed', 'u1', { requestStart: stampOn(now, 0, 300), peer: '127.0.0.1' });
    gw.route('feed', 'u1', { requestStart: stampOn(now, 0, 80), trusted: true });
    now += MINUTE;
    gw.route('feed', 'u1', { requestStart: stampOn(now, 0, 300), peer: '127.0.0.1' });
    gw.route('feed', 'u1', { requestStart: stampOn(now, 0, 80), trusted: true, peer: 7 as never });
    expect(gw.requestStart!.offsets()).toEqual([{ peer: '127.0.0.1', offsetMs: 300 }, { peer: '', offsetMs: 80 }]);
    engine.close();
  });
});

describe('over HTTP', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('learns the socket peer’s clock, and the metrics show it', async () => {
    const engine = createGearshift({ config: adapterConfig() });
    let now = WALL;
    const listener = withGearshift(engine, (_req, res) => res.end('ok'), { trust: PROXY, requestStart: { now: () => now, late: 'reject' } });
    const server = createServer(listener).listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    const port = portOf(server);
    const send = (wait: number) => get(port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1', 'x-request-start': stampOn(now, wait, 400) });
    expect((await send(0)).status).toBe(503); // 400 ms behind: late, before the clock is learnt
    now += MINUTE;
    expect((await send(0)).status).toBe(200);
    expect((await send(30)).status).toBe(200);
    const [offset] = listener.requestStart!.offsets();
    expect(offset!.peer).toMatch(/127\.0\.0\.1/);
    expect(offset!.offsetMs).toBe(400);
    const text = prometheusText(engine, { requestStart: [listener.requestStart, { counts: () => listener.requestStart!.counts(), offsets: () => [{ peer: offset!.peer, offsetMs: 450 }] }] });
    expect(text).toContain(`gearshift_request_start_clock_offset_ms{peer="${offset!.peer}"} 400`); // the least of the two
    expect(text).toMatch(/# TYPE gearshift_request_start_clock_offset_ms gauge/);
    engine.close();
  });
});
