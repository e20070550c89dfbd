import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What `npm publish` would ship, used as a user would: the packed tarball unpacked into a fresh project's
 * node_modules, type-checked by TypeScript with Node16 resolution (ESM and CommonJS, each a program of its own, with
 * library checking on) and run both ways, and once more as CommonJS with Node10 resolution, the default of `module:
 * CommonJS`. package.test.ts imports the working tree by self-reference; this catches
 * what only the tarball can get wrong: a file left out of `files`, an `exports` target that was not built, types of
 * the wrong module kind, source maps pointing at sources that are not shipped.
 */
const run = promisify(execFile);
const root = process.cwd();
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
let app = '';
let shipped: string[] = [];

// Every subpath a user can import, used for something, so its types are checked, not just resolved.
const consumer = `
import { createGearshift, ConfigError, Outcome, type Decision } from 'gearshift';
import { gearshift } from 'gearshift/express';
import fastifyGearshift from 'gearshift/fastify';
import { withGearshift } from 'gearshift/http';
import { createGateway } from 'gearshift/gateway';
import { scenarios, type Scenario } from 'gearshift/simulate';
import type { Request } from 'express';
import type { FastifyRequest } from 'fastify';
const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } });
const d: Decision = engine.route('s', 'u');
const fromExpress = (req: Request): Decision | null | undefined => req.gearshift;
// ok narrows what routing returns: a served decision's version is a string, a rejection's null
const fromFastify = (req: FastifyRequest): string | undefined => (req.gearshift?.ok ? req.gearshift.version : undefined);
const gateway = createGateway(engine);
const { decision } = gateway.begin('s', 'u');
const served: string = decision.ok ? decision.version : 'rejected';
const rejected = engine.route('elsewhere', 'u');
const none: null = rejected.ok ? null : rejected.version;
const scenario: Scenario = scenarios()[0]!;
console.log(d.version, served, none, engine.complete(d, Outcome.Success), new ConfigError([]).code, typeof gateway.begin, scenario.servers,
  [gearshift, fastifyGearshift, withGearshift, fromExpress, fromFastify].map((f) => typeof f).join());
engine.close();
`;
const expected = 'v v null true GEARSHIFT_CONFIG_INVALID function 8 function,function,function,function,function';

const tsconfig = (file: string, module: string, moduleResolution = module) =>
  JSON.stringify({
    compilerOptions: { module, moduleResolution, esModuleInterop: true, target: 'ES2022', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
    files: [file],
  });

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'gearshift-packed-'));
  // The build ran before the tests (npm test); packing again must not rebuild under the running suite.
  const [{ filename }] = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', app], { encoding: 'utf8' }),
  );
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  execFileSync('tar', ['xzf', join(app, filename), '-C', app]);
  execFileSync('mv', [join(app, 'package'), join(modules, 'gearshift')]);
  shipped = walk(join(modules, 'gearshift')).map((f) => f.slice(join(modules, 'gearshift').length + 1));
  // What the package needs at run time and what the consumer compiles against, from this repository's install.
  const needed = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies), 'typescript', '@types'];
  for (const name of needed) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  }
  writeFileSync(join(app, 'esm.mts'), consumer);
  writeFileSync(join(app, 'cjs.cts'), consumer);
  writeFileSync(join(app, 'node10.ts'), consumer);
  for (const kind of ['esm', 'cjs', 'node10']) mkdirSync(join(app, kind));
  writeFileSync(join(app, 'esm', 'tsconfig.json'), tsconfig('../esm.mts', 'Node16'));
  writeFileSync(join(app, 'cjs', 'tsconfig.json'), tsconfig('../cjs.cts', 'Node16'));
  // `module: CommonJS` alone means Node10 resolution, which knows no `exports`: subpaths resolve via `typesVersions`.
  writeFileSync(join(app, 'node10', 'tsconfig.json'), tsconfig('../node10.ts', 'CommonJS', 'Node10'));
}, 60_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the builds, the sources the maps point at, and the README; no tests, benches or config', () => {
    expect(shipped).toContain('README.md');
    expect(shipped).toContain('src/engine.ts');
    expect(shipped).toContain('dist/cjs/package.json');
    expect(shipped.filter((f) => /^(test|bench|examples|scripts|node_modules)\/|tsconfig|vitest/.test(f))).toEqual([]);
  });

  it('has every file its exports map, typesVersions, main and types name', () => {
    const leaves = (v: unknown): string[] => (typeof v === 'string' ? [v] : v == null ? [] : Object.values(v).flatMap(leaves));
    const targets = leaves([pkg.exports, pkg.typesVersions, pkg.main, pkg.types, pkg.bin]).map((t) => t.slice(2));
    expect(targets.length).toBeGreaterThan(20);
    expect(targets.filter((t) => !shipped.includes(t))).toEqual([]);
  });

  it('has source and declaration maps whose sources are shipped', () => {
    const maps = shipped.filter((f) => f.endsWith('.map'));
    expect(maps.some((f) => f.endsWith('.d.ts.map'))).toBe(true);
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFileSync(join(app, 'node_modules/gearshift', map), 'utf8')) as { sources: string[] };
      return sources.map((s) => resolve('/', dirname(map), s).slice(1)).filter((s) => !shipped.includes(s));
    });
    expect(missing).toEqual([]);
  });

  it('type-checks and runs as ESM and as CommonJS (Node16 resolution), and as CommonJS with Node10 resolution, library checking on', async () => {
    const tsc = join(app, 'node_modules/typescript/bin/tsc');
    const compile = (kind: string) =>
      run(process.execPath, [tsc, '-p', join(app, kind)]).catch((e: { stdout: string; message: string }) => {
        throw new Error(`${kind} consumer does not type-check:\n${e.stdout || e.message}`);
      });
    await Promise.all([compile('esm'), compile('cjs'), compile('node10')]);
    const outputs = ['esm/out/esm.mjs', 'cjs/out/cjs.cjs', 'node10/out/node10.js'].map((f) => join(app, f));
    expect(outputs.filter((f) => !existsSync(f))).toEqual([]);
    const runs = await Promise.all(outputs.map((f) => run(process.execPath, [f], { cwd: app })));
    expect(runs.map((r) => r.stdout.trim())).toEqual([expected, expected, expected]);
  }, 60_000);

  it('has a gearshift command that runs from the package (as npm links it: the file itself, by its #! line)', async () => {
    const bin = join(app, 'node_modules/gearshift', pkg.bin.gearshift);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    writeFileSync(join(app, 'config.json'), JSON.stringify({ version: 'packed', scenes: { feed: { versions: { main: { stage: 'base' } } } } }));
    const { stdout } = await run(process.execPath, [bin, 'check', 'config.json'], { cwd: app });
    expect(stdout).toBe('config.json: valid, config packed, 1 scene, 1 deployed here\n');
  });
});
