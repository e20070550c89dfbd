/**
 * Review of the simulator (`gearshift/simulate`) from the side of an SRE tuning a regulator config offline: the two
 * of its 21 faults whose fixes landed in the twenty-third session (scenarios sharing one scene config; a CLI that ran
 * everything on a typo). The other 19 tests, and their fixes, wait on the `simulator-review` branch: the fixes change
 * the simulator's model (same arrivals for every controller, load tests counted) and with it three claims of
 * simulate.test.ts and control-review.test.ts, which need a decision first (see the README's simulator section).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../src/simulate/scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/simulate.mjs', ...args], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('the public surface', () => {
  it('scenarios() hands out scenarios that do not share one mutable scene config', () => {
    // Tuning a goal on one returned scenario (sc.scenes[0].config.goals…) silently changes every other scenario, and
    // every later scenarios() call in the process, since all feed scenes are one module-level object.
    const a = scenarios();
    const goals = a[0]!.scenes[0]!.config.goals as { timeoutRate: { target: number } };
    const before = goals.timeoutRate.target;
    try {
      goals.timeoutRate.target = 0.05;
      expect((scenarios()[2]!.scenes[0]!.config.goals as { timeoutRate: { target: number } }).timeoutRate.target).toBe(before);
      expect((a[2]!.scenes[0]!.config.goals as { timeoutRate: { target: number } }).timeoutRate.target).toBe(before);
    } finally {
      goals.timeoutRate.target = before;
    }
  });
});

describe('the CLI (scripts/simulate.mjs)', () => {
  it('--only with a name that matches no scenario fails, naming it, instead of printing no table and exiting 0', () => {
    // A typo in CI (`--only sawteeth`) today passes with nothing measured.
    const r = cli('--only', 'no such scenario');
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('no such scenario');
  }, 60_000);

  it('refuses an unknown option or --only without a value, instead of silently running every scenario', () => {
    // `--jsn` or a trailing `--only` run the whole table (≈5 s) as if nothing had been asked.
    for (const args of [['--jsn'], ['--only']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
    }
  }, 60_000);
});
