/**
 * Hostile requests over real HTTP, on all three adapters (Express 4 and 5). Seeded random requests (scene, unit,
 * cookie, hint, signed and baggage headers, each well-formed, junk, repeated or in any case; pipelined on keep-alive
 * connections) go to a server whose handler echoes its decision. Whatever arrives:
 * - every request gets an answer and the server keeps serving;
 * - nothing untrusted steers: with loopback outside the trusted proxies, only an unaltered signed token reaches a
 *   `dev` version (but for the whitelist) or the `lt` version; with loopback trusted, plain hints may too, and
 *   load-test traffic still never lands on `base` or `up` but by a trusted explicit version;
 * - the whitelisted unit `alice` of `feed`, with nothing trusted that could outrank the whitelist, is pinned;
 * - every decision is recorded exactly once.
 * It found that a signed token's MAC could be respelt (see test/trust.test.ts).
 */
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { withGearshift } from '../src/adapters/http.js';
import { createTrust } from '../src/adapters/trust.js';
import type { Decision } from '../src/route/decision.js';
import { KEY, observedEngine, portOf, waitFor } from './adapters-helpers.js';
import { FUZZ_SEED, fuzzCases, headerChar, replay, Rng } from './fuzz.js';

/** One fixed time for signing and checking, so that a seed replays the same tokens. */
const now = () => Date.UTC(2026, 10, 21);
const signer = createTrust({ keys: [KEY], now });
const otherKey = createTrust({ keys: ['another-key-0123456789-0123456789-abcdef'], now });
/** Trust as the servers hold it: the key, and a proxy range loopback is not in. */
const TRUST = { keys: [KEY], proxies: ['10.0.0.0/8'], now };

/** A request as sent, and what an honest router may do with it. */
interface Sent {
  wire: string;
  /** The unaltered signed tokens it carries (any may be the one honoured). */
  tokens: { version: string; loadTest: boolean }[];
  /** The scene of its first scene header, which most of its signed tokens name too. */
  scene: string;
}

const WORDS = ['feed', 'search', 'elsewhere', 'nope', 'alice', 'bob', 'wip', 'soak', 'main', 'canary', '1', 'true', '__proto__', 'constructor', 'toString', ''];
const HINT_NAMES = ['x-gearshift-unit', 'x-gearshift-version', 'x-gearshift-load-test', 'x-gearshift-hint', 'baggage', 'cookie'];

function word(r: Rng): string {
  if (r.chance(0.6)) return r.pick(WORDS);
  return r.chars(r.length(300), headerChar).trim();
}

/** A header name in any case: HTTP names are case-insensitive, and Node lowercases them. */
const anyCase = (r: Rng, name: string): string => [...name].map((c) => (r.chance(0.3) ? c.toUpperCase() : c)).join('');

function baggage(r: Rng): string {
  const members = ['gearshift.version=wip', 'gearshift.version=soak', 'gearshift.lt=1', 'gearshift.lt=true', 'gearshift.scene=feed', 'gearshift.scene=elsewhere', 'gearshift.bucket=7', 'gearshift.config=%zz', 'gearshift.version=%E2%82', 'other=1', 'gearshift.version', ';', '='];
  const n = 1 + r.int(4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.chance(0.7) ? r.pick(members) + (r.chance(0.2) ? ';p=1' : '') : word(r));
  return out.join(r.pick([',', ', ', ',,']));
}

function token(r: Rng, sent: Sent): string {
  const hint = { scene: r.chance(0.7) && /^[a-z]+$/.test(sent.scene) ? sent.scene : r.pick(['feed', 'search', 'elsewhere']), version: r.pick(['wip', 'soak', 'main', '', 'nope']), loadTest: r.chance(0.4) };
  const good = signer.sign(hint, 60);
  switch (r.int(6)) {
    case 0:
    case 1:
      sent.tokens.push({ version: hint.version, loadTest: hint.loadTest });
      return good;
    case 2: {
      const at = r.int(good.length); // one character changed
      const c = good.charCodeAt(at) === 65 ? 'B' : 'A';
      return good.slice(0, at) + c + good.slice(at + 1);
    }
    case 3:
      return good.slice(0, r.int(good.length)); // truncated
    case 4:
      return otherKey.sign(hint, 60); // signed with a key the server does not hold
    default:
      return good.replace(';wip;', ';soak;').replace(';;', ';l;'); // fields changed after signing
  }
}

