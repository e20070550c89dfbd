/**
 * Chain review: gearshift wired through a chain of services on loopback, as a platform engineer would wire it:
 * a gateway (`gearshift/gateway`, the pattern of examples/gateway.mjs) → service A (Express) → service B (Fastify)
 * → service C (node:http), each with its own engine, sharing one HMAC key, each propagating its decision with
 * `propagate(...)`. Each test in the "findings" blocks states the README promise (or the reasonable expectation) it
 * checks, and fails on the code it was written against; the "held up" block records what was checked and kept.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { gearshift as expressGearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { propagate, type PropagateOptions } from '../src/adapters/propagate.js';
import { Trust } from '../src/adapters/trust.js';
import type { GearshiftConfig } from '../src/config/schema.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import type { Decision } from '../src/route/decision.js';
import { OUTCOME_NAMES } from '../src/sense/outcome.js';
import { closedAfterEach, get, KEY, portOf, sleep, waitFor } from './adapters-helpers.js';

// ---------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------

const { servers, apps, engines } = closedAfterEach();

/** feed: the scene the chain serves; ads: a second scene a hop may call for the same user request. */
function chainConfig(label = 'cfg-1', canaryWeight = 50): GearshiftConfig {
  return {
    version: label,
    scenes: {
      feed: {
        rtBudgetMs: 2000,
        versions: { main: { stage: 'base' }, canary: { stage: 'up' }, wip: { stage: 'dev' }, soak: { stage: 'lt' } },
        whitelist: { alice: 'wip' },
        split: [
          { version: 'canary', weight: canaryWeight },
          { version: 'main', weight: 100 - canaryWeight },
        ],
        params: { depth: 100 },
        layers: [{ name: 'rank', arms: [{ name: 'control', weight: 50 }, { name: 'v2', weight: 50, params: { model: 'ranker-v2' } }] }],
      },
      ads: {
        rtBudgetMs: 2000,
        versions: { main: { stage: 'base' }, canary: { stage: 'up' }, wip: { stage: 'dev' } },
        split: [
          { version: 'canary', weight: 10 },
          { version: 'main', weight: 90 },
        ],
      },
    },
  };
}

function engineOf(config: GearshiftConfig = chainConfig()): Gearshift {
  const e = createGearshift({ config });
  engines.push(e);
  return e;
}

interface Completion {
  scene: string | null;
  version: string | null;
  outcome: string;
  recorded: boolean;
}
/** Logs every `complete` call of an engine (still recorded by sensing). */
function observe(engine: Gearshift): Completion[] {
  const log: Completion[] = [];
  const orig = engine.complete.bind(engine);
  engine.complete = ((d: Decision, outcome: unknown, rtMs?: number) => {
    const recorded = orig(d, outcome as never, rtMs);
    log.push({ scene: d.scene, version: d.version, outcome: typeof outcome === 'number' ? OUTCOME_NAMES[outcome]! : String(outcome), recorded });
    return recorded;
  }) as Gearshift['complete'];
  return log;
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return portOf(server);
}

interface Hop {
  hop: string;
  scene: string | null;
  version: string | null;
  reason: string;
  arm: string | null;
  model: unknown;
  loadTest: boolean;
  config: string;
}
const hopOf = (hop: string, d: Decision | null | undefined): Hop => ({
  hop,
  scene: d?.scene ?? null,
  version: d?.version ?? null,
  reason: d?.reason ?? 'none',
  arm: d?.ok ? (d.arm('rank') ?? null) : null,
  model: d?.ok ? (d.param('model') ?? null) : null,
  loadTest: d?.loadTest ?? false,
  config: d?.configVersion ?? '',
});

/** How a hop calls the next one. */
interface Forwarding {
  /** Forward the unit header (x-gearshift-unit) to the next hop. */
  unit?: boolean;
  /** Forward the incoming request's headers wholesale (as a tracing / header-forwarding middleware does). */
  all?: boolean;
  /** The scene the next hop serves (default: this hop's). */
  scene?: string;
  /** Propagation options beside the hop's trust. */
  propagate?: Omit<PropagateOptions, 'trust'>;
}

const HOP_HEADERS = ['host', 'connection', 'content-length', 'transfer-encoding'];
function outgoing(d: Decision, incoming: IncomingHttpHeaders, trust: Trust, f: Forwarding): Record<string, string> {
  const h: Record<string, string> = {};
  if (f.all) for (const [k, v] of Object.entries(incoming)) if (!HOP_HEADERS.includes(k) && typeof v === 'string') h[k] = v;
  const unit = incoming['x-gearshift-unit'];
  if (f.unit && typeof unit === 'string') h['x-gearshift-unit'] = unit;
  h['x-gearshift-scene'] = f.scene ?? d.scene!;
  return propagate(d, h, { trust, ...f.propagate }) as Record<string, string>;
}

