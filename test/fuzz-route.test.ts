/**
 * Seeded random calls of the routing API with any JavaScript values (strings of every kind, numbers, objects,
 * truthy non-booleans where booleans belong), through the engine and the gateway. Whatever arrives, `route` never
 * throws, and its decision keeps the routing rules:
 * - `dev` only by a trusted explicit version or the whitelist; `lt` only for trusted load-test traffic;
 * - a whitelisted unit of a scene that serves is pinned, unless a trusted explicit version or load-test marker outranks it;
 * - "trusted" means exactly `true`, a valid signed token, or a peer inside the trusted ranges, never a truthy look-alike;
 * - a split decision's bucket is what the published hash definition gives (written independently in
 *   murmur-reference.ts), for any unit string: another service can reproduce it;
 * - the same inputs give the same decision; params and gears read by any name never throw and never reach
 *   `Object.prototype`; a decision is recorded once, whatever outcome and RT it is given.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../src/adapters/gateway.js';
import { createTrust } from '../src/adapters/trust.js';
import { createGearshift } from '../src/engine.js';
import { HostTimeError } from '../src/errors.js';
import { type Decision, REASONS, type ServedReason } from '../src/route/decision.js';
import { anyChar, FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';
import { referenceBucket } from './murmur-reference.js';

const WHITELISTED = 'vip-\u00e9\u{1F600}';
const config = () => ({
  version: 'fuzz-1',
  deployedHere: ['feed', 'search'],
  scenes: {
    feed: {
      rtBudgetMs: 100,
      versions: { main: { stage: 'base' as const }, canary: { stage: 'up' as const }, wip: { stage: 'dev' as const }, soak: { stage: 'lt' as const } },
      whitelist: { [WHITELISTED]: 'wip', alice: 'canary' },
      split: [{ version: 'canary', weight: 12.5 }, { version: 'main', weight: 87.5 }],
      params: { depth: 100, model: 'small' },
      layers: [
        { name: 'rank', arms: [{ name: 'a', weight: 30 }, { name: 'b', weight: 70, params: { model: 'large' } }] },
        { name: 'ui', versions: ['main'], arms: [{ name: 'x', weight: 50, params: { depth: 7 } }, { name: 'y', weight: 50 }] },
      ],
      points: { recall: { gears: [100, 200, 400] } },
    },
    search: { versions: { v1: { stage: 'base' as const } } },
    elsewhere: { versions: { v1: { stage: 'base' as const } } },
  },
});
const SEEDS: Record<string, string> = { feed: 'feed', search: 'search' };
const DEPLOYED = new Set(['feed', 'search']);
const VERSION_NAMES = ['main', 'canary', 'wip', 'soak', 'v1', 'nope', '', '__proto__'];

/** Any value a caller might pass where a string id belongs. */
function anyValue(r: Rng): unknown {
  switch (r.int(10)) {
    case 0:
      return r.pick([undefined, null, 0, -1, NaN, Infinity, 42n, true, false, Symbol('x'), () => 'feed', {}, [], ['feed'], new String('feed'), Object.create(null)]);
    case 1:
      return r.chars(r.length(300), anyChar);
    case 2:
      return 'x'.repeat(r.pick([255, 256, 257, 100_000]));
    default:
      return r.pick(['feed', 'search', 'elsewhere', 'nope', 'alice', WHITELISTED, '__proto__', 'constructor', 'feed\u0000', ' feed', 'FEED']);
  }
}

/** A unit: usually a string of any characters (the hash's domain), sometimes anything else. */
const anyUnit = (r: Rng): unknown => (r.chance(0.8) ? (r.chance(0.2) ? r.pick(['alice', WHITELISTED]) : r.chars(1 + r.length(64), anyChar)) : anyValue(r));

/** What `trusted` might be given as: only `true` counts. */
const anyFlag = (r: Rng): unknown => r.pick([true, true, false, undefined, 1, 'true', 'yes', {}, [], 0, null]);