function headerValueFor(r: Rng, name: string, sent: Sent): string {
  switch (name) {
    case 'x-gearshift-hint':
      return r.chance(0.8) ? token(r, sent) : word(r);
    case 'baggage':
      return baggage(r);
    case 'cookie':
      return r.chance(0.7) ? `uid=${r.chance(0.5) ? r.pick(['alice', 'bob', 'u1']) : word(r)}${r.chance(0.3) ? `; other=${word(r)}` : ''}` : word(r);
    case 'x-gearshift-load-test':
      return r.chance(0.6) ? r.pick(['1', 'true', '0', 'TRUE', 'yes']) : word(r);
    case 'x-gearshift-unit':
      return r.chance(0.5) ? r.pick(['alice', 'bob', 'u1', 'u2']) : word(r);
    case 'x-gearshift-scene':
      return r.chance(0.6) ? r.pick(['feed', 'search', 'elsewhere']) : word(r);
    default:
      return word(r);
  }
}

function request(r: Rng, close: boolean): Sent {
  const sent: Sent = { wire: '', tokens: [], scene: '' };
  const method = r.pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
  const path = r.chance(0.7) ? r.pick(['/', '/feed', '/a/b?q=1']) : '/' + r.chars(r.length(60), () => r.pick(['a', 'b', '/', '%20', '%zz', '%E2%82', '?', '=', '&', '.', '..', '~']));
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (r.chance(0.05)) {
    // Now and then the whitelisted unit, plainly (unit header and cookie, for either kind of host), so that the
    // whitelist check below runs on every host: left to chance, some hosts met no such request in a run.
    lines.push('x-gearshift-scene: feed', 'x-gearshift-unit: alice', 'Cookie: uid=alice');
    sent.scene = 'feed';
  } else addHeaders(r, lines, sent);
  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? r.chars(r.int(40), headerChar) : '';
  if (body.length > 0 || r.chance(0.3)) lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  if (close) lines.push('Connection: close');
  sent.wire = `${lines.join('\r\n')}\r\n\r\n${body}`;
  return sent;
}

/** Scene and unit (most of the time), then up to five hint or random headers. */
function addHeaders(r: Rng, lines: string[], sent: Sent): void {
  const count = r.int(6);
  for (let i = -2; i < count; i++) {
    // Most requests name a scene and a unit (header and cookie), so that the fuzz reaches the router's every branch.
    if (i < 0 && r.chance(0.15)) continue;
    const name = i === -2 ? 'x-gearshift-scene' : i === -1 ? r.pick(['x-gearshift-unit', 'cookie']) : r.chance(0.05) ? 'x-gearshift-scene' : r.chance(0.85) ? r.pick(HINT_NAMES) : 'x-' + r.chars(1 + r.int(12), () => r.pick([...'abcdefghijklmnopqrstuvwxyz0123456789-']));
    const value = headerValueFor(r, name, sent);
    if (i === -2) sent.scene = value;
    if (value.length > 0) lines.push(`${anyCase(r, name)}: ${value}`);
  }
}

interface Answer {
  status: number;
  body: string;
}

/** Splits a connection's bytes (latin1) into responses: Content-Length, chunked, or to the end. */
function parseResponses(data: string): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  while (at < data.length) {
    const head = data.indexOf('\r\n\r\n', at);
    if (head < 0) throw new Error(`a response without the end of its head: ${JSON.stringify(data.slice(at, at + 200))}`);
    const lines = data.slice(at, head).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    let pos = head + 4;
    let body = '';
    if (headers.has('content-length')) {
      const n = Number(headers.get('content-length'));
      body = data.slice(pos, pos + n);
      pos += n;
    } else if (headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const eol = data.indexOf('\r\n', pos);
        const n = parseInt(data.slice(pos, eol), 16);
        body += data.slice(eol + 2, eol + 2 + n);
        pos = eol + 2 + n + 2;
        if (n === 0) break;
      }
    } else if (status !== 204 && status !== 304) {
      body = data.slice(pos);
      pos = data.length;
    }
    out.push({ status, body: Buffer.from(body, 'latin1').toString('utf8') });
    at = pos;
  }
  return out;
}

/** Sends the requests pipelined on one connection and returns its answers. */
function exchange(port: number, sent: Sent[]): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseResponses(Buffer.concat(chunks).toString('latin1')));
      } catch (e) {
        reject(e);
      }
    });
    socket.end(Buffer.from(sent.map((s) => s.wire).join(''), 'latin1'));
  });
}

/** What every handler answers: its decision, as far as the fuzz needs it. */
const echo = (d: Decision | null | undefined) => (d === undefined ? { missing: true } : d === null ? { none: true } : { version: d.version, stage: d.stage, reason: d.reason, loadTest: d.loadTest });
const REJECTIONS = new Set(['invalid_scene', 'unknown_scene', 'not_deployed', 'no_lt_version', 'shed']);