/** GET to the next hop; its JSON body's `hops`, or a hop saying what status it answered. */
async function callNext(port: number | undefined, headers: Record<string, string>): Promise<Hop[]> {
  if (port === undefined) return [];
  const r = await get(port, '/', headers);
  if (r.status !== 200) return [{ hop: `status ${r.status}`, scene: null, version: null, reason: r.body, arm: null, model: null, loadTest: false, config: '' }];
  return (JSON.parse(r.body) as { hops: Hop[] }).hops;
}

interface HopOptions {
  config?: GearshiftConfig;
  trust?: ConstructorParameters<typeof Trust>[0];
  next?: number;
  forward?: Forwarding;
  debugHeaders?: boolean;
}

/** Service C (or any leaf/middle hop): node:http. */
async function nodeHop(name: string, o: HopOptions = {}): Promise<{ port: number; engine: Gearshift; trust: Trust }> {
  const engine = engineOf(o.config);
  const listener = withGearshift(
    engine,
    async (req, res) => {
      const d = req.gearshift;
      const down = d && o.next !== undefined ? await callNext(o.next, outgoing(d, req.headers, listener.trust, o.forward ?? {})) : [];
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hops: [hopOf(name, d), ...down] }));
    },
    { trust: o.trust ?? { keys: [KEY] }, debugHeaders: o.debugHeaders },
  );
  return { port: await listen(createServer(listener)), engine, trust: listener.trust };
}

/** Service B: Fastify. */
async function fastifyHop(name: string, o: HopOptions = {}): Promise<{ port: number; engine: Gearshift; trust: Trust }> {
  const engine = engineOf(o.config);
  const app = Fastify();
  apps.push(app);
  await app.register(gearshiftPlugin, { engine, trust: o.trust ?? { keys: [KEY] }, debugHeaders: o.debugHeaders });
  app.get('/', async (request) => {
    const d = request.gearshift;
    const down = d && o.next !== undefined ? await callNext(o.next, outgoing(d, request.headers, app.gearshiftAdapter.trust, o.forward ?? {})) : [];
    return { hops: [hopOf(name, d), ...down] };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: (app.server.address() as { port: number }).port, engine, trust: app.gearshiftAdapter.trust };
}

/** Service A: Express. */
async function expressHop(name: string, o: HopOptions = {}): Promise<{ port: number; engine: Gearshift; trust: Trust }> {
  const engine = engineOf(o.config);
  const gs = expressGearshift(engine, { trust: o.trust ?? { keys: [KEY] }, debugHeaders: o.debugHeaders });
  const app = express();
  app.use(gs);
  app.get('/', async (req, res, next) => {
    try {
      const d = req.gearshift;
      const down = d && o.next !== undefined ? await callNext(o.next, outgoing(d, req.headers, gs.trust, o.forward ?? {})) : [];
      res.json({ hops: [hopOf(name, d), ...down] });
    } catch (err) {
      next(err);
    }
  });
  return { port: await listen(createServer(app)), engine, trust: gs.trust };
}

/**
 * The gateway as examples/gateway.mjs writes it: decide once, forward with `gw.propagationHeaders(decision)` plus
 * the scene (and, when `forwardUnit`, the unit header, which the example does not send).
 */
async function gatewayHop(next: number, o: { forwardUnit?: boolean; trust?: ConstructorParameters<typeof Trust>[0] } = {}) {
  const engine = engineOf();
  const gw = createGateway(engine, { trust: o.trust ?? { keys: [KEY] } });
  const decisions: Decision[] = [];
  const port = await listen(
    createServer((req, res) => {
      const { decision, done } = gw.begin(req.headers['x-gearshift-scene'], req.headers['x-gearshift-unit'], {
        signed: req.headers['x-gearshift-hint'],
        peer: req.socket.remoteAddress,
      });
      decisions.push(decision);
      if (!decision.ok) {
        const r = gw.rejection(decision);
        res.writeHead(r.status, r.headers).end(r.body);
        return;
      }
      const headers: Record<string, string> = { ...gw.propagationHeaders(decision), 'x-gearshift-scene': decision.scene };
      const unit = req.headers['x-gearshift-unit'];
      if (o.forwardUnit && typeof unit === 'string') headers['x-gearshift-unit'] = unit;
      void callNext(next, headers).then(
        (down) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ hops: [hopOf('gateway', decision), ...down] }));
          done(200);
        },
        () => {
          done('error');
          res.writeHead(502).end();
        },
      );
    }),
  );
  return { port, engine, gw, decisions };
}

async function hopsFrom(port: number, headers: Record<string, string>): Promise<Hop[]> {
  const r = await get(port, '/', headers);
  expect(r.status, r.body).toBe(200);
  return (JSON.parse(r.body) as { hops: Hop[] }).hops;
}