/** The gateway's reading of a load-test hint: true, or a header value (a list: its first) that does not say off. */
function gatewayLoadTest(v: unknown): boolean {
  const first = Array.isArray(v) ? (v as unknown[])[0] : v;
  return first === true || (typeof first === 'string' && !['0', 'false', 'no', 'off', ''].includes(first.trim().toLowerCase()));
}

interface Hints {
  version?: unknown;
  loadTest?: unknown;
  trusted?: unknown;
}
function anyHints(r: Rng): Hints | null | undefined {
  if (r.chance(0.3)) return r.pick([null, undefined]);
  const h: Hints = {};
  if (r.chance(0.6)) h.version = r.chance(0.8) ? r.pick(VERSION_NAMES) : anyValue(r);
  if (r.chance(0.5)) h.loadTest = anyFlag(r);
  if (r.chance(0.7)) h.trusted = anyFlag(r);
  return h;
}

/** An assertion cheap enough to run a hundred thousand times (vitest's `expect` costs ~10 µs a call). */
function must(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

/** The reasons ServedReason names: every other reason is a rejection's. */
const SERVED_REASONS = new Set<string>(['explicit', 'load_test', 'whitelist', 'split', 'no_unit'] satisfies ServedReason[]);

/** The routing rules every decision keeps, given what the caller may be trusted with. */
function checkRules(d: Decision, unit: unknown, trusted: { version: unknown; loadTest: boolean } | null, where: () => string): void {
  const said = () => `${where()}: ${d.explain()}`;
  must(REASONS.includes(d.reason), said);
  // what ServedDecision and RejectedDecision promise TypeScript users: ok ⇔ a version and a stage, and a scene id
  must(d.ok === (d.version !== null) && d.ok === (d.stage !== null) && d.ok === SERVED_REASONS.has(d.reason), said);
  if (d.ok) must(typeof d.scene === 'string' && DEPLOYED.has(d.scene), said);
  if (d.stage === 'dev') {
    if (d.reason === 'whitelist') must(unit === WHITELISTED, said);
    else must(d.reason === 'explicit' && trusted?.version === d.version, () => `${said()}: dev without a trusted explicit version`);
  }
  if (d.stage === 'lt' || d.loadTest || d.reason === 'load_test' || d.reason === 'no_lt_version') must(trusted?.loadTest === true, () => `${said()}: load-test routing without trusted load-test traffic`);
  if (d.loadTest && (d.stage === 'base' || d.stage === 'up')) must(d.reason === 'explicit', () => `${said()}: load-test traffic on ${d.stage}`);
  if (d.reason === 'split') {
    const published = referenceBucket(SEEDS[d.scene!]!, unit as string);
    must(d.bucket === published, () => `${said()}: bucket ${d.bucket}, the published hash gives ${published}`);
  }
  if (d.reason === 'explicit') must(trusted?.version === d.version, () => `${said()}: explicit without trust`);
  // The converse of the whitelist rule: only trusted load-test traffic (load_test, or an explicit lt version) and a
  // trusted explicit version (held to its trust above) outrank the whitelist of feed, the one scene that has one.
  if (d.ok && d.scene === 'feed' && (unit === WHITELISTED || unit === 'alice') && trusted?.loadTest !== true && d.reason !== 'explicit') {
    must(d.reason === 'whitelist', () => `${said()}: a whitelisted unit not pinned`);
  }
}

const FEED_PARAMS: Record<string, unknown[]> = { depth: [100, 7], model: ['small', 'large'] };

/** Reads everything a handler might read, by any name: nothing throws, nothing comes from Object.prototype. */
function checkReads(d: Decision, r: Rng, where: () => string): void {
  for (const name of ['depth', 'model', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', r.chars(r.length(40), anyChar)]) {
    const p = d.param(name);
    const allowed = d.ok && d.scene === 'feed' && Object.hasOwn(FEED_PARAMS, name) ? FEED_PARAMS[name] : undefined;
    must(allowed === undefined ? p === undefined : allowed.includes(p), () => `${where()}: param ${JSON.stringify(name)} read ${String(p)}`);
    const g = d.gear(name);
    must(g === undefined, () => `${where()}: gear ${JSON.stringify(name)} read ${String(g)}`);
    must(d.arm(name) === undefined, () => `${where()}: arm ${JSON.stringify(name)}`);
  }
  if (d.ok && d.scene === 'feed') must([100, 200, 400].includes(d.gear('recall') as number), () => `${where()}: gear recall ${String(d.gear('recall'))}`);
  // Every param at once is what each read by name gives: feed's two for a served feed decision, none for a rejection.
  const all = d.params();
  const names = Object.keys(all).sort();
  must(names.every((n) => all[n] === d.param(n)), () => `${where()}: params() ${JSON.stringify(all)} against param(name)`);
  if (!d.ok || d.scene === 'feed') must(names.join() === (d.ok ? Object.keys(FEED_PARAMS).sort().join() : ''), () => `${where()}: params() names ${names.join()}`);
  JSON.stringify(d);
  must(typeof d.explain() === 'string', where);
}

const summary = (d: Decision) => `${d.version} ${d.reason} ${d.bucket} ${d.loadTest} ${d.ignored} ${JSON.stringify(d.arms())}`;
const sameDecision = (a: Decision, b: Decision) => ({ a: summary(a), b: summary(b) });

describe('routing any input (seeded fuzz)', () => {
  // RTs such as 1e308 ms are reported once per engine as a process warning: the only warning this may raise.
  const warnings: unknown[] = [];
  vi.spyOn(process, 'emitWarning').mockImplementation((w) => void warnings.push(w));
  afterEach(() => {
    expect(warnings.filter((w) => !(w instanceof HostTimeError))).toEqual([]);
    warnings.length = 0;
  });

  it('engine.route: never throws, keeps the routing rules, repeats itself, records once', () => {
    const gs = createGearshift({ config: config() });
    const r = new Rng(FUZZ_SEED);
    const cases = fuzzCases(4000);
    for (let i = 0; i < cases; i++) {
      const where = () => replay('engine.route', i);
      const scene = anyValue(r);
      const unit = anyUnit(r);
      const hints = anyHints(r);
      const d = gs.route(scene, unit, hints as never);
      const trusted = hints?.trusted === true ? { version: hints.version, loadTest: hints.loadTest === true } : null;
      checkRules(d, unit, trusted, where);
      checkReads(d, r, where);
      const again = sameDecision(d, gs.route(scene, unit, hints as never));
      must(again.a === again.b, () => `${where()}: routed again, ${again.b} where it was ${again.a}`);
      const outcome = r.pick<unknown>(['success', 'error', 'timeout', 'degraded', 'client_abort', 'nope', 0, 3, 99, NaN, null, {}]);
      const rt = r.pick<unknown>([undefined, 0, 5, 99.5, 1e308, -1, NaN, Infinity, '5']);
      must(gs.complete(d, outcome as never, rt as never), () => `${where()}: not recorded`); // rejections are recorded too
      must(!gs.complete(d, 'success'), () => `${where()}: recorded twice`);
    }
    const counts = gs.routeCounts();
    expect(counts.decisions).toBe(cases * 2);
    expect(counts.byReason.split + counts.byReason.whitelist + counts.byReason.explicit).toBeGreaterThan(cases / 10); // the fuzz reached the router's rules
    gs.close();
  });

  it('gateway.begin: a valid signed token or a trusted peer steers; respelt tokens, look-alike peers and truthy non-flags do not', () => {
    const now = () => Date.UTC(2026, 10, 21);
    const key = 'fuzz-key-0123456789-0123456789-abcdef';
    const signer = createTrust({ keys: [key], now });
    const gs = createGearshift({ config: config() });
    const gw = createGateway(gs, { trust: { keys: [key], proxies: ['10.0.0.0/8', '2001:db8::/32'], now } });
    const r = new Rng(FUZZ_SEED + 1);
    const IN_RANGE = ['10.0.0.1', '10.255.255.255', '::ffff:10.1.2.3', '2001:db8::1', '2001:DB8:0:0:0:0:0:7'];
    const OUT_OF_RANGE = ['11.0.0.1', '127.0.0.1', '9.255.255.255', '::1', '2001:db9::1', '10.0.0', '10.0.0.1.5', '10.0.0.256', ' 10.0.0.1', '10.0.0.1 ', '010.0.0.1', '10.0.0.1/8', '::ffff:11.0.0.1', '', '10.0.0.1\u0000'];
    const cases = fuzzCases(2000);
    for (let i = 0; i < cases; i++) {
      const where = () => replay('gateway.begin', i);
      const scene = r.chance(0.8) ? r.pick(['feed', 'search', 'elsewhere']) : anyValue(r);
      const unit = anyUnit(r);
      const hints: Record<string, unknown> = {};
      let signedHint: { version: string; loadTest: boolean } | null = null;
      if (r.chance(0.4)) {
        // Tokens are signed for config names only (trust.sign refuses anything else): the request's scene when it is one.
        const h = { scene: typeof scene === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(scene) && r.chance(0.8) ? scene : 'feed', version: r.pick(['wip', 'soak', 'main', '']), loadTest: r.chance(0.4) };
        const t = signer.sign(h, 60);
        if (r.chance(0.5)) {
          hints.signed = t;
          if (typeof scene !== 'string' || scene === h.scene) signedHint = { version: h.version, loadTest: h.loadTest };
          else if (h.loadTest) signedHint = { version: '', loadTest: true }; // another scene's token: its load-test flag only
        } else hints.signed = r.pick([t.slice(0, -1), `${t}=`, t.replace(/^g1;(\d+)/, (_, exp: string) => `g1;${Number(exp) + 1}`), `${t.slice(0, 30)}!${t.slice(30)}`, r.chars(r.length(80), anyChar)]);
      }
      const peerTrusted = r.chance(0.3);
      if (r.chance(0.7)) hints.peer = peerTrusted ? r.pick(IN_RANGE) : r.chance(0.7) ? r.pick(OUT_OF_RANGE) : anyValue(r);
      if (r.chance(0.5)) hints.version = r.pick(VERSION_NAMES);
      // A gateway may hand over the load-test header's value: a string or a list (its first counts).
      if (r.chance(0.4)) hints.loadTest = r.chance(0.6) ? anyFlag(r) : r.pick(['1', '0', 'off', 'TRUE', ' no ', '', ['yes', '0'], ['0', '1'], []]);
      if (r.chance(0.3)) hints.trusted = anyFlag(r);
      const { decision: d, done } = gw.begin(scene, unit, r.chance(0.1) ? null : (hints as never));
      // What may steer: a valid token for this scene (it wins over plain hints), else plain hints when `trusted` is
      // exactly true, or, without `trusted`, when the peer is inside the trusted ranges.
      const plainTrusted = hints.trusted === true || (hints.trusted === undefined && peerTrusted && hints.peer !== undefined);
      const trusted = signedHint !== null ? signedHint : plainTrusted ? { version: hints.version, loadTest: gatewayLoadTest(hints.loadTest) } : null;
      checkRules(d, unit, trusted, () => `${where()} ${JSON.stringify({ scene, hints }, (_k, v: unknown) => (typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v))}`);
      checkReads(d, r, where);
      must(done(r.pick([200, 503, 'error', 'timeout']), 10) === d.ok, () => `${where()}: done() of a ${d.ok ? 'served' : 'rejected (recorded at once)'} decision`);
      must(!done(200), () => `${where()}: recorded twice`);
    }
    gs.close();
  });
});