/** Does the request carry a load-test marker a trusted peer may send (plain header or baggage), or a signed one? */
/** A marker is on unless it says off (0, false, no, off or nothing, any case): a load tool's `TRUE` or `yes` counts. */
const OFF = /^\s*(0|false|no|off|)\s*$/i;
const marksLoadTest = (sent: Sent, peerTrusted: boolean): boolean => {
  if (sent.tokens.some((t) => t.loadTest)) return true;
  if (!peerTrusted) return false;
  const plain = headerValues(sent, 'x-gearshift-load-test');
  if (plain.length > 0 && !OFF.test(plain.join(', '))) return true;
  return [...sent.wire.matchAll(/gearshift\.lt=([^,;\r]*)/gi)].some((m) => !OFF.test(m[1]!));
};
/** Does it name `version` in a way the peer's trust allows? */
const namesVersion = (sent: Sent, version: string, peerTrusted: boolean): boolean =>
  sent.tokens.some((t) => t.version === version) || (peerTrusted && sent.wire.includes(version));

/** The values of one header in a request's head, as Node reads them: any case of its name, spaces and tabs trimmed. */
function headerValues(sent: Sent, name: string): string[] {
  const lines = sent.wire.slice(0, sent.wire.indexOf('\r\n\r\n')).split('\r\n').slice(1);
  return lines.filter((l) => l.slice(0, l.indexOf(':')).toLowerCase() === name).map((l) => l.slice(l.indexOf(':') + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
}

/**
 * Is the request, beyond doubt, the whitelisted unit `alice` of `feed` with nothing that may outrank the whitelist?
 * One scene header `feed` and one unit `alice` (header, or `uid` cookie where the host reads that; Node joins a
 * repeated header into one value), no unaltered signed token, and from a trusted peer no plain hint at all.
 */
function plainAlice(sent: Sent, peerTrusted: boolean, unitCookie: boolean): boolean {
  const one = (name: string, ok: (v: string) => boolean) => {
    const v = headerValues(sent, name);
    return v.length === 1 && ok(v[0]!);
  };
  if (!one('x-gearshift-scene', (v) => v === 'feed')) return false;
  if (!(unitCookie ? one('cookie', (v) => /^uid=alice(;|$)/.test(v)) : one('x-gearshift-unit', (v) => v === 'alice'))) return false;
  if (sent.tokens.length > 0) return false;
  return !peerTrusted || ['x-gearshift-version', 'x-gearshift-load-test', 'baggage'].every((h) => headerValues(sent, h).length === 0);
}

/**
 * The invariants of one answer to one request; `peerTrusted`: the server takes loopback as a trusted proxy;
 * `unitCookie`: it reads the unit from the `uid` cookie, not the unit header.
 */
function check(sent: Sent, a: Answer, where: string, peerTrusted: boolean, unitCookie: boolean): 'decided' | 'skipped' | 'host' {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(a.body) as Record<string, unknown>;
  } catch {
    expect(a.status, `${where}: a non-JSON answer must be the host's own error`).toBeGreaterThanOrEqual(400);
    return 'host';
  }
  if (a.status !== 200) {
    if (typeof body.error === 'string' && REJECTIONS.has(body.error)) {
      // A rejection is never a way in; no_lt_version is the answer to trusted load-test traffic only.
      if (body.error === 'no_lt_version') expect(marksLoadTest(sent, peerTrusted), `${where}: no_lt_version without a trusted load-test marker`).toBe(true);
      return 'decided';
    }
    return 'host'; // the host's own refusal (a URL or body its parser will not take)
  }
  expect(body.missing, `${where}: the adapter set no decision field`).toBeUndefined();
  if (body.none === true) return 'skipped';
  const { stage, reason, version, loadTest } = body as { stage: string; reason: string; version: string; loadTest: boolean };
  const said = `${where}: ${version} (${stage}) by ${reason}${loadTest ? ', load test' : ''}`;
  if (stage === 'dev') expect(reason === 'explicit' || reason === 'whitelist', said).toBe(true);
  if (reason === 'whitelist') expect(sent.wire, said).toContain('alice');
  if (plainAlice(sent, peerTrusted, unitCookie)) expect(reason, `${said}: alice not pinned`).toBe('whitelist');
  if (reason === 'explicit') expect(namesVersion(sent, version, peerTrusted), said).toBe(true);
  if (stage === 'lt' || loadTest || reason === 'load_test') expect(marksLoadTest(sent, peerTrusted), `${said}: no trusted load-test marker`).toBe(true);
  // Load-test traffic never lands on base or up silently: only a trusted explicit version outranks the lt version.
  if (loadTest && (stage === 'base' || stage === 'up')) expect(reason, said).toBe('explicit');
  return 'decided';
}

/** A server for the fuzz; `unitCookie`: it reads the unit from the `uid` cookie. */
type Serve = (obs: ReturnType<typeof observedEngine>, trust: typeof TRUST) => Promise<{ port: number; close: () => Promise<void>; unitCookie?: boolean }>;

const closeServer = (s: Server) => () => new Promise<void>((r) => s.close(() => r()));
async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return portOf(s);
}