/** A unit of feed whose `rank` arm is `v2` (so a hop that decides without the unit, `control`, differs visibly). */
function unitWithArm(arm: string): string {
  const e = engineOf();
  for (let i = 0; i < 1000; i++) {
    const d = e.route('feed', `user-${i}`);
    if (d.ok && d.arm('rank') === arm) return `user-${i}`;
  }
  throw new Error('no such unit');
}

// ---------------------------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------------------------

describe('finding 1: the gateway pattern propagates the version but not the params', () => {
  // README (Routing): "Per request, gearshift decides scene → code version → business-experiment params
  // (… deterministic and sticky)"; (Consistency across services): propagate "write[s] the decision into an outgoing
  // request so the next service serves the same version instead of deciding again"; examples/gateway.mjs: "a user
  // sees one consistent version across services". The token carries scene, version, config version and bucket, but
  // not the unit (nor its hash, nor the arms), and the example gateway does not forward the unit header. Downstream
  // serves the same version but, with no unit, "each applicable layer gives its first arm": the user who was in the
  // ranker-v2 arm at the gateway gets `control` (and the scene default params) at every hop below it. Nothing in the
  // README said the unit must be forwarded separately.
  // Resolved by documenting it (README, Consistency across services: "What it does not carry is the unit … forward
  // it too") and by examples/gateway.mjs forwarding `x-user`: the gateway here forwards the unit, as the example now
  // does. (Carrying the unit's hash in the token would change its format, which every hop of a fleet must read.)
  it('a user in the ranker-v2 arm at the gateway gets ranker-v2 at A and B too', async () => {
    const unit = unitWithArm('v2');
    const b = await fastifyHop('B');
    const a = await expressHop('A', { next: b.port, forward: { unit: true } });
    const g = await gatewayHop(a.port, { forwardUnit: true }); // as examples/gateway.mjs: propagationHeaders + scene + unit
    const hops = await hopsFrom(g.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': unit });
    expect(hops.map((h) => h.hop)).toEqual(['gateway', 'A', 'B']);
    expect(hops[0]).toMatchObject({ arm: 'v2', model: 'ranker-v2' });
    // same version everywhere (this part holds) …
    expect(hops.map((h) => h.version)).toEqual([hops[0]!.version, hops[0]!.version, hops[0]!.version]);
    // … but not the same params
    expect(hops.map((h) => `${h.hop}:${h.arm}:${String(h.model)}`)).toEqual(['gateway:v2:ranker-v2', 'A:v2:ranker-v2', 'B:v2:ranker-v2']);
  });

  it('without the unit, the next hops serve the propagated version with each layer\'s no-unit arm (as documented)', async () => {
    const unit = unitWithArm('v2');
    const b = await fastifyHop('B');
    const a = await expressHop('A', { next: b.port, forward: { unit: true } });
    const g = await gatewayHop(a.port); // propagationHeaders + scene only
    const hops = await hopsFrom(g.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': unit });
    expect(hops.map((h) => h.version)).toEqual([hops[0]!.version, hops[0]!.version, hops[0]!.version]);
    expect(hops.map((h) => `${h.hop}:${h.arm}`)).toEqual(['gateway:v2', 'A:control', 'B:control']);
  });
});

describe('finding 2: baggage propagation steers another scene by the caller\'s version name', () => {
  // README (Trust): "a token for one scene does not steer another (`scene_mismatch`)"; (Routing) `dev`: "reached
  // only by a trusted explicit version or a whitelist". Signed propagation keeps a decision inside its scene. The
  // baggage carrier does not: the hop below reads `gearshift.version` whatever `gearshift.scene` says, and serves the
  // other scene's version of the same name as `explicit`. Here A serves alice feed's `wip` (her feed whitelist) and
  // calls the ads service for the same request: ads serves alice ads' dev version `wip`, which nobody pinned her to
  // (and every feed-canary user lands on ads' 10% canary: version names like main/canary/v2 repeat across scenes).
  it('ads does not serve its dev version to a user whitelisted to a dev version of feed', async () => {
    const ads = await fastifyHop('ads', { trust: { keys: [KEY], proxies: ['127.0.0.1'] } });
    const a = await expressHop('A', { next: ads.port, forward: { unit: true, scene: 'ads', propagate: { mode: 'baggage' } } });
    const hops = await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' });
    expect(hops[0]).toMatchObject({ hop: 'A', scene: 'feed', version: 'wip', reason: 'whitelist' });
    expect(hops[1]).toMatchObject({ hop: 'ads', scene: 'ads' });
    expect(hops[1]!.reason, `ads served ${hops[1]!.version} because feed's decision named it`).not.toBe('explicit');
    expect(hops[1]!.version).not.toBe('wip');
  });

  it('the same call in signed mode does not (scene_mismatch): the two carriers disagree', async () => {
    // Control for the test above: passes on the current code.
    const ads = await fastifyHop('ads', { trust: { keys: [KEY], proxies: ['127.0.0.1'] } });
    const a = await expressHop('A', { next: ads.port, forward: { unit: true, scene: 'ads' } });
    const hops = await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice' });
    expect(hops[1]).toMatchObject({ hop: 'ads', scene: 'ads', version: 'main', reason: 'split' });
    expect(ads.trust.counts().refused.scene_mismatch).toBe(1);
  });
});

describe('finding 3: a forwarded plain hint header outranks the decision propagated in baggage', () => {
  // README (Trust): "an untrusted request never reaches a `dev` (except by whitelist) or `lt` version";
  // (Consistency across services): propagate makes "the next service serve[] the same version instead of deciding
  // again". A (Express, the edge) rightly ignores an untrusted client's `x-gearshift-version: wip` /
  // `x-gearshift-load-test: 1`; A forwards the incoming headers (as header-forwarding middleware does) and
  // propagates its decision with `propagate(..., { mode: 'baggage' })`. B trusts A's address. `propagate` strips the
  // client's `gearshift.*` baggage entries but leaves the client's plain hint headers beside them, and B reads the
  // plain header *before* the propagated baggage (`version ??= baggage.version`; `loadTest ||= baggage.lt`): B serves
  // the client's choice, not A's decision. (The README asks a trusted proxy to drop the client's x-gearshift-*
  // headers; `propagate`, the function that writes these headers, does it for baggage only, and in signed mode the
  // token outranks them, so the two carriers disagree again.)
  it.each([
    ['x-gearshift-version', 'wip'],
    ['x-gearshift-load-test', '1'],
  ])('client header %s: %s at A does not reach B past the baggage A propagated', async (header, value) => {
    const b = await fastifyHop('B', { trust: { keys: [KEY], proxies: ['127.0.0.1'] } });
    const a = await expressHop('A', { trust: {}, next: b.port, forward: { all: true, propagate: { mode: 'baggage' } } });
    const hops = await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-3', [header]: value });
    expect(hops[0]).toMatchObject({ hop: 'A', reason: 'split', loadTest: false });
    expect(['main', 'canary']).toContain(hops[0]!.version);
    expect({ version: hops[1]!.version, loadTest: hops[1]!.loadTest }, 'B served what the untrusted client asked A for').toEqual({ version: hops[0]!.version, loadTest: false });
  });
});

describe('finding 4: a gateway passing its load-test header as a string sends the load test to production', () => {
  // README (Routing, step 3): trusted load-test traffic goes to the `lt` version, "never served by `base` or `up`";
  // (Options) the HTTP adapters read the marker "on unless it says off …, so a load tool's `TRUE` or `yes` is not
  // sent to production versions". The gateway entry takes `loadTest` from the caller, who has it from a header:
  // `req.headers['x-gearshift-load-test']`, the string '1'. The gateway keeps only `=== true`, so a trusted load test
  // from a trusted proxy lands on main/canary, with no ignored bit and no count (not even `untrusted`): silently.
  it("begin(scene, unit, { loadTest: '1', peer: <trusted proxy> }) is not served by base or up without a trace", () => {
    const engine = engineOf();
    const gw = createGateway(engine, { trust: { proxies: ['10.0.0.0/8'] } });
    const { decision } = gw.begin('feed', 'user-3', { loadTest: '1' as unknown as boolean, peer: '10.1.2.3' });
    const silentlyProduction = decision.ok && (decision.stage === 'base' || decision.stage === 'up') && decision.ignored === 0;
    expect(silentlyProduction, `served by ${decision.version} (${decision.reason}), ignored=${decision.ignored}, trust=${JSON.stringify(gw.trust.counts())}`).toBe(false);
  });
});

// examples/gateway.mjs's request handler (examples/gateway-proxy.mjs, the very code the example runs), in a child
// process (an unhandled 'error' there ends the process, which must not be the test runner's).
const EXAMPLE_GATEWAY = String.raw`
import { createServer } from 'node:http';
import { createGearshift } from 'gearshift';
import { createGateway } from 'gearshift/gateway';
import { gatewayHandler } from './examples/gateway-proxy.mjs';
const key = 'test-key-0123456789-0123456789-abcdef';
const config = { version: 'gw-1', scenes: { feed: { rtBudgetMs: Number(process.env.BUDGET), versions: { v1: { stage: 'base' } } } } };
const upstreams = { v1: Number(process.env.UPSTREAM) };
const engine = createGearshift({ config });
const orig = engine.complete.bind(engine);
engine.complete = (d, o, rt) => { const r = orig(d, o, rt); console.log('COMPLETE ' + JSON.stringify({ outcome: o, recorded: r })); return r; };
const gw = createGateway(engine, { trust: { keys: [key] } });
const gateway = createServer(gatewayHandler(gw, upstreams));
gateway.listen(0, '127.0.0.1', () => console.log('PORT ' + gateway.address().port));
setTimeout(() => process.exit(0), Number(process.env.LIFE)).unref();
process.stdin.on('data', () => {
  const st = engine.stats('feed', 'v1');
  console.log('STATS ' + JSON.stringify({ count: st.count, success: st.success, error: st.error, timeout: st.timeout, clientAbort: st.clientAbort }));
  gateway.closeAllConnections(); gateway.close(); engine.close(); process.exit(0);
});
`;

interface ExampleRun {
  completions: { outcome: unknown; recorded: boolean }[];
  /** How the engine classified what was recorded (scene feed, version v1), read when the gateway is stopped. */
  classes: { count: number; success: number; error: number; timeout: number; clientAbort: number } | undefined;
  exitCode: number | null;
  stderr: string;
}

/**
 * Runs the example gateway against `upstream` (a port), lets `client(port)` talk to it, waits `settleMs`, stops it.
 */
async function runExampleGateway(upstream: number, budgetMs: number, client: (port: number) => Promise<void>, settleMs: number): Promise<ExampleRun> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', EXAMPLE_GATEWAY], {
    cwd: process.cwd(),
    env: { ...process.env, UPSTREAM: String(upstream), BUDGET: String(budgetMs), LIFE: '10000' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  await waitFor(() => /PORT \d+/.test(out) || exitCode !== undefined, 10_000);
  const port = Number(/PORT (\d+)/.exec(out)![1]);
  await client(port);
  await sleep(settleMs);
  if (exitCode === undefined) child.stdin.write('stop\n');
  const code = await exited;
  const completions = [...out.matchAll(/COMPLETE (.*)/g)].map((m) => JSON.parse(m[1]!) as { outcome: unknown; recorded: boolean });
  const st = /STATS (.*)/.exec(out);
  return { completions, classes: st ? (JSON.parse(st[1]!) as ExampleRun['classes']) : undefined, exitCode: code, stderr };
}

/** The classes the engine recorded, one name per request (e.g. ['timeout']). */
const recordedOutcomes = (run: ExampleRun): string[] => {
  const c = run.classes!;
  const names: string[] = [];
  for (const k of ['success', 'error', 'timeout', 'clientAbort'] as const) for (let i = 0; i < c[k]; i++) names.push(k);
  expect(names.length, 'every recorded request is in exactly one class').toBe(c.count);
  expect(run.completions.filter((x) => x.recorded).length, 'done() calls that recorded').toBe(c.count);
  return names;
};

/** A GET that resolves with the status, or with 'no answer' / the error code if the exchange fails or stalls. */
function tryGet(port: number, headers: Record<string, string>, giveUpMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/items', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`status ${res.statusCode}`));
      res.on('error', () => resolve(`status ${res.statusCode}, body cut`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.setTimeout(giveUpMs, () => {
      req.destroy();
      resolve('no answer');
    });
    req.end();
  });
}

describe('finding 5: the example gateway (examples/gateway.mjs) and upstream / client failures', () => {
  // README (Gateways and proxies): "`done` records once"; (Adapters): the outcome is reported "exactly once, whether it
  // finished, failed or the client went away"; (Examples): examples/gateway.mjs is the reference wiring, "a gateway
  // deciding once and forwarding to per-version upstreams". Its proxy code handles connect errors and 5xx, but not an
  // upstream that fails after its headers, nor a client that leaves mid-proxy.

  it('an upstream that resets after sending its headers: the client is answered or cut, and one error is recorded', async () => {
    // The upstream answers 200 headers and a few bytes, then its process dies (a reset connection). The example
    // listens for the upstream response's 'end' only: Node reports the reset as 'aborted' / 'error' on that
    // response (which the example does not listen to, and Node then swallows), the upstream *request* emits no
    // 'error' once a response has arrived, and `pipe` does not end the destination. So `done` is never called
    // (the request is never recorded: no error, no timeout, nothing) and the gateway's client waits forever with a
    // half-sent 200 (here it gives up after 1.5 s, which is not recorded either).
    const upPort = await listen(
      createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 30);
      }),
    );
    let seen = '';
    const run = await runExampleGateway(upPort, 1000, async (port) => {
      seen = await tryGet(port, { 'x-scene': 'feed', 'x-user': 'u1' }, 1500);
    }, 100);
    expect(run.exitCode, `gateway exit code; stderr: ${run.stderr}`).toBe(0);
    expect.soft(recordedOutcomes(run), 'recorded by the gateway').toEqual(['error']);
    expect.soft(seen, 'the client of the gateway').not.toBe('no answer');
  });

  it('a client that leaves mid-proxy is recorded as a client abort, not as a success', async () => {
    // The client gives up at ~50 ms; the upstream answers 200 at ~250 ms, inside the 1 s budget. The example never
    // watches its own response's close: it calls done(200) when the upstream ends, a success served to nobody (and
    // the upstream call is never cancelled). README (Outcome classes): `clientAbort`: "the client closed the
    // connection before the response and before the budget ran out".
    const upPort = await listen(
      createServer((_req, res) => {
        setTimeout(() => res.end('late'), 250);
      }),
    );
    const run = await runExampleGateway(upPort, 1000, async (port) => {
      await tryGet(port, { 'x-scene': 'feed', 'x-user': 'u1' }, 50);
    }, 400);
    expect(run.exitCode).toBe(0);
    expect(recordedOutcomes(run)).toEqual(['clientAbort']);
  });
});

