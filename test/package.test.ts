import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Imports the BUILT package by its name (self-reference through `exports`), both ways, as a user would. */
describe('published package', () => {
  const run = (type: 'module' | 'commonjs', code: string) =>
    execFileSync(process.execPath, ['--input-type', type, '-e', code], { encoding: 'utf8', cwd: process.cwd() }).trim();
  const script = (load: string) =>
    `${load}; const gs = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } }); console.log(gs.route('s', 'u').version, new ConfigError([]).code);`;

  it('is built', () => expect(existsSync('dist/esm/index.js') && existsSync('dist/cjs/index.js') && existsSync('dist/cjs/index.d.ts')).toBe(true));
  it('imports as ESM', () => expect(run('module', script(`import { createGearshift, ConfigError } from 'gearshift'`))).toBe('v GEARSHIFT_CONFIG_INVALID'));
  it('requires as CJS', () => expect(run('commonjs', script(`const { createGearshift, ConfigError } = require('gearshift')`))).toBe('v GEARSHIFT_CONFIG_INVALID'));

  // The simulator, for tuning goals offline: its own entry, so that a service that never simulates never loads it.
  const simulate = `const sc = { ...scenarios()[0], durationS: 70 }; const m = metricsOf(runScenario(sc, 'gearshift'), sc.disturbAt, sc.dropAt);
    console.log(typeof formatTable, m.goodput > 0.5);`;
  it('offers the simulator as gearshift/simulate, both ways', () => {
    expect(run('module', `import { runScenario, metricsOf, scenarios, formatTable } from 'gearshift/simulate'; ${simulate}`)).toBe('function true');
    expect(run('commonjs', `const { runScenario, metricsOf, scenarios, formatTable } = require('gearshift/simulate'); ${simulate}`)).toBe('function true');
  });
});