/** An Express app (5, or 4 through the `express4` alias) with the middleware and the echoing handler. */
function expressHost(make: typeof express | typeof express4, unit?: { cookie: string }): Serve {
  return async (obs, trust) => {
    const app = make();
    app.use(gearshift(obs.engine, unit ? { trust, unit } : { trust }));
    app.use((req, res) => void res.json(echo(req.gearshift)));
    const server = createServer(app);
    return { port: await listen(server), close: closeServer(server), unitCookie: unit !== undefined };
  };
}

const HOSTS: [string, Serve][] = [
  [
    'node:http',
    async (obs, trust) => {
      const body = (d: Decision | null | undefined) => JSON.stringify(echo(d));
      const server = createServer(
        withGearshift(obs.engine, (req, res) => {
          const b = body(req.gearshift);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
          res.end(b);
        }, { trust }),
      );
      return { port: await listen(server), close: closeServer(server) };
    },
  ],
  ['Express (unit from a cookie)', expressHost(express, { cookie: 'uid' })],
  ['Express 4', expressHost(express4)],
  [
    'Fastify',
    async (obs, trust) => {
      const app = Fastify();
      await app.register(gearshiftPlugin, { engine: obs.engine, trust });
      app.all('*', async (request) => echo(request.gearshift));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
    },
  ],
];

describe('hostile requests over HTTP', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });

  const cases = HOSTS.flatMap(([name, serve]) => [
    [name, serve, false],
    [`${name}, loopback a trusted proxy`, serve, true],
  ] as [string, Serve, boolean][]);

  it.each(cases)('%s: every request answered, nothing untrusted steers, every decision recorded once', async (name, serve, peerTrusted) => {
    const obs = observedEngine();
    const { port, close, unitCookie = false } = await serve(obs, peerTrusted ? { ...TRUST, proxies: ['127.0.0.1'] } : TRUST);
    closers.push(close);
    const r = new Rng(FUZZ_SEED ^ name.length);
    const connections = fuzzCases(120);
    const tally = { decided: 0, skipped: 0, host: 0 };
    let plainAlices = 0;
    for (let batch = 0; batch < connections; batch += 8) {
      const sends: Sent[][] = [];
      for (let c = batch; c < Math.min(connections, batch + 8); c++) {
        const n = 1 + r.int(3);
        sends.push(Array.from({ length: n }, (_, i) => request(r, i === n - 1)));
      }
      const answers = await Promise.all(sends.map((s) => exchange(port, s)));
      answers.forEach((got, c) => {
        const where = replay(`${name}, connection`, batch + c);
        expect(got.length, `${where}: answers for ${sends[c]!.length} requests`).toBe(sends[c]!.length);
        got.forEach((a, i) => {
          tally[check(sends[c]![i]!, a, `${where}, request ${i} ${JSON.stringify(sends[c]![i]!.wire)}`, peerTrusted, unitCookie)]++;
          if (plainAlice(sends[c]![i]!, peerTrusted, unitCookie)) plainAlices++;
        });
      });
    }
    // Each decision is recorded once (the engine refuses a second record), and none is left unrecorded.
    await waitFor(() => obs.recorded().length >= obs.engine.routeCounts().decisions);
    expect(obs.recorded().length).toBe(obs.engine.routeCounts().decisions);
    expect(tally.decided).toBeGreaterThan(connections / 2); // the fuzz reached the router, not only the hosts' parsers
    expect(plainAlices, 'requests the whitelist check ran on').toBeGreaterThan(0);
    // The server still serves an ordinary request.
    const [ok] = await exchange(port, [{ wire: 'GET / HTTP/1.1\r\nHost: x\r\nx-gearshift-scene: feed\r\nx-gearshift-unit: u1\r\nConnection: close\r\n\r\n', tokens: [], scene: 'feed' }]);
    expect(ok!.status).toBe(200);
  });
});