describe('finding 6: a propagated token can expire milliseconds after it was signed', () => {
  // README (Consistency across services): the signed carrier is "valid `ttlSec`"; (Trust) "Keep lifetimes short".
  // `sign` computes the expiry as floor(now) + ceil(ttlSec), in whole seconds, and `verify` refuses exp <= now: a
  // token signed for 1 s at …:00.999 expires at …:01.000, one millisecond later. Its real lifetime is anywhere
  // in (ttlSec − 1, ttlSec], so with the short lifetimes the README recommends (1–2 s), a hop that takes a few ms
  // sees a fraction of tokens refused as `expired`, and decides again (a load test then lands on production, see
  // finding 7). Clocks are injected here (both hops read the same clock, 1 ms apart).
  it('a token A signs with ttlSec 1 is still honoured by B 1 ms later', async () => {
    let clock = 1_000_999; // unix ms: 1000.999 s
    const now = () => clock;
    const b = await fastifyHop('B', { trust: { keys: [KEY], now } });
    const aTrust = new Trust({ keys: [KEY], now });
    const aEngine = engineOf();
    const d = aEngine.route('feed', 'alice'); // whitelist → wip (dev): B can serve it only from the token
    expect(d.version).toBe('wip');
    const headers = propagate(d, { 'x-gearshift-scene': 'feed' }, { trust: aTrust, ttlSec: 1 }) as Record<string, string>;
    clock += 1; // B verifies 1 ms later
    const hops = await hopsFrom(b.port, headers);
    expect(b.trust.counts().refused.expired, 'B refused the 1-second token as expired after 1 ms').toBe(0);
    expect(hops[0]).toMatchObject({ version: 'wip', reason: 'explicit' });
  });
});

