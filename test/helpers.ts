import type { GearshiftConfig } from '../src/config/schema.js';

/** A scene with every stage, a whitelist, a split and two layers: the shape most tests start from. */
export function feedConfig(overrides: { upWeight?: number; whitelist?: Record<string, string>; deployedHere?: GearshiftConfig['deployedHere']; version?: string } = {}): GearshiftConfig {
  const up = overrides.upWeight ?? 5;
  return {
    version: overrides.version,
    deployedHere: overrides.deployedHere,
    scenes: {
      feed: {
        rtBudgetMs: 200,
        versions: { main: { stage: 'base' }, canary: { stage: 'up' }, refactor: { stage: 'up' }, wip: { stage: 'dev' }, soak: { stage: 'lt' } },
        whitelist: overrides.whitelist ?? { alice: 'wip', bob: 'canary' },
        split: [
          { version: 'refactor', weight: 10 },
          { version: 'canary', weight: up },
          { version: 'main', weight: 90 - up },
        ],
        params: { recallDepth: 400, model: 'base-model' },
        layers: [
          { name: 'rank', arms: [{ name: 'control', weight: 50, params: { model: 'small' } }, { name: 'big', weight: 50, params: { model: 'large' } }] },
          { name: 'recall', arms: [{ name: 'a', weight: 25, params: { recallDepth: 200 } }, { name: 'b', weight: 75, params: { recallDepth: 800 } }] },
        ],
      },
      search: { versions: { v1: { stage: 'base' } } },
    },
  };
}

/** Unit ids as a request would carry them: fresh strings, built at run time. */
export const units = (n: number, prefix = 'user-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Pearson chi-square statistic of observed counts against expected shares. */
export function chiSquare(observed: number[], expectedShares: number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((sum, o, i) => {
    const e = total * expectedShares[i]!;
    return sum + ((o - e) * (o - e)) / e;
  }, 0);
}
