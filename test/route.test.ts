import { describe, expect, expectTypeOf, it } from 'vitest';
import { createGearshift } from '../src/engine.js';
import { ClosedError } from '../src/errors.js';
import { type Decision, Ignored, Reason, type RoutedDecision } from '../src/route/decision.js';
import type { Stage } from '../src/config/schema.js';
import { internalized } from '../src/config/boxed-values.js';
import { bucketOf, saltOf, unitHash } from '../src/route/hash.js';
import { chooseSceneKey, fullKey, sampledKey } from '../src/route/scene-key.js';
import { bytesPerCall as youngBytesPerCall } from '../bench/alloc.mjs';
import { chiSquare, feedConfig, units } from './helpers.js';

/** Chi-square 99.9% quantiles: the tests use fixed ids, so they are deterministic; the bound says how lucky they may be. */
const CHI2_999 = { df1: 10.83, df3: 16.27, df99: 148.23 };

describe('routing precedence', () => {
  const gs = createGearshift({ config: feedConfig() });

  it('rejects an unknown scene, never guesses', () => {
    const d = gs.route('nope', 'user-1');
    expect(d.ok).toBe(false);
    expect(d.reason).toBe(Reason.UnknownScene);
    expect(d.version).toBeNull();
    expect(d.scene).toBe('nope');
  });

  it('rejects a scene that is configured but not deployed here', () => {
    const only = createGearshift({ config: feedConfig({ deployedHere: ['search'] }) });
    expect(only.route('feed', 'user-1').reason).toBe(Reason.NotDeployed);
    expect(only.route('search', 'user-1').reason).toBe(Reason.Split);
  });

  it('serves every scene when deployedHere is "*" (the default, spelt out)', () => {
    const all = createGearshift({ config: feedConfig({ deployedHere: '*' }) });
    expect(all.route('feed', 'user-1').reason).toBe(Reason.Split);
    expect(all.route('search', 'user-1').reason).toBe(Reason.Split);
  });

  it('gives a scene without rtBudgetMs the documented 200 ms budget, and an unknown scene 0', () => {
    expect(gs.route('search', 'user-1').rtBudgetMs).toBe(200);
    expect(gs.route('nope', 'user-1').rtBudgetMs).toBe(0);
  });

  it('honours a trusted explicit version, even over load-test and whitelist', () => {
    const d = gs.route('feed', 'alice', { version: 'refactor', loadTest: true, trusted: true });
    expect([d.version, d.reason, d.loadTest]).toEqual(['refactor', Reason.Explicit, true]);
  });

  it('keeps the unit on an explicit version: its hash and its layer arms are those of ordinary traffic', () => {
    // Only the code version is steered; layers stay independent of it, so a verifier sees the unit's own arms.
    for (const u of units(50)) {
      const d = gs.route('feed', u, { version: 'wip', trusted: true });
      expect(d.reason).toBe(Reason.Explicit);
      expect(d.unitHash).toBe(unitHash(u));
      expect(d.arms()).toEqual(gs.route('feed', u).arms());
    }
  });

  it('ignores an untrusted explicit version and says so', () => {
    const d = gs.route('feed', 'user-1', { version: 'wip' });
    expect(d.version).not.toBe('wip');
    expect(d.ignored & Ignored.UntrustedVersion).toBeTruthy();
    expect(d.explain()).toContain('untrusted_version');
  });

  it('falls through on a trusted version the scene does not have, and says so', () => {
    const d = gs.route('feed', 'user-1', { version: 'ghost', trusted: true });
    expect(d.reason).toBe(Reason.Split);
    expect(d.ignored & Ignored.UnknownVersion).toBeTruthy();
  });

  it('does not reach lt by explicit version outside load-test traffic', () => {
    const d = gs.route('feed', 'user-1', { version: 'soak', trusted: true });
    expect(d.stage).not.toBe('lt');
    expect(d.ignored & Ignored.UnknownVersion).toBeTruthy();
  });

  it('sends trusted load-test traffic to lt, before the whitelist', () => {
    const d = gs.route('feed', 'alice', { loadTest: true, trusted: true });
    expect([d.version, d.stage, d.reason, d.loadTest]).toEqual(['soak', 'lt', Reason.LoadTest, true]);
  });

  it('refuses load-test traffic for a scene without lt rather than serving base', () => {
    const d = gs.route('search', 'user-1', { loadTest: true, trusted: true });
    expect(d.ok).toBe(false);
    expect(d.reason).toBe(Reason.NoLoadTestVersion);
    expect(d.loadTest).toBe(true); // still load-test traffic: kept out of the scene's business figures
  });

  it('treats an untrusted load-test marker as ordinary traffic and flags it', () => {
    const d = gs.route('feed', 'user-1', { loadTest: true });
    expect(d.stage).not.toBe('lt');
    expect(d.loadTest).toBe(false);
    expect(d.ignored & Ignored.UntrustedLoadTest).toBeTruthy();
  });

  it('pins whitelisted units before the split', () => {
    expect(gs.route('feed', 'alice')).toMatchObject({ version: 'wip', stage: 'dev', reason: Reason.Whitelist, bucket: -1 });
    expect(gs.route('feed', 'bob')).toMatchObject({ version: 'canary', reason: Reason.Whitelist });
  });

  it('pins a unit to the first-declared version too (version index 0 is a real pin, not "none")', () => {
    const pinned = createGearshift({ config: feedConfig({ whitelist: { carol: 'main' } }) });
    expect(pinned.route('feed', 'carol')).toMatchObject({ version: 'main', reason: Reason.Whitelist, bucket: -1 });
  });

  it('splits other units by bucket and never reaches dev by split', () => {
    const seen = new Map<string, number>();
    for (const u of units(20_000)) {
      const d = gs.route('feed', u);
      expect(d.reason).toBe(Reason.Split);
      expect(d.bucket).toBeGreaterThanOrEqual(0);
      seen.set(d.version!, (seen.get(d.version!) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['canary', 'main', 'refactor']);
    expect(seen.get('refactor')! / 20_000).toBeCloseTo(0.1, 1);
    expect(seen.get('canary')! / 20_000).toBeCloseTo(0.05, 1);
  });

  it('gives a request without a unit the base version and every layer first arm', () => {
    for (const unit of [undefined, null, '']) {
      const d = gs.route('feed', unit);
      expect(d).toMatchObject({ version: 'main', reason: Reason.NoUnit, bucket: -1, ignored: 0 });
      expect(d.arms()).toEqual({ rank: 'control', recall: 'a' });
    }
  });

  it('lets `ok` narrow a decision for TypeScript: served has scene, version and stage; a rejection has neither', () => {
    // The assertions on types are checked by `npm run typecheck`; the ones on values, here.
    const served = gs.route('feed', 'user-1');
    expectTypeOf(served).toEqualTypeOf<RoutedDecision>();
    expectTypeOf(served).toMatchTypeOf<Decision>();
    if (!served.ok) throw new Error('feed is served here');
    expectTypeOf(served.version).toEqualTypeOf<string>();
    expectTypeOf(served.stage).toEqualTypeOf<Stage>();
    expectTypeOf(served.scene).toEqualTypeOf<string>();
    expect([typeof served.version, typeof served.stage, served.scene]).toEqual(['string', 'string', 'feed']);
    const any = gs.route('nope', 'user-1');
    if (any.reason === 'unknown_scene') expectTypeOf(any.version).toEqualTypeOf<null>(); // a reason narrows too
    if (any.reason === 'split') expectTypeOf(any.version).toEqualTypeOf<string>();
    for (const rejected of [gs.route('nope', 'user-1'), gs.route('', 'user-1'), gs.route('search', 'u', { loadTest: true, trusted: true })]) {
      if (rejected.ok) throw new Error(`${rejected.explain()} should be a rejection`);
      expectTypeOf(rejected.version).toEqualTypeOf<null>();
      expectTypeOf(rejected.stage).toEqualTypeOf<null>();
      expect([rejected.version, rejected.stage]).toEqual([null, null]);
    }
  });

  it('is deterministic: the same unit always gets the same decision', () => {
    const a = units(1000).map((u) => gs.route('feed', u).explain());
    const b = units(1000).map((u) => gs.route('feed', u).explain());
    expect(b).toEqual(a);
  });
});

describe('split uniformity and ramp stability', () => {
  it('spreads units uniformly over buckets (chi-square over 100 bucket ranges)', () => {
    const gs = createGearshift({ config: feedConfig() });
    const counts = new Array(100).fill(0);
    for (const u of units(200_000)) counts[Math.floor(gs.route('feed', u).bucket / 100)]++;
    expect(chiSquare(counts, new Array(100).fill(0.01))).toBeLessThan(CHI2_999.df99);
  });

  it('ramping up 5% → 10% keeps every unit that was on up and moves only the difference from base', () => {
    const before = createGearshift({ config: feedConfig({ upWeight: 5 }) });
    const after = createGearshift({ config: feedConfig({ upWeight: 10 }) });
    let moved = 0;
    const ids = units(100_000);
    for (const u of ids) {
      const a = before.route('feed', u).version;
      const b = after.route('feed', u).version;
      if (a === 'canary') expect(b).toBe('canary');
      if (a === 'refactor') expect(b).toBe('refactor');
      if (a !== b) {
        expect([a, b]).toEqual(['main', 'canary']);
        moved++;
      }
    }
    expect(moved / ids.length).toBeCloseTo(0.05, 2);
  });

  it('maps buckets as the README defines: non-base entries from bucket 0 in array order, base last wherever it is listed', () => {
    // base listed first must not take the low buckets: cross-language reproductions count it last.
    const cfg = feedConfig();
    cfg.scenes.feed!.split = [{ version: 'main', weight: 85 }, { version: 'refactor', weight: 10 }, { version: 'canary', weight: 5 }];
    const gs = createGearshift({ config: cfg });
    const salt = saltOf('feed'); // the split seed defaults to the scene id
    for (const u of units(2000)) {
      const b = bucketOf(salt, unitHash(u));
      const d = gs.route('feed', u);
      if (d.reason !== Reason.Split) continue; // alice and bob are pinned
      expect([d.bucket, d.version]).toEqual([b, b < 1000 ? 'refactor' : b < 1500 ? 'canary' : 'main']);
    }
  });

  it('explains a decision in bucket 0 with its bucket (0 is a bucket, not "no bucket")', () => {
    const gs = createGearshift({ config: feedConfig() });
    const d = gs.route('feed', 'user-5727'); // found by search: bucketOf(saltOf('feed'), unitHash('user-5727')) === 0
    expect(d.bucket).toBe(0);
    expect(d.explain()).toContain(' bucket=0 ');
  });

  it('the release diff reports the moved share', () => {
    const gs = createGearshift({ config: feedConfig({ upWeight: 5 }) });
    const diff = gs.reload(feedConfig({ upWeight: 10 }));
    expect(diff.moves).toEqual([{ scene: 'feed', buckets: 500, flows: { 'main → canary': 500 } }]);
    expect(diff.toString()).toContain('5.00% of units change version (main → canary 5.00%)');
  });
});

describe('business layers', () => {
  const gs = createGearshift({ config: feedConfig() });
  const ids = units(200_000);

  it('each layer splits 100,000+ ids per arm within the chi-square bound', () => {
    const rank = [0, 0];
    const recall = [0, 0];
    for (const u of ids) {
      const d = gs.route('feed', u);
      rank[d.arm('rank') === 'control' ? 0 : 1]!++;
      recall[d.arm('recall') === 'a' ? 0 : 1]!++;
    }
    expect(chiSquare(rank, [0.5, 0.5])).toBeLessThan(CHI2_999.df1);
    expect(chiSquare(recall, [0.25, 0.75])).toBeLessThan(CHI2_999.df1);
  });

  it('layers are independent of each other and of the code split (contingency chi-square)', () => {
    // rank arm × recall arm: joint shares must be the product of the marginals.
    const joint = [0, 0, 0, 0];
    // code version × rank arm among split traffic
    const byVersion = new Map<string, [number, number]>();
    for (const u of ids) {
      const d = gs.route('feed', u);
      const r = d.arm('rank') === 'control' ? 0 : 1;
      joint[r * 2 + (d.arm('recall') === 'a' ? 0 : 1)]!++;
      const row = byVersion.get(d.version!) ?? [0, 0];
      row[r]++;
      byVersion.set(d.version!, row);
    }
    expect(chiSquare(joint, [0.125, 0.375, 0.125, 0.375])).toBeLessThan(CHI2_999.df3);
    for (const [, row] of byVersion) expect(chiSquare(row, [0.5, 0.5])).toBeLessThan(CHI2_999.df1);
  });

  it('reads params with one call: arm value, else scene default', () => {
    const d = gs.route('feed', 'user-7');
    expect(d.param('model')).toBe(d.arm('rank') === 'big' ? 'large' : 'small');
    expect(d.param('recallDepth')).toBe(d.arm('recall') === 'a' ? 200 : 800);
    expect(d.param('missing')).toBeUndefined();
    expect(gs.route('search', 'user-7').param('model')).toBeUndefined();
  });

  it("reads every param from the request's own arm, also past an arm of weight 0, and the first arm with traffic without a unit", () => {
    const cfg = feedConfig();
    cfg.scenes.feed!.layers = [
      {
        name: 'tier',
        arms: [
          { name: 'off', weight: 0, params: { tier: 0 } },
          { name: 'silver', weight: 60, params: { tier: 2 } },
          { name: 'gold', weight: 40, params: { tier: 3 } },
        ],
      },
    ];
    const gs3 = createGearshift({ config: cfg });
    const seen = new Set<number>();
    for (const u of units(2000)) {
      const d = gs3.route('feed', u);
      const tier = d.param<number>('tier')!;
      seen.add(tier);
      expect(tier).toBe({ off: 0, silver: 2, gold: 3 }[d.arm('tier')!]);
    }
    expect([...seen].sort()).toEqual([2, 3]);
    // An arm at 0% gets no traffic, anonymous traffic included: a treatment switched off while listed first must not
    // keep serving every request without a unit id (it did until the seventeenth session).
    const anonymous = gs3.route('feed', undefined);
    expect([anonymous.arm('tier'), anonymous.param('tier'), anonymous.unitHash]).toEqual(['silver', 2, 0]);
    const trustedAnonymous = gs3.route('feed', undefined, { version: 'main', trusted: true });
    expect([trustedAnonymous.reason, trustedAnonymous.arm('tier')]).toEqual(['explicit', 'silver']);
  });

  it("hashes a layer without its own seed under '<scene seed>/<layer name>', as the README defines", () => {
    for (const u of units(500)) {
      const d = gs.route('feed', u);
      expect(d.arm('rank')).toBe(bucketOf(saltOf('feed/rank'), unitHash(u)) < 5000 ? 'control' : 'big');
      expect(d.arm('recall')).toBe(bucketOf(saltOf('feed/recall'), unitHash(u)) < 2500 ? 'a' : 'b');
    }
  });

  it('limits a layer to some versions', () => {
    const cfg = feedConfig();
    cfg.scenes.feed!.layers![1]!.versions = ['refactor'];
    const limited = createGearshift({ config: cfg });
    for (const u of units(2000)) {
      const d = limited.route('feed', u);
      if (d.version === 'refactor') expect(d.arm('recall')).toBeDefined();
      else {
        expect(d.arm('recall')).toBeUndefined();
        expect(d.param('recallDepth')).toBe(400);
      }
    }
  });

  it('reads fractional params and gears without allocating (a double array would box every read)', () => {
    const cfg = feedConfig();
    cfg.scenes.feed!.params = { ...cfg.scenes.feed!.params, floor: 0.5 };
    cfg.scenes.feed!.layers![0]!.arms.forEach((a, i) => (a.params = { ...a.params, temperature: 0.25 + i / 2 }));
    cfg.scenes.feed!.points = { ratio: { gears: [0.25, 0.5, 0.75] } };
    const gsf = createGearshift({ config: cfg });
    const ds = units(1000).map((u) => gsf.route('feed', u));
    expect(ds[0]!.param('floor')).toBe(0.5);
    expect([0.25, 0.75]).toContain(ds[0]!.param('temperature'));
    expect(ds[0]!.gear('ratio')).toBe(0.75);
    const kept: unknown[] = new Array(8);
    const reads = (read: (d: Decision) => unknown) => (n: number) => {
      for (let i = 0; i < n; i++) kept[i & 7] = read(ds[i % 1000]!); // the value escapes: a boxed read would allocate
    };
    // 16 bytes per read before the values were kept in generic arrays (a heap number each); now none
    expect(youngBytesPerCall(reads((d) => d.param('temperature')))).toBeLessThan(2);
    expect(youngBytesPerCall(reads((d) => d.param('floor')))).toBeLessThan(2);
    expect(youngBytesPerCall(reads((d) => d.gear('ratio')))).toBeLessThan(2);
    gsf.close();
  });

  it('keeps every string param value as written (values are internalized, so that === against a literal is one compare)', () => {
    const odd = ['', '__proto__', 'constructor', '1', '01', '-0', 'héllo 𝄞', 'x'.repeat(300)];
    for (const v of odd) expect(internalized(v)).toBe(v);
    const cfg = feedConfig();
    cfg.scenes.feed!.params = { ...cfg.scenes.feed!.params, ...Object.fromEntries(odd.map((v, i) => [`odd${i}`, v])) };
    const gso = createGearshift({ config: cfg });
    const d = gso.route('feed', 'user-1');
    odd.forEach((v, i) => expect(d.param(`odd${i}`)).toBe(v));
    gso.close();
  });
});

describe('atomic swap under concurrent decisions', () => {
  it('decisions in flight keep the snapshot they started with; new ones see the new config', async () => {
    const gs = createGearshift({ config: feedConfig({ version: 'v1' }) });
    const inFlight = units(200).map((u) => gs.route('feed', u));
    const expected = inFlight.map((d) => [d.version, d.param('model'), d.param('recallDepth')]);

    const next = feedConfig({ version: 'v2', upWeight: 30 });
    next.scenes.feed!.layers![0]!.arms[0]!.params = { model: 'tiny' };
    next.scenes.feed!.params = { recallDepth: 1, model: 'x' };
    next.scenes.feed!.layers![1]!.arms = [{ name: 'only', weight: 100, params: { recallDepth: 5 } }];

    // Interleave: handlers await while a reload lands in the middle of them.
    const results = await Promise.all(
      inFlight.map(async (d, i) => {
        await new Promise((r) => setImmediate(r));
        if (i === 100) gs.reload(next);
        await new Promise((r) => setImmediate(r));
        return [d.version, d.param('model'), d.param('recallDepth')];
      }),
    );
    expect(results).toEqual(expected);
    expect(inFlight.every((d) => d.configVersion === 'v1')).toBe(true);
    const fresh = gs.route('feed', 'user-1');
    expect(fresh.configVersion).toBe('v2');
    expect(fresh.param('recallDepth')).toBe(5);
  });

  it('an invalid reload is refused and the old tables keep serving', () => {
    const gs = createGearshift({ config: feedConfig({ version: 'v1' }) });
    const before = units(100).map((u) => gs.route('feed', u).explain());
    expect(() => gs.reload({ scenes: { feed: { versions: {} } } })).toThrowError(/exactly one version with stage "base"/);
    expect(gs.configVersion).toBe('v1');
    expect(units(100).map((u) => gs.route('feed', u).explain())).toEqual(before);
  });
});

describe('the config the engine holds', () => {
  it('is its own frozen copy: changing the document after a reload changes neither routing nor the next release diff', () => {
    const doc = feedConfig({ version: 'v1' });
    const gs = createGearshift({ config: doc });
    doc.scenes.feed!.split![1]!.weight = 20; // the caller edits its document in place …
    doc.scenes.feed!.split![2]!.weight = 70;
    doc.version = 'v2';
    expect(gs.config.scenes.feed!.split![1]!.weight).toBe(5); // … and the engine still holds what it was given
    expect(Object.isFrozen(gs.config.scenes.feed!.split![1])).toBe(true);
    expect(() => ((gs.config.scenes.feed!.split![1] as { weight: number }).weight = 50)).toThrow(TypeError);
    const diff = gs.reload(doc);
    expect(diff.changes.filter((c) => c.path.startsWith('scenes.feed.split')).map((c) => [c.before, c.after])).toEqual([[5, 20], [85, 70]]);
    expect(gs.configVersion).toBe('v2');
  });

  it('refuses a reload after close, and keeps routing from the last config', () => {
    const gs = createGearshift({ config: feedConfig({ version: 'v1' }) });
    gs.close();
    expect(() => gs.reload(feedConfig({ version: 'v2' }))).toThrow(ClosedError);
    expect(gs.route('feed', 'alice').version).toBe('wip');
    expect(gs.configVersion).toBe('v1');
  });
});

describe('hostile input', () => {
  const gs = createGearshift({ config: feedConfig() });
  const hostile: unknown[] = ['', 'x'.repeat(257), 'x'.repeat(1_000_000), '\u0000\u0001\r\n', '__proto__', 'constructor', 'hasOwnProperty', 'feed\u0000', '\ud800', '💥', 42, null, undefined, {}, [], Symbol('s'), () => 1, new String('feed')];

  it('never throws and always explains, for any scene value', () => {
    for (const scene of hostile) {
      const d = gs.route(scene, 'user-1');
      expect(d.ok).toBe(false);
      expect([Reason.InvalidScene, Reason.UnknownScene]).toContain(d.reason);
      expect(() => d.explain()).not.toThrow();
      expect(() => JSON.stringify(d)).not.toThrow();
    }
  });

  it('draws the scene-id limit at 256 characters: 256 is looked up, 257 is invalid and not echoed back', () => {
    const at = gs.route('s'.repeat(256), 'user-1');
    expect([at.reason, at.scene]).toEqual([Reason.UnknownScene, 's'.repeat(256)]);
    const over = gs.route('s'.repeat(257), 'user-1');
    expect([over.reason, over.scene]).toEqual([Reason.InvalidScene, null]);
  });

  it('treats an unusable unit id as absent and flags it', () => {
    for (const unit of ['x'.repeat(257), 42, {}, Symbol('u'), ['a']]) {
      const d = gs.route('feed', unit);
      expect(d).toMatchObject({ version: 'main', reason: Reason.NoUnit });
      expect(d.ignored & Ignored.InvalidUnit).toBeTruthy();
    }
  });

  it('routes odd but valid unit ids (control chars, non-ASCII, __proto__) by bucket', () => {
    for (const unit of ['__proto__', 'constructor', '\u0000', '用户', '\ud800', 'a\r\nb', 'x'.repeat(256)]) {
      const d = gs.route('feed', unit);
      expect(d.reason).toBe(Reason.Split);
      expect(d.param('__proto__')).toBeUndefined();
    }
  });

  it('reads no param for a name that is not a string, or longer than any param name', () => {
    const d = gs.route('feed', 'user-1');
    for (const name of [undefined, null, 42, {}, 'x'.repeat(10_000)]) expect(d.param(name as string)).toBeUndefined();
  });

  it('ignores hostile hints', () => {
    for (const version of ['__proto__', 'x'.repeat(10_000), '', 'constructor']) {
      const d = gs.route('feed', 'user-1', { version, trusted: true });
      expect(d.reason).toBe(Reason.Split);
    }
    expect(gs.route('feed', 'user-1', { version: 7 as unknown as string, trusted: true }).reason).toBe(Reason.Split);
  });

  it('counts every decision by reason and every ignored hint', () => {
    const fresh = createGearshift({ config: feedConfig() });
    fresh.route('nope', 'u');
    fresh.route(7, 'u');
    fresh.route('feed', 'u', { version: 'wip' });
    fresh.route('feed', 42);
    const c = fresh.routeCounts();
    expect(c.decisions).toBe(4);
    expect(c.byReason).toMatchObject({ unknown_scene: 1, invalid_scene: 1, split: 1, no_unit: 1 });
    expect(c.ignored).toMatchObject({ untrustedVersion: 1, invalidUnit: 1 });
  });
});

describe('large whitelists', () => {
  it('pins every one of 100,000 units and no other unit (the miss prefilter has no false negatives)', () => {
    const wl = Object.fromEntries(units(100_000, 'vip-').map((u, i) => [u, i % 2 ? 'wip' : 'canary']));
    const gs = createGearshift({ config: feedConfig({ whitelist: wl }) });
    units(100_000, 'vip-').forEach((u, i) => expect(gs.route('feed', u)).toMatchObject({ reason: Reason.Whitelist, version: i % 2 ? 'wip' : 'canary' }));
    for (const u of units(20_000, 'vip+')) expect(gs.route('feed', u).reason).toBe(Reason.Split);
  });
});

describe('scene look-up', () => {
  const scenes = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, { versions: { v: { stage: 'base' as const } } }]));

  it('finds each of 2,000 scenes and nothing else, with whichever key the ids get', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `scene_${String(i).padStart(4, '0')}`);
    const gs = createGearshift({ config: { scenes: scenes(ids) } });
    for (const id of ids) expect(gs.route(`${id}`, 'u').scene).toBe(id);
    for (const id of ['scene_2000', 'scene_000', 'scene_00000', 'Scene_0001', 'scene_0001 ', 'xcene_0001']) expect(gs.route(id, 'u').reason).toBe(Reason.UnknownScene);
  });

  it('samples characters for ordinary ids, and falls back to the full hash when they would cluster', () => {
    expect(chooseSceneKey(['feed', 'search', 'fund_page', 'ads'])).toBe(sampledKey);
    // Same length, same first/second/middle/last two characters: the sample cannot tell them apart.
    const clustered = ['aa_x_1_zz', 'aa_x_2_zz', 'aa_x_3_zz'];
    expect(new Set(clustered.map(sampledKey)).size).toBe(1);
    expect(chooseSceneKey(clustered)).toBe(fullKey);
    const gs = createGearshift({ config: { scenes: scenes(clustered) } });
    for (const id of clustered) expect(gs.route(id, 'u').scene).toBe(id);
  });
});
