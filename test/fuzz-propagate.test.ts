/**
 * Consistency across services, for any config version and any baggage already on the request (seeded fuzz): a
 * decision written into outgoing headers (signed token or W3C baggage) reads back field for field, keeps the foreign
 * baggage members, is a valid header value, and makes the next service serve the same scene, version and load-test
 * flag for another unit id, instead of deciding again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createGateway } from '../src/adapters/gateway.js';
import { withGearshift } from '../src/adapters/http.js';
import { propagationHeaders, readBaggage } from '../src/adapters/propagate.js';
import { createTrust } from '../src/adapters/trust.js';
import { createGearshift } from '../src/engine.js';
import { ConfigError } from '../src/errors.js';
import type { Decision } from '../src/route/decision.js';
import { anyChar, FUZZ_SEED, fuzzCases, headerChar, replay, Rng } from './fuzz.js';

const KEY = 'propagate-key-0123456789-0123456789-abc';
const now = () => Date.UTC(2026, 10, 21);
const config = (version: string) => ({
  version,
  scenes: {
    feed: {
      versions: { main: { stage: 'base' as const }, canary: { stage: 'up' as const }, wip: { stage: 'dev' as const }, soak: { stage: 'lt' as const } },
      whitelist: { alice: 'wip' },
      split: [{ version: 'canary', weight: 30 }, { version: 'main', weight: 70 }],
    },
    search: { versions: { v1: { stage: 'base' as const } } },
  },
});

/** A foreign baggage member, or junk a client sent; some look like ours. */
function foreignMember(r: Rng): string {
  return r.pick([
    () => `k${r.int(100)}=v${r.int(100)}`,
    () => `userId=${encodeURIComponent(r.chars(r.length(20), anyChar).replace(/\p{Surrogate}/gu, ''))};prop=1`,
    () => `gearshift.version=${r.pick(['wip', 'soak', 'x'])}`,
    () => `gearshift.lt=1`,
    () => r.chars(r.length(30), headerChar),
    () => '',
  ])();
}

describe('propagating a decision (seeded fuzz)', () => {
  it('reads back field for field, and the next service serves what the first decided', () => {
    const up = createGearshift({ config: config('v0') });
    const down = createGearshift({ config: config('v0') });
    const signer = createTrust({ keys: [KEY], now });
    const gw = createGateway(down, { trust: { keys: [KEY], proxies: ['10.0.0.0/8'], now } });
    const seen: { decision?: Decision | null } = {};
    const listener = withGearshift(down, (req) => void (seen.decision = req.gearshift), { trust: { proxies: ['10.0.0.0/8'] } });
    const r = new Rng(FUZZ_SEED + 4);
    const tally = { refused: 0, carried: 0 };
    for (let c = 0, configs = fuzzCases(150); c < configs; c++) {
      // Any config version: one the validator takes must travel; one it refuses never reaches a decision.
      const version = r.chance(0.3) ? `v${c}` : r.chars(1 + r.length(100), anyChar);
      try {
        up.reload(config(version));
        down.reload(config(version));
      } catch (e) {
        expect(e, replay('config version', c)).toBeInstanceOf(ConfigError);
        tally.refused++;
        continue;
      }
      for (let i = c * 10; i < c * 10 + 10; i++) {
        const where = replay('propagation', i);
        const hints = r.pick([null, { loadTest: true, trusted: true }, { version: 'wip', trusted: true }, { version: 'soak', loadTest: true, trusted: true }]);
        const d = up.route(r.pick(['feed', 'search']), r.chance(0.1) ? 'alice' : `u-${r.chars(r.length(20), anyChar)}`, hints);
        if (!d.ok) continue; // no_lt_version on search: a rejection propagates nothing (tested in the adapters)
        tally.carried++;
        const want = { scene: d.scene, version: d.version, configVersion: d.configVersion, bucket: d.bucket, loadTest: d.loadTest };

        // Baggage, merged into what the request already carried.
        const existing = Array.from({ length: r.int(4) }, () => foreignMember(r)).join(r.pick([',', ', ']));
        const { baggage } = propagationHeaders(d, { mode: 'baggage' }, existing);
        expect(baggage, where).toMatch(/^[\t\x20-\x7e\x80-\xff]*$/); // a valid header value (what the caller had, plus ASCII)
        expect(readBaggage(baggage!), where).toEqual(want);
        const foreign = existing.split(',').map((m) => m.trim()).filter((m) => m !== '' && !m.startsWith('gearshift.'));
        expect(baggage!.split(',').slice(0, foreign.length), where).toEqual(foreign);

        // Signed, for a downstream that holds the key.
        const token = propagationHeaders(d, { trust: signer })['x-gearshift-hint']!;
        expect(token, where).toMatch(/^[\x21-\x7e]+$/);
        expect(signer.verify(token), where).toMatchObject(want);

        // The next service, for another unit: the gateway with the token, node:http from a trusted proxy with baggage.
        const same = (e: Decision | null | undefined) => ({ scene: e?.scene, version: e?.version, loadTest: e?.loadTest });
        const other = `other-${i}`;
        const viaToken = gw.begin(null, other, { signed: token }).decision;
        expect(same(viaToken), `${where}: ${viaToken.explain()}`).toEqual(same(d));
        seen.decision = undefined;
        const req = { headers: { baggage, 'x-gearshift-unit': other }, socket: { remoteAddress: '10.1.2.3' } } as unknown as IncomingMessage;
        listener(req as never, { writableEnded: true, statusCode: 200 } as unknown as ServerResponse);
        const got = seen.decision as Decision | null | undefined; // set by the handler, inside listener()
        expect(same(got), `${where}: ${got?.explain()}`).toEqual(same(d));
      }
    }
    expect(tally.carried).toBeGreaterThan(fuzzCases(150) * 3);
    expect(tally.refused).toBeGreaterThan(0); // some versions were refused (lone surrogates, over 128 characters)
    up.close();
    down.close();
  });
});
