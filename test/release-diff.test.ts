/** `releaseDiff`: the release diff of two documents without an engine, bucket moves included (twenty-eighth session). */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { ConfigError } from '../src/errors.js';
import { releaseDiff } from '../src/route/release-diff.js';

const config = (version: string, canary: number, seed = 'feed') => ({
  version,
  scenes: { feed: { seed, versions: { main: { stage: 'base' as const }, canary: { stage: 'up' as const } }, split: [{ version: 'canary', weight: canary }, { version: 'main', weight: 100 - canary }] } },
});

describe('releaseDiff', () => {
  it('is what a reload from one document to the other returns', () => {
    for (const [a, b] of [[config('a', 5), config('b', 10)], [config('a', 10), config('b', 5)], [config('a', 5), config('b', 5, 'reseeded')], [config('a', 5), config('a', 5)]] as const) {
      const engine = createGearshift({ config: a, clock: new ManualClock(0) });
      const reloaded = engine.reload(b);
      engine.close();
      const diff = releaseDiff(a, b);
      expect(diff).toEqual(reloaded);
      expect(diff.toString()).toBe(reloaded.toString());
    }
    expect(releaseDiff(config('a', 5), config('b', 10)).moves).toEqual([{ scene: 'feed', buckets: 500, flows: { 'main → canary': 500 } }]);
    expect(releaseDiff(config('a', 5), config('a', 5)).empty).toBe(true);
  });

  it('validates both documents, the one before first', () => {
    const bad = { scenes: { feed: { versions: {} } } };
    expect(() => releaseDiff(config('a', 5), bad)).toThrow(ConfigError);
    expect(() => releaseDiff(bad, { nonsense: true })).toThrow(/scenes\.feed\.versions/);
  });
});
