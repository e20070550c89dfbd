import { EventEmitter } from 'node:events';
import { Agent, createServer, IncomingMessage, type Server, ServerResponse } from 'node:http';
import { createServer as createHttp2Server, connect as http2Connect } from 'node:http2';
import { type AddressInfo, connect, Socket } from 'node:net';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { ResponseWatch } from '../src/adapters/response-watch.js';
import { createGateway } from '../src/adapters/gateway.js';
import { type GearshiftHandler, withGearshift } from '../src/adapters/http.js';
import { Trust } from '../src/adapters/trust.js';
import type { ServedDecision } from '../src/route/decision.js';
import { buildRejections, type RejectionOverrides, retryAfterSec } from '../src/adapters/reject.js';
import type { Decision } from '../src/route/decision.js';
import { UsageError } from '../src/errors.js';
import { abortAfter, get, KEY, observedEngine, portOf, sleep, waitFor } from './adapters-helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: GearshiftHandler, options: Parameters<typeof withGearshift>[2] = {}) {
  const obs = observedEngine();
  const listener = withGearshift(obs.engine, handler, options);
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { ...obs, port: portOf(server), listener };
}

describe('node:http adapter', () => {
  it('records res.end(await …) when it answers, though the handler took `end` before the adapter could watch it', async () => {
    // `res.end(await x)` reads res.end before the await: the response's own end, not one the adapter put there later.
    // Recorded on a keep-alive connection that stays open: before, only its close (or the next request) recorded it,
    // as a timeout, its RT the connection's idle time.
    const s = await serve(async (_req, res) => res.end(await new Promise<string>((r) => setTimeout(() => r('late'), 5))));
    const agent = new Agent({ keepAlive: true });
    try {
      const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed' }, agent);
      expect(r.body).toBe('late');
      await waitFor(() => s.recorded().length === 1, 1000);
      expect(s.recorded()[0]!.outcome).toBe('success');
      expect(s.engine.stats('feed')!.max).toBeLessThan(200);
    } finally {
      agent.destroy();
    }
  });

  it('hands the handler a served decision or none, never a rejection (and types it so)', async () => {
    const seen: string[] = [];
    const s = await serve((req, res) => {
      expectTypeOf(req.gearshift).toEqualTypeOf<ServedDecision | null>();
      const version: string | undefined = req.gearshift?.version; // no `ok` test needed
      seen.push(version ?? 'none');
      res.end(version ?? 'none');
    });
    expect((await get(s.port, '/', { 'x-gearshift-scene': 'nope' })).status).toBe(404);
    expect((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' })).body).toBe('wip');
    expect((await get(s.port, '/')).body).toBe('none');
    expect(seen).toEqual(['wip', 'none']);
  });

  it('routes and records success once', async () => {
    const s = await serve((req, res) => res.end(`${req.gearshift?.version}`));
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' });
    expect(r.body).toBe('wip');
    await waitFor(() => s.recorded().length === 1);
    expect(s.recorded()[0]!.outcome).toBe('success');
    expect(s.engine.stats('feed')!.count).toBe(1); // recorded by sensing, not only acknowledged by complete()
  });

  it('records a synchronous answer when the handler returns, an asynchronous one right after its end(), with no listener on the response', async () => {
    let atFinish = -1;
    const closeListeners: number[] = [];
    const s = await serve((req, res) => {
      res.once('finish', () => (atFinish = s.recorded().length));
      if (req.url === '/sync') res.end('now');
      else
        setTimeout(() => {
          closeListeners.push(res.listenerCount('close'));
          res.end('later');
        }, 5);
    });
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
    await get(s.port, '/sync', headers);
    expect(atFinish).toBe(1); // already recorded when the response finished
    await get(s.port, '/async', headers);
    await waitFor(() => s.recorded().length === 2);
    expect(atFinish).toBe(2); // recorded inside end(), before the response finished
    expect(closeListeners).toEqual([0]); // watched through end() and the socket, not a listener of its own
    expect(s.recorded().map((c) => c.outcome)).toEqual(['success', 'success']);
  });

  it('records nothing when a watched end() throws, then the end that follows', async () => {
    const s = await serve((_req, res) => {
      setTimeout(() => {
        try {
          res.end(42 as unknown as string); // Node refuses a number: ERR_INVALID_ARG_TYPE, thrown inside end()
        } catch {
          res.statusCode = 500;
          res.end('refused');
        }
      }, 2);
    });
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' });
    expect([r.status, r.body]).toEqual([500, 'refused']);
    await waitFor(() => s.recorded().length === 1);
    expect(s.recorded().map((c) => c.outcome)).toEqual(['error']);
  });

  it('watches one socket with one close listener across keep-alive requests', async () => {
    const socketListeners: number[] = [];
    const s = await serve((req, res) => {
      socketListeners.push(req.socket.listenerCount('close'));
      setTimeout(() => res.end('later'), 2);
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
    for (let i = 0; i < 4; i++) expect((await get(s.port, '/', headers, agent)).body).toBe('later');
    agent.destroy();
    await waitFor(() => s.recorded().length === 4);
    const first = socketListeners[0]!;
    expect(socketListeners).toEqual([first, first + 1, first + 1, first + 1]); // gearshift's one, added by the first
    expect(s.recorded().map((c) => c.outcome)).toEqual(['success', 'success', 'success', 'success']);
  });

  it('records pipelined asynchronous requests once each, and an abort of the ones still open', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/hang') return; // never answers: recorded when the client goes away
      setTimeout(() => res.end(req.url), req.url === '/a' ? 20 : 1); // /b's handler finishes first
    });
    const sock = connect(s.port, '127.0.0.1');
    const head = 'x-gearshift-scene: feed\r\nx-gearshift-unit: bob\r\nhost: x\r\n\r\n';
    sock.write(`GET /a HTTP/1.1\r\n${head}GET /b HTTP/1.1\r\n${head}GET /hang HTTP/1.1\r\n${head}`);
    let got = '';
    sock.on('data', (b) => (got += b.toString('latin1')));
    await waitFor(() => got.includes('/b'));
    expect(got.indexOf('/a')).toBeLessThan(got.indexOf('/b')); // answered in order
    await waitFor(() => s.recorded().length === 2);
    sock.destroy();
    await waitFor(() => s.recorded().length === 3);
    expect(s.recorded().map((c) => c.outcome).sort()).toEqual(['clientAbort', 'success', 'success']);
  });

  it('answers rejections itself, without calling the handler', async () => {
    let called = 0;
    const s = await serve((_req, res) => {
      called++;
      res.end();
    });
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'elsewhere' });
    expect([r.status, JSON.parse(r.body).error, called]).toEqual([421, 'not_deployed', 0]);
  });

  it('turns a synchronous throw into 500, recorded as an error once, and hands the error to onError', async () => {
    const seen: unknown[] = [];
    const s = await serve(() => {
      throw new Error('boom');
    }, { onError: (err) => seen.push(err) });
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed' });
    expect([r.status, r.body]).toEqual([500, '{"error":"internal_error"}']);
    await sleep(20);
    expect(s.completions.filter((c) => c.recorded).map((c) => c.outcome)).toEqual(['error']);
    expect(seen.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('turns a rejected promise into 500, recorded as an error once', async () => {
    const seen: unknown[] = [];
    const s = await serve(async () => {
      await sleep(5);
      throw new Error('boom');
    }, { onError: (err) => seen.push(err) });
    expect((await get(s.port, '/', { 'x-gearshift-scene': 'feed' })).status).toBe(500);
    await sleep(20);
    expect(s.recorded().map((c) => c.outcome)).toEqual(['error']);
    expect(seen).toHaveLength(1);
  });

  it('answers 500 for a failing handler of a request without a scene too, instead of letting the process die', async () => {
    // With no scene header the decision is null (missingScene: skip); a handler that reads it fails, as the README's
    // first examples did. Node ends the process on an uncaught exception or an unhandled rejection.
    const seen: string[] = [];
    const onError = (err: unknown) => seen.push((err as Error).constructor.name);
    const sync = await serve((req, res) => res.end(req.gearshift!.version), { onError });
    const async = await serve(async (req, res) => {
      await sleep(2);
      res.end(req.gearshift!.version);
    }, { onError });
    for (const port of [sync.port, async.port]) expect((await get(port, '/', {})).status).toBe(500);
    expect(seen).toEqual(['TypeError', 'TypeError']);
    expect(sync.recorded()).toEqual([]); // nothing to record without a decision
    expect((await get(sync.port, '/', { 'x-gearshift-scene': 'feed' })).status).toBe(200); // and it keeps serving
  });

  it('lets onError answer itself, and survives an onError that throws', async () => {
    const own = await serve(() => {
      throw new Error('busy');
    }, { onError: (_err, _req, res) => res.writeHead(503).end('try later') });
    const r = await get(own.port, '/', { 'x-gearshift-scene': 'feed' });
    expect([r.status, r.body]).toEqual([503, 'try later']);
    await waitFor(() => own.recorded().length === 1);
    expect(own.recorded()[0]!.outcome).toBe('error'); // the handler failed, whatever the hook answered
    const broken = await serve(() => {
      throw new Error('boom');
    }, { onError: () => { throw new Error('the hook too'); } });
    expect((await get(broken.port, '/', { 'x-gearshift-scene': 'feed' })).status).toBe(500);
  });

  it('reports handler errors with console.error by default', async () => {
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args[0]);
    try {
      const s = await serve(() => {
        throw new Error('to the log');
      });
      expect((await get(s.port, '/', { 'x-gearshift-scene': 'feed' })).status).toBe(500);
    } finally {
      console.error = original;
    }
    expect(logged.map((e) => (e as Error).message)).toEqual(['to the log']);
  });

  it('records once per engine when two gearshift listeners wrap one handler (the second watches by listener)', async () => {
    const outer = observedEngine();
    const inner = observedEngine();
    const handler: GearshiftHandler = (_req, res) => {
      setTimeout(() => res.end('later'), 2);
    };
    const server = createServer(withGearshift(outer.engine, withGearshift(inner.engine, handler) as unknown as GearshiftHandler));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i++) expect((await get(portOf(server), '/', headers, agent)).body).toBe('later');
    agent.destroy();
    await waitFor(() => outer.recorded().length === 3 && inner.recorded().length === 3);
    await sleep(20);
    expect([outer.recorded().length, inner.recorded().length]).toEqual([3, 3]); // once each, no more
    expect([...outer.recorded(), ...inner.recorded()].every((c) => c.outcome === 'success')).toBe(true);
  });

  it('does not watch a response without a socket, nor one that is not a node:http ServerResponse', () => {
    const obs = observedEngine();
    const watch = new ResponseWatch({ ended: () => undefined, closed: () => undefined });
    const d = obs.engine.route('feed', 'alice');
    const socketless = new ServerResponse(new IncomingMessage(new Socket()));
    expect(socketless.socket).toBeNull();
    expect(watch.watchEnd(d, socketless)).toBe(false);
    const lookalike = Object.assign(new EventEmitter(), { socket: new Socket(), end: () => undefined });
    expect(watch.watchEnd(d, lookalike as unknown as ServerResponse)).toBe(false);
    expect(lookalike.socket.listenerCount('close')).toBe(0); // nothing was attached
    obs.engine.close();
  });

  it('serves HTTP/2 through the compatibility API, recording its streams on their own close', async () => {
    const obs = observedEngine();
    const listener = withGearshift(obs.engine, (req, res) => {
      if (req.url === '/hang') return;
      setTimeout(() => res.end(`${req.gearshift?.version}`), 2);
    });
    const server = createHttp2Server(listener as unknown as Parameters<typeof createHttp2Server>[1]);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const session = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' };
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ...headers });
      let got = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (got += c));
      stream.on('end', () => resolve(got));
      stream.on('error', reject);
    });
    expect(body).toBe('wip');
    const hanging = session.request({ ':path': '/hang', ...headers });
    hanging.on('error', () => undefined);
    await sleep(20);
    hanging.close(); // the client resets one stream; the session stays open
    await waitFor(() => obs.recorded().length === 2);
    expect(obs.recorded().map((c) => c.outcome)).toEqual(['success', 'clientAbort']);
    session.close();
    await new Promise((r) => server.close(r));
  });

  it('records a client abort once, even when the handler fails afterwards', async () => {
    const s = await serve(async (_req, res) => {
      await sleep(150);
      if (!res.destroyed) res.end('late');
      throw new Error('after the client left');
    }, { onError: () => {} });
    await abortAfter(s.port, '/', { 'x-gearshift-scene': 'feed' }, 30, () => s.engine.routeCounts().decisions === 1);
    await waitFor(() => s.recorded().length === 1);
    await sleep(200);
    expect(s.recorded().map((c) => c.outcome)).toEqual(['clientAbort']);
    expect(s.completions.length).toBeGreaterThanOrEqual(1);
  });

  it('gives a deadline signal', async () => {
    let reason = '';
    const s = await serve((req, res) => {
      const signal = s.listener.signal(req, res);
      signal.addEventListener('abort', () => {
        reason = (signal.reason as DOMException).name;
        res.end('stopped');
      });
    });
    expect((await get(s.port, '/', { 'x-gearshift-scene': 'search' })).body).toBe('stopped');
    expect(reason).toBe('TimeoutError');
    await waitFor(() => s.recorded().length === 1);
    expect(s.recorded()[0]!.outcome).toBe('timeout');
  });

  it('counts the time a request has taken against its remaining budget', async () => {
    const s = await serve(async (req, res) => {
      await sleep(25);
      res.end(String(s.listener.remainingMs(req)));
    });
    // search's budget is 50 ms, and the handler slept through at least 20 of them before asking
    expect(Number((await get(s.port, '/', { 'x-gearshift-scene': 'search' })).body)).toBeLessThanOrEqual(50 - 20);
  });

  it('leaves the signal alone when the response ends normally', async () => {
    let signal: AbortSignal | undefined;
    let closed = false;
    const s = await serve((req, res) => {
      signal = s.listener.signal(req, res);
      res.once('close', () => (closed = true));
      res.end('done');
    });
    expect((await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' })).body).toBe('done');
    await waitFor(() => closed && s.recorded().length === 1);
    expect(s.recorded()[0]!.outcome).toBe('success');
    expect(signal!.aborted).toBe(false); // a close after the answer is no client abort
  });

  it('passes requests without a scene to the handler with a null decision', async () => {
    const s = await serve((req, res) => res.end(String(req.gearshift)));
    expect((await get(s.port, '/')).body).toBe('null');
  });

  it('takes the scene and the unit from a header of your own, from a function, or routes without a unit', async () => {
    const show = (req: Parameters<GearshiftHandler>[0], res: ServerResponse) => res.end(`${req.gearshift?.scene}/${req.gearshift?.version}/${req.gearshift?.reason}`);
    const byHeader = await serve(show, { scene: { header: 'X-Scene' }, unit: { header: 'X-User' } });
    expect((await get(byHeader.port, '/', { 'x-scene': 'feed', 'x-user': 'alice' })).body).toBe('feed/wip/whitelist');
    const byFunction = await serve(show, { scene: (req) => new URL(req.url!, 'http://x').pathname.slice(1), unit: (req) => new URL(req.url!, 'http://x').searchParams.get('u') });
    expect((await get(byFunction.port, '/feed?u=alice')).body).toBe('feed/wip/whitelist');
    const noUnit = await serve(show, { unit: false });
    expect((await get(noUnit.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' })).body).toBe('feed/main/no_unit');
  });

  it('counts a throwing extractor as an absent scene or unit, never as a host error', async () => {
    const show = (req: Parameters<GearshiftHandler>[0], res: ServerResponse) => res.end(`${req.gearshift?.reason ?? 'none'}`);
    const badUnit = await serve(show, { unit: () => { throw new Error('no cookie jar'); } });
    expect((await get(badUnit.port, '/', { 'x-gearshift-scene': 'feed' })).body).toBe('no_unit');
    const badScene = await serve(show, { scene: () => { throw new Error('bad path'); } });
    const r = await get(badScene.port, '/');
    expect([r.status, r.body]).toEqual([200, 'none']); // missingScene 'skip': the handler runs without a decision
  });

  it('writes the debug headers when asked', async () => {
    const s = await serve((_req, res) => res.end(), { debugHeaders: true });
    const r = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' });
    expect(r.headers).toMatchObject({ 'x-gearshift-version': 'wip', 'x-gearshift-reason': 'whitelist' });
    // a unit routed by the split also gets its bucket (alice is whitelisted: she has none)
    const split = await get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' });
    await waitFor(() => s.recorded().length === 2);
    const d = s.recorded()[1]!.decision;
    expect(d.reason).toBe('split');
    expect(split.headers['x-gearshift-bucket']).toBe(String(d.bucket));
  });

  it('records an error and cuts the connection when the handler throws after the headers went out', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial');
      throw new Error('mid-stream');
    }, { onError: () => {} });
    await expect(get(s.port, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u' })).rejects.toThrow();
    await waitFor(() => s.recorded().length === 1);
    expect(s.recorded()[0]!.outcome).toBe('error');
  });

  it('refuses path-parameter scenes (node:http has none)', () => {
    const { engine } = observedEngine();
    expect(() => withGearshift(engine, () => {}, { scene: { param: 'x' } })).toThrow(/path parameters/);
  });

  // Options a typo would otherwise make silently ineffective, or that would fail on a request instead of at start-up.
  it.each([
    ['options that are not an object', 'str', /options must be an object/],
    ['options that are null', null, /options must be an object/],
    ['a scene source given as a bare header name', { scene: 'x-scene' }, /^scene: expected \{ header \}, \{ param \}, \{ value \} or a function, got "x-scene"/],
    ['a fixed scene that is not a string', { scene: { value: 5 } }, /^scene\.value: expected a scene id, got 5/],
    ['a scene header that is empty', { scene: { header: '' } }, /^scene\.header: expected a header name, got ""/],
    ['a unit source given as null', { unit: null }, /^unit: expected \{ header \}, \{ cookie \}, a function or false, got null/],
    ['a unit cookie without a name', { unit: { cookie: '' } }, /^unit\.cookie: expected a cookie name/],
    ['a unit source of an unknown kind', { unit: { query: 'u' } }, /^unit: expected \{ header \}, \{ cookie \}, a function or false$/],
    ['a missingScene that does not exist', { missingScene: 'drop' }, /^missingScene: expected 'skip' or 'reject', got "drop"/],
    ['an onError that is not a function', { onError: 'log' }, /^onError: expected a function \(err, req, res\), got "log"/],
    ['hints that are not an object', { hints: 'x' }, /^hints: expected/],
    ['a baggage switch that is not a boolean', { hints: { baggage: 'no' } }, /hints\.baggage: expected true or false, got "no"/],
    ['a debug switch that is not a boolean', { debugHeaders: 'yes' }, /debugHeaders: expected true or false, got "yes"/],
    // String() of an object without a prototype throws a TypeError of its own: the message must not.
    ['a debug switch with no prototype', { debugHeaders: Object.create(null) }, /^debugHeaders: expected true or false, got object$/],
    ['a missingScene with no prototype', { missingScene: Object.create(null) }, /^missingScene: expected 'skip' or 'reject', got object$/],
    ['rejections that are not an object', { rejections: 5 }, /^rejections: expected an object/],
    ['rejections given as a Map', { rejections: new Map([['shed', { status: 429 }]]) }, /^rejections: expected an object/],
    ['a rejection for a reason that does not exist', { rejections: { unknown_secne: { status: 404 } } }, /rejections\.unknown_secne: not a rejection reason \(one of invalid_scene, unknown_scene/],
    ['a rejection spec that is not an object', { rejections: { shed: 503 } }, /rejections\.shed: expected \{ status, body, headers \}/],
    ['rejection headers that are not an object', { rejections: { shed: { headers: 'x' } } }, /rejections\.shed\.headers/],
    ['a rejection body JSON cannot write', { rejections: { shed: { body: 1n } } }, /rejections\.shed\.body: cannot be written as JSON/],
    ['a rejection status outside 400–599', { rejections: { not_deployed: { status: 200 } } }, /rejections\.not_deployed\.status: expected 400–599, got 200/],
    // Node would throw these out of the request handler on every rejected request (node:http: the process ended)
    ['a rejection header value Node will not send', { rejections: { unknown_scene: { headers: { 'x-why': 'gone…' } } } }, /^rejections\.unknown_scene\.headers\.x-why: not a header Node can send .*got "gone…"/],
    ['a rejection header value with a line break', { rejections: { shed: { headers: { 'x-why': 'a\r\nset-cookie: x=1' } } } }, /^rejections\.shed\.headers\.x-why: not a header Node can send/],
    ['a rejection header name that is not a token', { rejections: { shed: { headers: { 'x why': 'ok' } } } }, /^rejections\.shed\.headers\.x why: not a header Node can send/],
    // Misspelt options ran on their defaults without a word until the twentieth session.
    ['a misspelt option', { missingscene: 'reject' }, /^missingscene: unknown option \(expected one of: scene, unit, trust, hints, missingScene, rejections, debugHeaders, requestStart, onError\)$/],
    ['a misspelt hint header', { hints: { loadtest: 'x-lt' } }, /^hints\.loadtest: unknown option/],
    ['a misspelt trust option (no key: nothing signed is honoured)', { trust: { key: [KEY] } }, /^trust\.key: unknown option \(expected one of: keys, proxies, maxTtlSec, now\)$/],
    ['a misspelt rejection field', { rejections: { shed: { stauts: 429 } } }, /^rejections\.shed\.stauts: unknown option \(expected one of: status, body, headers\)$/],
  ])('refuses %s with a UsageError naming the option', (_what, options, message) => {
    const { engine } = observedEngine();
    expect(() => withGearshift(engine, () => {}, options as never)).toThrow(message);
    expect(() => withGearshift(engine, () => {}, options as never)).toThrow(UsageError);
  });

  it('the gateway checks its propagation options at start-up', () => {
    const { engine } = observedEngine();
    expect(() => createGateway(engine, { propagate: 'baggage' as never })).toThrow(/^propagate: expected \{ mode, ttlSec, header \}, got "baggage"/);
    expect(() => createGateway(engine, { trusts: { keys: [KEY] } } as never)).toThrow(/^trusts: unknown option \(expected one of: trust, rejections, propagate, requestStart\)$/);
    // its own trust signs: one given here would be overwritten without a word
    expect(() => createGateway(engine, { propagate: { trust: new Trust({ keys: [KEY] }) } as never })).toThrow(/^propagate\.trust: unknown option/);
    expect(() => createGateway(engine, { propagate: { mode: 'signed' } })).toThrow(/mode "signed" needs `trust` with a key/);
    expect(() => createGateway(engine, { trust: { keys: [KEY] }, propagate: { mode: 'signed', ttlSec: -1 } })).toThrow(/^propagate\.ttlSec/);
    // longer than the tokens the trust honours: refused here, not on every forwarded request
    expect(() => createGateway(engine, { trust: { keys: [KEY], maxTtlSec: 60 }, propagate: { ttlSec: 120 } })).toThrow(/^propagate\.ttlSec: expected seconds ≤ trust\.maxTtlSec \(60\), got 120/);
  });

  it('the gateway refuses what is not a decision where it needs one', () => {
    const { engine } = observedEngine();
    const gw = createGateway(engine);
    for (const x of [null, {}, 'feed']) {
      expect(() => gw.rejection(x as never)).toThrow(/rejection\(decision\): expected a decision/);
      expect(() => gw.propagationHeaders(x as never)).toThrow(/propagationHeaders\(decision\): expected a decision/);
      expect(() => gw.remainingMs(x as never)).toThrow(/remainingMs\(decision\): expected a decision/); // not a TypeError, not NaN
    }
    expect(gw.complete(null as never, 200)).toBe(false);
  });

  it('types rejection overrides by reason: a misspelt one is a type error, as it is a UsageError at run time', () => {
    const good: RejectionOverrides = { shed: { status: 429 } };
    // @ts-expect-error not a rejection reason
    const typo: RejectionOverrides = { unknown_secne: { status: 404 } };
    const { engine } = observedEngine();
    expect(() => withGearshift(engine, () => {}, { rejections: good })).not.toThrow();
    expect(() => withGearshift(engine, () => {}, { rejections: typo })).toThrow(UsageError);
  });

  it('sends a rejection header value Node accepts, Latin-1 included, as given', async () => {
    const { engine } = observedEngine();
    const server = createServer(withGearshift(engine, () => {}, { rejections: { unknown_scene: { headers: { 'X-Why': 'café\tclosed' } } } }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const r = await get(portOf(server), '/', { 'x-gearshift-scene': 'nope' });
      expect([r.status, Buffer.from(r.headers['x-why'] as string, 'latin1').toString('latin1')]).toEqual([404, 'café\tclosed']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the gateway refuses bad options the same way', () => {
    const { engine } = observedEngine();
    expect(() => createGateway(engine, 'str' as never)).toThrow(/options must be an object/);
    expect(() => createGateway(engine, { rejections: { nope: {} } } as never)).toThrow(/rejections\.nope: not a rejection reason/);
    expect(() => createGateway(engine, { rejections: { shed: { headers: { 'x-why': 'a\nb' } } } })).toThrow(/^rejections\.shed\.headers\.x-why: not a header Node can send/);
    expect(() => createGateway(engine, { trust: { keys: 'k' } } as never)).toThrow(/trust\.keys: expected an array/);
  });
});

describe('gateway entry', () => {
  it('returns the decision and a completion callback that records once', () => {
    const { engine, recorded } = observedEngine();
    const gw = createGateway(engine);
    const { decision, done } = gw.begin('feed', 'alice');
    expect(decision.version).toBe('wip');
    expect(gw.remainingMs(decision)).toBeGreaterThan(190);
    expect(done(200)).toBe(true);
    expect(done(500)).toBe(false);
    expect(done('error')).toBe(false);
    expect(recorded().map((c) => c.outcome)).toEqual(['success']);
    const e = gw.begin('feed', 'bob');
    e.done(503);
    expect(recorded().map((c) => c.outcome)).toEqual(['success', 'error']);
  });

  it('counts the time since the decision against the remaining budget', async () => {
    const { engine } = observedEngine();
    const gw = createGateway(engine);
    const { decision } = gw.begin('feed', 'bob');
    await sleep(25);
    expect(gw.remainingMs(decision)).toBeLessThanOrEqual(200 - 20); // feed's 200 ms, at least 20 of them gone
    engine.close();
  });

  it('records rejections at once and hands out the prebuilt response', () => {
    const { engine, recorded } = observedEngine();
    const gw = createGateway(engine);
    const { decision, done } = gw.begin('elsewhere', 'u');
    expect(decision.ok).toBe(false);
    expect(done(200)).toBe(false);
    const r = gw.rejection(decision);
    expect([r.status, JSON.parse(r.body.toString()).error, r.headers['content-type']]).toEqual([421, 'not_deployed', 'application/json; charset=utf-8']);
    expect(recorded().map((c) => c.outcome)).toEqual(['rejected']);
  });

  it('applies trust: signed tokens, proxy ranges, explicit trust', () => {
    const { engine } = observedEngine();
    const trust = new Trust({ keys: [KEY], proxies: ['10.0.0.0/8'] });
    const gw = createGateway(engine, { trust });
    expect(gw.route('feed', 'u', { version: 'wip', peer: '203.0.113.1' }).version).not.toBe('wip');
    expect(gw.route('feed', 'u', { version: 'wip', peer: '10.2.3.4' }).version).toBe('wip');
    expect(gw.route('feed', 'u', { version: 'wip', trusted: true }).version).toBe('wip');
    expect(gw.route('feed', 'u', { loadTest: true, peer: '198.51.100.1' }).version).not.toBe('soak');
    expect(gw.route(undefined, 'u', { signed: trust.sign({ scene: 'feed', version: 'wip' }) }).version).toBe('wip');
    expect(gw.route('feed', 'u', { signed: 'g1;forged' }).version).not.toBe('wip');
    expect(trust.counts()).toMatchObject({ signed: 1, proxy: 1, untrusted: 2, refused: { malformed: 1 } });
    // A header as Node types it may be a list: its first is the token, as the HTTP adapters read a repeated header.
    const token = trust.sign({ scene: 'feed', version: 'wip' });
    expect(gw.route('feed', 'u', { signed: [token, 'g1;forged'] }).version).toBe('wip');
    expect(gw.route('feed', 'u', { signed: ['g1;forged', token] }).version).not.toBe('wip');
    expect(gw.route('feed', 'u', { signed: [] }).version).not.toBe('wip');
  });

  it("reads plain hints handed over as header values the way the HTTP adapters read those headers", () => {
    // A gateway passes what its framework parsed: `loadTest: req.headers['x-gearshift-load-test']` is a string (or a
    // list). Read as a boolean only, a trusted load test's '1' went to production versions as real traffic, uncounted.
    const { engine } = observedEngine();
    const gw = createGateway(engine, { trust: { proxies: ['10.0.0.0/8'] } });
    const peer = '10.1.2.3';
    expect(gw.route('feed', 'u', { loadTest: '1', peer })).toMatchObject({ version: 'soak', loadTest: true });
    expect(gw.route('feed', 'u', { loadTest: ['yes', '0'], peer })).toMatchObject({ version: 'soak', loadTest: true });
    expect(gw.route('feed', 'u', { loadTest: 'off', peer })).toMatchObject({ loadTest: false });
    expect(gw.route('feed', 'u', { loadTest: '', peer })).toMatchObject({ loadTest: false });
    expect(gw.route('feed', 'u', { version: ['wip', 'main'], peer })).toMatchObject({ version: 'wip', reason: 'explicit' });
    expect(gw.trust.counts()).toMatchObject({ proxy: 3, untrusted: 0 });
    // from an untrusted peer the same values are refused and counted
    expect(gw.route('feed', 'u', { loadTest: 'true', peer: '203.0.113.9' }).loadTest).toBe(false);
    expect(gw.route('feed', 'u', { version: ['wip'], peer: '203.0.113.9' }).version).not.toBe('wip');
    expect(gw.trust.counts()).toMatchObject({ proxy: 3, untrusted: 2 });
    expect(engine.routeCounts().ignored).toMatchObject({ untrustedLoadTest: 1, untrustedVersion: 1 });
  });

  it('propagates a decision that the next service honours instead of deciding again', () => {
    const key = [KEY];
    const up = observedEngine();
    const down = observedEngine();
    const gwUp = createGateway(up.engine, { trust: { keys: key } });
    const gwDown = createGateway(down.engine, { trust: { keys: key } });
    // a unit whose split says canary upstream; downstream must serve the same version even though it would re-hash
    for (let i = 0; i < 50; i++) {
      const first = gwUp.begin('feed', `user-${i}`).decision;
      const headers = gwUp.propagationHeaders(first);
      const next = gwDown.route(undefined, undefined, { signed: headers['x-gearshift-hint'] });
      expect([next.scene, next.version, next.reason]).toEqual(['feed', first.version, 'explicit']);
    }
    // baggage carrier: honoured from a trusted proxy only
    const gwBag = createGateway(up.engine, { propagate: { mode: 'baggage' } });
    const d = gwUp.route('feed', 'alice');
    expect(gwBag.propagationHeaders(d).baggage).toContain('gearshift.version=wip');
  });
});

describe('prebuilt rejections', () => {
  // Only the fields the rejection table reads: its reason and the regulator's hint.
  const shed = (hint: number) => ({ reason: 'shed', retryAfterSec: hint }) as unknown as Decision;

  it('turns the Retry-After hint into whole seconds, rounded up, between 1 and 3600', () => {
    expect([0, 0.5, 1, 2.2, 59.01, 1e6, Number.NaN].map((h) => retryAfterSec(shed(h)))).toEqual([1, 1, 1, 3, 60, 3600, 1]);
  });

  it('lower-cases override headers and keeps content-length its own (it must match the body)', () => {
    const r = buildRejections({ shed: { headers: { 'X-Reason': 'busy', 'Content-Length': '0' } } }).of(shed(2));
    const h = r.headersFor(shed(2));
    expect(h).toMatchObject({ 'x-reason': 'busy', 'content-length': String(r.body.length), 'retry-after': '2' });
    expect(Object.keys(h)).not.toContain('X-Reason');
  });

  it('sends an empty-string body override as an empty text body', () => {
    const r = buildRejections({ shed: { body: '' } }).of(shed(2));
    expect([r.body.length, r.headersFor(shed(2))['content-type']]).toEqual([0, 'text/plain; charset=utf-8']);
  });

  it('refuses a status past 599', () => {
    expect(() => buildRejections({ shed: { status: 600 } })).toThrow(/rejections\.shed\.status: expected 400–599, got 600/);
  });
});
