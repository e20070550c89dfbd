import { describe, expect, it } from 'vitest';
import { diffConfigs, formatChange } from '../src/config/diff.js';
import { createGearshift } from '../src/engine.js';
import { feedConfig } from './helpers.js';

describe('release diff', () => {
  it('lists changes by path, matching named array entries by name', () => {
    const a = feedConfig({ version: 'v1' });
    const b = feedConfig({ version: 'v2' });
    b.scenes.feed!.layers = [...b.scenes.feed!.layers!].reverse();
    b.scenes.feed!.layers![0]!.arms[1]!.params = { recallDepth: 900 };
    delete b.scenes.feed!.whitelist!.bob;
    b.scenes.feed!.versions.next = { stage: 'dev' };
    const lines = diffConfigs(a, b).map(formatChange);
    expect(lines).toEqual([
      '~ version: "v1" → "v2"',
      '+ scenes.feed.versions.next: {"stage":"dev"}',
      '- scenes.feed.whitelist.bob: "canary"',
      '~ scenes.feed.layers["recall"].arms["b"].params.recallDepth: 800 → 900',
      '~ scenes.feed.layers: ["rank","recall"] → ["recall","rank"]',
    ]);
  });

  it('matches split entries by version name, as the README example shows', () => {
    const a = feedConfig({ upWeight: 5 });
    const b = feedConfig({ upWeight: 10 });
    expect(diffConfigs(a, b).map(formatChange)).toEqual([
      '~ scenes.feed.split["canary"].weight: 5 → 10',
      '~ scenes.feed.split["main"].weight: 85 → 80',
    ]);
  });

  it('falls back to indices when names repeat, so no entry hides behind another of the same name', () => {
    // Keyed by name, the first "a" would be replaced by the second and its change lost.
    const before = { list: [{ name: 'a', v: 1 }, { name: 'a', v: 2 }] };
    const after = { list: [{ name: 'a', v: 9 }, { name: 'a', v: 2 }] };
    expect(diffConfigs(before, after).map(formatChange)).toEqual(['~ list[0].v: 1 → 9']);
  });

  it('reports a named entry that was inserted as added, by its name', () => {
    const before = { layers: [{ name: 'a', w: 1 }] };
    const after = { layers: [{ name: 'a', w: 1 }, { name: 'b', w: 2 }] };
    expect(diffConfigs(before, after).map(formatChange)).toEqual(['+ layers["b"]: {"name":"b","w":2}']);
  });

  it('shortens a long value to 80 characters in the readable line', () => {
    const line = formatChange({ path: 'p', kind: 'added', after: 'x'.repeat(100) });
    expect(line).toBe(`+ p: "${'x'.repeat(76)}...`);
  });

  it('is empty for an identical document and says so', () => {
    const gs = createGearshift({ config: feedConfig({ version: 'v1' }) });
    const diff = gs.reload(feedConfig({ version: 'v1' }));
    expect(diff.empty).toBe(true);
    expect(diff.toString()).toBe('config v1 → v1: 0 changes');
  });

  it('flags a seed change as re-bucketing every unit', () => {
    const gs = createGearshift({ config: feedConfig() });
    const next = feedConfig();
    next.scenes.feed!.seed = 'feed-2026';
    expect(gs.reload(next).moves).toEqual([{ scene: 'feed', buckets: 10_000, flows: { 'seed changed: every unit re-bucketed': 10_000 } }]);
  });
});
