import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cookieValue } from '../src/adapters/core.js';
import { propagate, propagationHeaders, readBaggage } from '../src/adapters/propagate.js';
import { ProxyRanges, Trust } from '../src/adapters/trust.js';
import { UsageError } from '../src/errors.js';
import { createGearshift } from '../src/engine.js';
import { adapterConfig, KEY } from './adapters-helpers.js';

const T0 = Date.UTC(2026, 0, 1);

describe('trusted-proxy ranges', () => {
  const r = new ProxyRanges(['10.0.0.0/8', '192.168.1.7', '172.16.0.0/12', 'fd00::/8', '2001:db8::1/128', '::ffff:100.64.0.0/106']);

  it.each([
    ['10.1.2.3', true],
    ['10.255.255.255', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['172.31.255.1', true],
    ['172.32.0.1', false],
    ['::ffff:10.9.9.9', true], // IPv4-mapped IPv6 as node reports on dual-stack sockets
    ['::ffff:11.9.9.9', false],
    ['fd12:3456::1', true],
    ['fe80::1%eth0', false],
    ['2001:db8::1', true],
    ['2001:db8::2', false],
    ['100.64.1.1', true], // from the mapped range
    ['100.128.0.1', false],
  ])('%s → %s', (addr, want) => expect(r.has(addr)).toBe(want));

  it.each(['', 'localhost', '10.0.0', '10.0.0.256', '1.2.3.4.5', '::g', 'x'.repeat(100)])('refuses malformed %j', (addr) => expect(r.has(addr)).toBe(false));
  // Found by test/fuzz-route.test.ts: to inet_aton, 010 is octal 8, so 010.0.0.1 is 8.0.0.1 (not in 10.0.0.0/8).
  it.each(['010.0.0.1', '10.0.0.01', '10.00.0.1', '0010.0.0.1', '::ffff:010.9.9.9', ' 10.0.0.1', '10.0.0.1 ', '0x0a.0.0.1', '10.0.0.1\u0000'])('refuses the non-canonical %j', (addr) => expect(r.has(addr)).toBe(false));
  it('still reads a zero octet', () => expect(new ProxyRanges(['10.0.0.0/8']).has('10.0.0.0')).toBe(true));
  it('refuses missing addresses', () => {
    expect(r.has(undefined)).toBe(false);
    expect(new ProxyRanges([]).has('10.0.0.1')).toBe(false);
  });
  it('handles /0 and zone ids', () => {
    expect(new ProxyRanges(['0.0.0.0/0']).has('8.8.8.8')).toBe(true);
    expect(new ProxyRanges(['fe80::/10']).has('fe80::1%eth0')).toBe(true);
    expect(new ProxyRanges(['::1']).has('::1')).toBe(true);
    expect(new ProxyRanges(['::1']).has('::2')).toBe(false);
  });
  it('reads a zone id as no part of the address, whatever it holds', () => {
    // A zone id with a dot must not be mistaken for an embedded IPv4 tail.
    expect(new ProxyRanges(['fe80::/10']).has('fe80::1%eth0.5')).toBe(true);
  });
  it('takes ::ffff:0.0.0.0/96 as every IPv4 peer, mapped or not', () => {
    const all = new ProxyRanges(['::ffff:0.0.0.0/96']);
    expect(all.has('8.8.8.8')).toBe(true);
    expect(all.has('::ffff:8.8.8.8')).toBe(true);
  });
  it('does not read ::1:ffff:a.b.c.d as IPv4-mapped (only ::ffff:a.b.c.d is)', () => {
    expect(new ProxyRanges(['10.0.0.0/8']).has('::1:ffff:10.0.0.1')).toBe(false);
  });
  it.each(['10.0.0.0/33', 'fd00::/129', 'nonsense', '10.0.0.0/x', '1.2.3/8'])('rejects bad config %j', (cidr) => expect(() => new ProxyRanges([cidr])).toThrow(/trust\.proxies/));
});

describe('signed hints', () => {
  let now = T0;
  const trust = new Trust({ keys: [KEY], now: () => now });
  const hint = { scene: 'feed', version: 'wip', configVersion: 'cfg;1 ü', bucket: 42 };

  it('round-trips', () => {
    now = T0;
    const t = trust.sign(hint, 60);
    expect(t.startsWith('g1;')).toBe(true);
    expect(t).not.toMatch(/\s/);
    expect(trust.verify(t, 'feed')).toEqual({ scene: 'feed', version: 'wip', loadTest: false, expiresAt: T0 / 1000 + 60, configVersion: 'cfg;1 ü', bucket: 42 });
    expect(trust.verify(t)).toMatchObject({ scene: 'feed' });
  });

  it('carries the load-test flag and an empty version', () => {
    const t = trust.sign({ scene: 'feed', loadTest: true });
    expect(trust.verify(t, 'feed')).toMatchObject({ version: '', loadTest: true, bucket: -1, configVersion: '' });
  });

  it('refuses tampering with any field', () => {
    now = T0;
    const t = trust.sign(hint, 60);
    const f = t.split(';');
    const variants = [
      [f[0], String(Number(f[1]) + 3600), ...f.slice(2)], // later expiry
      [f[0], f[1], 'l', ...f.slice(3)], // load-test flag
      [...f.slice(0, 3), 'search', ...f.slice(4)], // other scene
      [...f.slice(0, 4), 'main', ...f.slice(5)], // other version
      [...f.slice(0, 6), '7', f[7]], // other bucket
    ].map((x) => x.join(';'));
    for (const v of variants) expect(trust.verify(v)).toBe('bad_signature');
  });

  it('refuses other keys, accepts rotated ones', () => {
    const other = new Trust({ keys: ['another-key-another-key-another-key'], now: () => now });
    expect(trust.verify(other.sign(hint))).toBe('bad_signature');
    const rotated = new Trust({ keys: ['new-key-new-key-new-key-new-key-!!', KEY], now: () => now });
    expect(rotated.verify(trust.sign(hint))).toMatchObject({ version: 'wip' });
    expect(trust.verify(rotated.sign(hint))).toBe('bad_signature');
  });

  it('refuses expired and far-future tokens', () => {
    now = T0;
    const t = trust.sign(hint, 10);
    now = T0 + 10_001;
    expect(trust.verify(t)).toBe('expired');
    now = T0 + 10_000; // the very second it names: already expired
    expect(trust.verify(t)).toBe('expired');
    now = T0;
    // a token valid for a day, signed by someone holding the key but breaking the TTL rule
    const body = `g1;${T0 / 1000 + 86_400};;feed;wip;;-1`;
    const forged = `${body};${createHmac('sha256', KEY).update(body).digest('base64url')}`;
    expect(trust.verify(forged)).toBe('too_long_lived');
    expect(() => trust.sign(hint, 3600)).toThrow(/ttlSec/);
  });

  it('allows one second of slack over maxTtlSec for rounding, and no more', () => {
    now = T0;
    const forge = (exp: number) => {
      const body = `g1;${exp};;feed;wip;;-1`;
      return `${body};${createHmac('sha256', KEY).update(body).digest('base64url')}`;
    };
    expect(trust.verify(forge(T0 / 1000 + 301))).toMatchObject({ scene: 'feed' });
    expect(trust.verify(forge(T0 / 1000 + 302))).toBe('too_long_lived');
  });

  it('keeps only the load-test flag of a load-test token that lives too long, and counts it too_long_lived', () => {
    // A caller signing for longer than this hop's maxTtlSec (mid-rollout) must not send its load test to production.
    now = T0;
    const t = new Trust({ keys: [KEY], now: () => now, maxTtlSec: 10 });
    const caller = new Trust({ keys: [KEY], now: () => now });
    expect(t.verify(caller.sign({ scene: 'feed', version: 'soak', loadTest: true }, 30))).toMatchObject({ scene: 'feed', version: '', loadTest: true, bucket: -1 });
    expect(t.verify(caller.sign({ scene: 'feed', version: 'wip' }, 30))).toBe('too_long_lived');
    expect(t.counts()).toMatchObject({ signed: 0, refused: { too_long_lived: 2 } });
    // Expired, it steers nothing any more; a load-test one is refused on its own ground, so that adapters refuse its
    // request (an expired load test must not land on production versions either).
    const lt = caller.sign({ scene: 'feed', loadTest: true }, 5);
    const dev = caller.sign({ scene: 'feed', version: 'wip' }, 5);
    now = T0 + 5_000;
    expect(t.verify(lt)).toBe('expired_load_test');
    expect(t.verify(dev)).toBe('expired');
    expect(t.counts()).toMatchObject({ refused: { expired_load_test: 1, expired: 1 } });
  });

  it('gives a token at least its ttlSec, wherever in a second it is signed', () => {
    for (const ms of [0, 1, 500, 999]) {
      now = T0 + ms;
      const t = trust.sign(hint, 1);
      now += 999;
      expect(trust.verify(t), `signed at +${ms} ms`).toMatchObject({ scene: 'feed' });
    }
  });

  it('reads an unreadable bucket in a signed token as -1 (not carried), never NaN', () => {
    now = T0;
    const body = `g1;${T0 / 1000 + 30};;feed;wip;;abc`;
    expect(trust.verify(`${body};${createHmac('sha256', KEY).update(body).digest('base64url')}`)).toMatchObject({ bucket: -1 });
  });

  it('refuses a token longer than 1024 characters, even when correctly signed', () => {
    now = T0;
    const long = trust.sign({ scene: 'feed', version: 'wip', configVersion: 'c'.repeat(1100) });
    expect(trust.verify(long)).toBe('malformed');
  });

  it('signs for at most maxTtlSec by default, so a short bound does not make the default lifetime an error', () => {
    now = T0;
    const short = new Trust({ keys: [KEY], maxTtlSec: 20, now: () => now });
    const token = short.sign(hint); // the default, 60 s, would be over the bound: it takes the bound
    expect(short.verify(token)).toMatchObject({ expiresAt: T0 / 1000 + 20 });
    const decision = createGearshift({ config: adapterConfig() }).route('feed', 'user-7');
    const headers = propagationHeaders(decision, { trust: short }); // propagation's 30 s too
    expect(short.verify(headers['x-gearshift-hint']!)).toMatchObject({ expiresAt: T0 / 1000 + 20 });
    expect(() => short.sign(hint, 21)).toThrow(/^trust\.sign: ttlSec must be in \(0, 20\], got 21/);
  });

  it.each([
    ['no hint', undefined, /^trust\.sign\(hint\): expected \{ scene/],
    ['a hint without a scene', {}, /^trust\.sign: hint\.scene: expected a non-empty string, got undefined/],
    ['a scene that is not a string', { scene: 7 }, /hint\.scene: expected a non-empty string, got 7/],
    ['a version that is not a string', { scene: 'feed', version: 1 }, /hint\.version: expected a string or null, got 1/],
    ['a load-test flag that is not a boolean', { scene: 'feed', loadTest: 'yes' }, /hint\.loadTest: expected true or false/],
    ['a config version that is not a string', { scene: 'feed', configVersion: 3 }, /hint\.configVersion: expected a string/],
    ['a bucket that is not an integer', { scene: 'feed', bucket: 1.5 }, /hint\.bucket: expected an integer, got 1\.5/],
    ['a ";" in the scene', { scene: 'fe;ed' }, /hint\.scene: expected a scene name .*, got "fe;ed"/],
    // No config name holds these, and the token could not be sent as a header (security review, seventeenth session).
    ['a space or newline in the version', { scene: 'feed', version: 'x\ny' }, /hint\.version: expected a version name/],
    ['a scene outside ASCII', { scene: '场景' }, /hint\.scene: expected a scene name/],
  ])('refuses to sign %s with a UsageError naming the field', (_what, bad, message) => {
    expect(() => trust.sign(bad as never)).toThrow(message);
    expect(() => trust.sign(bad as never)).toThrow(UsageError);
  });

  it('binds the token to its scene', () => {
    now = T0;
    expect(trust.verify(trust.sign(hint), 'search')).toBe('scene_mismatch');
    // An empty scene is a scene that differs, not "no scene given": fail closed.
    expect(trust.verify(trust.sign(hint), '')).toBe('scene_mismatch');
  });

  it.each(['', 'garbage', 'g1;', 'g1;1;;feed;wip;;-1;', 'g1;1;;feed;wip;;-1;AAAA', `g1;${'x'.repeat(2000)}`, 'g2;1;;feed;wip;;-1;' + 'A'.repeat(43)])('refuses malformed %j', (t) => {
    expect(trust.verify(t)).toBe('malformed');
  });

  it('accepts only the canonical spelling of the MAC (found by test/fuzz-http.test.ts)', () => {
    now = T0;
    const token = trust.sign(hint);
    const cut = token.lastIndexOf(';');
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // 32 bytes are 43 base64url characters; the last carries 4 bits and 2 spare ones, which a decoder ignores.
    const spareBit = token.slice(0, -1) + abc[abc.indexOf(token.at(-1)!) ^ 1];
    const respelt = [spareBit, `${token}=`, `${token.slice(0, cut + 5)}!${token.slice(cut + 5)}`, `${token.slice(0, cut + 5)} ${token.slice(cut + 5)}`, `${token.slice(0, cut + 1)}\n${token.slice(cut + 1)}`];
    for (const t of respelt) expect(trust.verify(t), JSON.stringify(t)).toBe('malformed');
    expect(trust.verify(token)).toMatchObject({ scene: hint.scene, version: hint.version });
  });

  it('refuses a correctly signed token with bad fields', () => {
    now = T0;
    const body = `g1;${T0 / 1000 + 30};x;feed;wip;;-1`;
    expect(trust.verify(`${body};${createHmac('sha256', KEY).update(body).digest('base64url')}`)).toBe('malformed');
  });

  it('counts refusals by reason', () => {
    const t = new Trust({ keys: [KEY] });
    t.verify('nope');
    t.verify(t.sign({ scene: 'a' }), 'b');
    t.verify(t.sign({ scene: 'a' }), 'a');
    expect(t.counts()).toMatchObject({ signed: 1, refused: { malformed: 1, scene_mismatch: 1, bad_signature: 0 } });
  });

  it('without a key: never honours, cannot sign', () => {
    const t = new Trust();
    expect(t.verify(trust.sign(hint))).toBe('no_key');
    expect(() => t.sign(hint)).toThrow(/no key/);
  });
});

describe('a host clock that fails', () => {
  it.each([
    ['returns nothing (a missing return)', () => undefined],
    ['returns NaN', () => Number.NaN],
    ['throws', () => {
      throw new Error('clock source down');
    }],
  ])('refuses every token when trust.now %s, instead of letting none expire', (_what, now) => {
    const good = new Trust({ keys: [KEY] });
    const token = good.sign({ scene: 'feed', version: 'wip' }, 10);
    const t = new Trust({ keys: [KEY], now: now as () => number });
    expect(t.verify(token, 'feed')).toBe('bad_clock');
    expect(t.counts().refused.bad_clock).toBe(1);
    expect(() => t.sign({ scene: 'feed' })).toThrow(/trust\.sign: trust\.now\(\) threw or returned no finite unix ms/);
  });
});

describe('trust options', () => {
  it.each([
    ['keys', 'a string', /^trust: expected an object/],
    [{ keys: { k1: KEY } }, 'keys as an object', /trust\.keys: expected an array/],
    [{ keys: [KEY, 42] }, 'a numeric key', /trust\.keys\[1\]: expected a string or byte array, got 42/],
    [{ keys: [''] }, 'an empty key', /trust\.keys\[0\]: empty key/],
    [{ proxies: '10.0.0.1' }, 'proxies as one string', /trust\.proxies: expected an array/],
    [{ maxTtlSec: Infinity }, 'an endless lifetime', /trust\.maxTtlSec: expected a finite number > 0, got Infinity/],
    [{ maxTtlSec: '300' }, 'a lifetime as a string', /trust\.maxTtlSec/],
    [{ now: 123 }, 'a clock that is not a function', /trust\.now: expected a function/],
  ])('refuses %j (%s) at construction, naming the field', (options, _what, message) => {
    expect(() => new Trust(options as never)).toThrow(message);
    expect(() => new Trust(options as never)).toThrow(UsageError);
  });

  it('accepts byte-array keys and the defaults', () => {
    expect(new Trust({ keys: [new TextEncoder().encode(KEY)] }).canSign).toBe(true);
    expect(new Trust().canSign).toBe(false);
  });
});

describe('cookie extraction', () => {
  it.each([
    ['uid=alice', 'alice'],
    ['a=1; uid=bob; c=3', 'bob'],
    ['xuid=no; uid=yes', 'yes'],
    ['uid="quoted"', 'quoted'],
    ['uid=a%20b', 'a b'],
    ['uid=%E0%A4%A', undefined],
    ['a=1', undefined],
    ['uidx=1', undefined],
  ])('%j', (header, want) => expect(cookieValue(header, 'uid')).toBe(want));
  it('no header', () => expect(cookieValue(undefined, 'uid')).toBeUndefined());
});

describe('propagation', () => {
  const engine = createGearshift({ config: adapterConfig() });
  const d = engine.route('feed', 'user-7');
  const trust = new Trust({ keys: [KEY] });

  it('writes baggage, keeping foreign entries and replacing old gearshift ones', () => {
    const h = propagationHeaders(d, { mode: 'baggage' }, 'tenant=acme,gearshift.version=old;p=1, other=x');
    expect(h.baggage).toBe(`tenant=acme,other=x,gearshift.scene=feed,gearshift.version=${d.version},gearshift.config=cfg-1,gearshift.bucket=${d.bucket}`);
    expect(readBaggage(h.baggage!)).toEqual({ scene: 'feed', version: d.version, configVersion: 'cfg-1', bucket: d.bucket, loadTest: false });
  });

  it('writes a signed token when a key is there', () => {
    const h = propagationHeaders(d, { trust });
    expect(Object.keys(h)).toEqual(['x-gearshift-hint']);
    expect(trust.verify(h['x-gearshift-hint']!, 'feed')).toMatchObject({ scene: 'feed', version: d.version, configVersion: 'cfg-1', bucket: d.bucket });
  });

  it('fills plain objects and fetch Headers', () => {
    const plain = propagate(d, { Baggage: 'k=v', accept: 'x' }, { mode: 'baggage' });
    expect(plain).toEqual({ accept: 'x', baggage: expect.stringMatching(/^k=v,gearshift\.scene=feed/) });
    const h = propagate(d, new Headers({ baggage: 'k=v' }), { trust });
    expect(h.get('x-gearshift-hint')).toMatch(/^g1;/);
  });

  it('propagates nothing for a rejection', () => {
    expect(propagationHeaders(engine.route('nope', 'u'), { trust })).toEqual({});
  });

  it('carries the load-test flag, in baggage and in a signed token', () => {
    const lt = engine.route('feed', 'user-7', { trusted: true, loadTest: true });
    expect(lt.version).toBe('soak');
    expect(readBaggage(propagationHeaders(lt, { mode: 'baggage' }).baggage!)).toMatchObject({ version: 'soak', loadTest: true });
    expect(trust.verify(propagationHeaders(lt, { trust })['x-gearshift-hint']!, 'feed')).toMatchObject({ version: 'soak', loadTest: true });
  });

  it.each([
    ['options that are not an object', 'baggage', /^propagate: expected \{ mode, trust, ttlSec, header \}, got "baggage"/],
    ['a mode that does not exist', { mode: 'sined', trust }, /^propagate\.mode: expected 'signed' or 'baggage', got "sined"/],
    ['signed mode without a key', { mode: 'signed' }, /mode "signed" needs `trust` with a key/],
    ['trust options where a Trust belongs (no key: it would quietly send unsigned baggage)', { trust: { keys: [KEY] } }, /^propagate\.trust: expected a Trust/],
    ['a lifetime that is not a positive number', { trust, ttlSec: 0 }, /^propagate\.ttlSec: expected seconds > 0, got 0/],
    ['a lifetime the next service would refuse (over maxTtlSec, default 300)', { trust, ttlSec: 301 }, /^propagate\.ttlSec: expected seconds ≤ trust\.maxTtlSec \(300\), got 301/],
    ['an empty header name', { trust, header: '' }, /^propagate\.header: expected a header name/],
  ])('refuses %s, even for a rejected decision', (_what, options, message) => {
    expect(() => propagationHeaders(d, options as never)).toThrow(message);
    expect(() => propagationHeaders(engine.route('nope', 'u'), options as never)).toThrow(UsageError);
  });

  it('carries bucket 0 in baggage (0 is a bucket; only -1 means none)', () => {
    const zero = engine.route('feed', 'user-5727'); // found by search: its split bucket is 0
    expect(zero.bucket).toBe(0);
    expect(readBaggage(propagationHeaders(zero, { mode: 'baggage' }).baggage!)).toMatchObject({ bucket: 0 });
  });

  it('writes the signed header under a lower-case name, whatever case the option gives', () => {
    expect(Object.keys(propagationHeaders(d, { trust, header: 'X-Hint' }))).toEqual(['x-hint']);
  });

  it('reads lt=true as the load-test flag, and refuses values over 256 characters', () => {
    expect(readBaggage('gearshift.lt=true')).toMatchObject({ loadTest: true });
    expect(readBaggage(`gearshift.version=${'v'.repeat(257)}`)).toBeNull();
    expect(readBaggage(`gearshift.version=${'v'.repeat(256)}`)).toMatchObject({ version: 'v'.repeat(256) });
  });

  it('reads only gearshift baggage entries', () => {
    expect(readBaggage('a=1,b=2')).toBeNull();
    for (const none of [undefined, null, 7, ['gearshift.version=v']]) expect(readBaggage(none as never)).toBeNull(); // no header: nothing to read
    expect(readBaggage('gearshift.version=v%201;prop=x, gearshift.lt=1, gearshift.bucket=99999')).toEqual({ scene: undefined, version: 'v 1', configVersion: undefined, bucket: -1, loadTest: true });
  });
});

describe('misspelt fields', () => {
  it('refuses a hint to sign with a field it does not know: `loadtest: true` would sign an ordinary token', () => {
    const t = new Trust({ keys: [KEY] });
    expect(() => t.sign({ scene: 'feed', loadtest: true } as never)).toThrow(/^trust\.sign: hint\.loadtest: unknown option \(expected one of: scene, version, loadTest, configVersion, bucket\)$/);
  });
});