describe('finding 7: a load test whose token the next hop refuses lands on production there', () => {
  // README (Routing, step 3): load-test traffic is served by the `lt` version "or … rejected with `no_lt_version`,
  // never served by `base` or `up`"; (Trust) a load-test token for another scene still marks the request as load
  // test, because "a refused token would land that load on ads' production versions". The same happens whenever a
  // hop refuses the token for any other reason while its MAC is good: expired on a slow hop (finding 6), or
  // `too_long_lived` because the hops disagree on `maxTtlSec` during a rollout (A signs for its default 30 s; B was
  // deployed with maxTtlSec 10). B then routes the load test as ordinary traffic: main/canary, `loadTest: false`,
  // counted in the scene's business figures; the only trace is trustCounts().refused. `propagate` checks `ttlSec`
  // against A's own trust only, so nothing at A's start-up can see B's limit.
  it('B (maxTtlSec 10) does not serve a load test propagated by A (default ttl 30 s) with main or canary', async () => {
    const b = await fastifyHop('B', { trust: { keys: [KEY], maxTtlSec: 10 } });
    const a = await expressHop('A', { next: b.port, forward: { unit: true } });
    const token = new Trust({ keys: [KEY] }).sign({ scene: 'feed', loadTest: true }, 5);
    const hops = await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'user-3', 'x-gearshift-hint': token });
    expect(hops[0]).toMatchObject({ hop: 'A', version: 'soak', loadTest: true });
    expect(b.trust.counts().refused.too_long_lived).toBe(1);
    const atB = hops[1]!;
    const landedOnProduction = atB.hop === 'B' && (atB.version === 'main' || atB.version === 'canary');
    expect(landedOnProduction, `load test served at B by ${atB.version} (${atB.reason}), loadTest=${atB.loadTest}`).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Held up (pass on the current code): what was checked and kept
// ---------------------------------------------------------------------------------------------------------------

describe('held up', () => {
  it('signed, unit forwarded: gateway → A (Express) → B (Fastify) → C (node:http) serve one version and one arm per unit', async () => {
    const c = await nodeHop('C');
    const b = await fastifyHop('B', { next: c.port, forward: { unit: true } });
    const a = await expressHop('A', { next: b.port, forward: { unit: true } });
    const g = await gatewayHop(a.port, { forwardUnit: true });
    for (const unit of ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6', 'alice']) {
      const hops = await hopsFrom(g.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': unit });
      expect(hops.map((h) => h.hop)).toEqual(['gateway', 'A', 'B', 'C']);
      expect(new Set(hops.map((h) => `${h.version}/${h.arm}`)).size, JSON.stringify(hops)).toBe(1);
      expect(hops.slice(1).every((h) => h.reason === 'explicit')).toBe(true);
    }
    expect(b.trust.counts()).toMatchObject({ signed: 7, untrusted: 0 });
  });

  it('rollout in progress: B (canary 5%, cfg-1) follows A (canary 50%, cfg-2) for a unit A put on canary', async () => {
    const b = await fastifyHop('B', { config: chainConfig('cfg-1', 5) });
    const a = await expressHop('A', { config: chainConfig('cfg-2', 50), next: b.port, forward: { unit: true } });
    const e = engineOf(chainConfig('cfg-1', 5));
    let unit = '';
    for (let i = 0; i < 500 && !unit; i++) {
      const u = `user-${i}`;
      const d = e.route('feed', u);
      if (d.version === 'main' && engineOf(chainConfig('cfg-2', 50)).route('feed', u).version === 'canary') unit = u;
    }
    const hops = await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': unit });
    expect(hops.map((h) => [h.version, h.config])).toEqual([
      ['canary', 'cfg-2'],
      ['canary', 'cfg-1'],
    ]);
  });

  it('a trusted load test at the gateway (signed) lands on lt at A, B and C; in another scene on its lt or a refusal', async () => {
    const c = await nodeHop('C');
    const b = await fastifyHop('B', { next: c.port, forward: { unit: true } });
    const a = await expressHop('A', { next: b.port, forward: { unit: true } });
    const g = await gatewayHop(a.port, { forwardUnit: true });
    const token = new Trust({ keys: [KEY] }).sign({ scene: 'feed', loadTest: true });
    const hops = await hopsFrom(g.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'lt-1', 'x-gearshift-hint': token });
    expect(hops.map((h) => [h.hop, h.version, h.loadTest])).toEqual([
      ['gateway', 'soak', true],
      ['A', 'soak', true],
      ['B', 'soak', true],
      ['C', 'soak', true],
    ]);
    // ads has no lt version: a load test of feed calling ads is refused there, never served by main/canary
    const ads = await fastifyHop('ads');
    const a2 = await expressHop('A2', { next: ads.port, forward: { unit: true, scene: 'ads' } });
    const hops2 = await hopsFrom(a2.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'lt-1', 'x-gearshift-hint': token });
    expect(hops2[1]!.hop).toBe('status 404');
    expect(hops2[1]!.reason).toContain('no_lt_version');
  });

  it('an untrusted client claiming load test or a dev version anywhere in a signed chain reaches neither', async () => {
    const c = await nodeHop('C', { trust: { keys: [KEY], proxies: ['127.0.0.1'] } });
    const b = await fastifyHop('B', { trust: { keys: [KEY], proxies: ['127.0.0.1'] }, next: c.port, forward: { all: true } });
    const a = await expressHop('A', { trust: { keys: [KEY] }, next: b.port, forward: { all: true } });
    const forged = 'g1;9999999999;l;feed;wip;;-1;' + 'A'.repeat(43);
    const hops = await hopsFrom(a.port, {
      'x-gearshift-scene': 'feed',
      'x-gearshift-unit': 'user-3',
      'x-gearshift-load-test': '1',
      'x-gearshift-version': 'wip',
      baggage: 'gearshift.lt=1,gearshift.version=wip,tenant=acme',
      'x-gearshift-hint': forged,
    });
    expect(hops.map((h) => h.hop)).toEqual(['A', 'B', 'C']);
    for (const h of hops) {
      expect(h.loadTest).toBe(false);
      expect(['main', 'canary']).toContain(h.version);
    }
  });

  it('baggage mode keeps foreign entries (with properties) and replaces gearshift ones across hops', async () => {
    let seen: string | undefined;
    const c = await listen(
      createServer((req: IncomingMessage, res: ServerResponse) => {
        seen = String(req.headers.baggage);
        res.end(JSON.stringify({ hops: [] }));
      }),
    );
    const b = await fastifyHop('B', { trust: { keys: [KEY], proxies: ['127.0.0.1'] }, next: c, forward: { all: true, unit: true, propagate: { mode: 'baggage' } } });
    const a = await expressHop('A', { trust: { keys: [KEY] }, next: b.port, forward: { all: true, unit: true, propagate: { mode: 'baggage' } } });
    await hopsFrom(a.port, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'alice', baggage: 'tenant=acme;p=1, gearshift.version=main, k2=v%202' });
    expect(seen).toBe('tenant=acme;p=1,k2=v%202,gearshift.scene=feed,gearshift.version=wip,gearshift.config=cfg-1');
  });

  it('a slow downstream: A aborts its call at its own budget and records one timeout; B records the client that left', async () => {
    const bEngine = engineOf();
    const bLog = observe(bEngine);
    const b = withGearshift(bEngine, async (req, res) => {
      await sleep(900);
      if (!res.destroyed) res.end('late');
    }, { trust: { keys: [KEY] } });
    const bPort = await listen(createServer(b));
    const cfg = chainConfig();
    // 300 ms: at 100 ms a loaded CI machine sometimes aborted A's call before B had even received it (nothing to record)
    (cfg.scenes.feed as { rtBudgetMs: number }).rtBudgetMs = 300;
    const aEngine = engineOf(cfg);
    const aLog = observe(aEngine);
    const gs = expressGearshift(aEngine, { trust: { keys: [KEY] } });
    const app = express();
    app.use(gs);
    app.get('/', async (req, res, next) => {
      try {
        const r = await fetch(`http://127.0.0.1:${bPort}/`, { headers: propagate(req.gearshift!, { 'x-gearshift-scene': 'feed' }, { trust: gs.trust }) as Record<string, string>, signal: gs.signal(req) });
        res.send(await r.text());
      } catch (err) {
        next(err);
      }
    });
    app.use(gs.errors);
    const aPort = await listen(createServer(app));
    const r = await get(aPort, '/', { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'u1' });
    expect(r.status).toBe(500);
    await waitFor(() => bLog.some((c) => c.recorded));
    expect(aLog.filter((c) => c.recorded).length).toBe(1);
    expect(aEngine.stats()!.timeout).toBe(1);
    expect(bLog.filter((c) => c.recorded).map((c) => c.outcome)).toEqual(['clientAbort']);
  });
  it.each([
    ['refuses the connection', 'refused', ['error'], 'status 502'],
    ['answers 503', 'fivexx', ['error'], 'status 503'],
    ['never answers (socket timeout at the budget)', 'silent', ['timeout'], 'status 504'], // no answer in time: 504 (502 until the twenty-third session),
  ])('the example gateway, when its upstream %s, records it once and answers the client', async (_what, kind, outcomes, client) => {
    let upPort: number;
    if (kind === 'refused') {
      const s = createServer();
      upPort = await new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r(portOf(s))));
      await new Promise((r) => s.close(r));
    } else {
      upPort = await listen(createServer((_req, res) => (kind === 'fivexx' ? res.writeHead(503).end('down') : undefined)));
    }
    let seen = '';
    const run = await runExampleGateway(upPort, 150, async (port) => {
      seen = await tryGet(port, { 'x-scene': 'feed', 'x-user': 'u1' }, 2000);
    }, 50);
    expect(seen).toBe(client);
    expect(recordedOutcomes(run)).toEqual(outcomes);
  });
  it('B without the propagated version (renamed in a rollout) or without the scene: decides again / refuses, and says so', async () => {
    const renamed = chainConfig('cfg-2');
    const feed = renamed.scenes.feed as { versions: Record<string, { stage: string }>; split: { version: string; weight: number }[]; whitelist: Record<string, string> };
    feed.versions = { main: { stage: 'base' }, canary2: { stage: 'up' }, wip: { stage: 'dev' }, soak: { stage: 'lt' } };
    feed.split = [{ version: 'canary2', weight: 50 }, { version: 'main', weight: 50 }];
    const b = await fastifyHop('B', { config: renamed, debugHeaders: true });
    const aEngine = engineOf();
    let unit = '';
    for (let i = 0; i < 100 && !unit; i++) if (aEngine.route('feed', `user-${i}`).version === 'canary') unit = `user-${i}`;
    const d = aEngine.route('feed', unit);
    const r = await get(b.port, '/', propagate(d, { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': unit }, { trust: new Trust({ keys: [KEY] }) }) as Record<string, string>);
    expect(r.headers['x-gearshift-reason']).toBe('split');
    expect(r.headers['x-gearshift-version']).toBe('canary2'); // same buckets, new name
    expect(b.engine.routeCounts().ignored.unknownVersion).toBe(1);
    // a scene B does not deploy: 421, whether the scene comes from B's header or from the token alone
    const c = await nodeHop('C', { config: { ...chainConfig(), deployedHere: ['ads'] } });
    const token = propagate(d, {}, { trust: new Trust({ keys: [KEY] }) }) as Record<string, string>;
    expect((await get(c.port, '/', token)).status).toBe(421);
    expect((await get(c.port, '/', { ...token, 'x-gearshift-scene': 'feed' })).status).toBe(421);
  });
});
