/**
 * Package review (the seat of a developer adding gearshift to an existing project through npm). Every test here failed
 * on the reviewed build (14fc0e9, nineteenth session), one per fault found, and passes since its fix. (A sixth
 * fault, no `repository` in package.json, waits for the project's public address.) They reach the BUILT package
 * (`npm run build` first), as package.test.ts does: by its own name through `exports`, both ways, or by reading
 * `dist/` and `package.json`. No network; the one TypeScript program is checked in-process, with library checking off
 * (the faults are in how user code meets the declarations, not inside them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
const README = readFileSync(join(root, 'README.md'), 'utf8');

/** Runs an ES module script from the repository root, where `gearshift` resolves to the built package (self-reference). */
const esm = (code: string): string =>
  execFileSync(process.execPath, ['--input-type', 'module', '-e', code], { encoding: 'utf8', cwd: root }).trim();
/** The script's prelude: both builds loaded in one process, as an ESM app with a CommonJS dependency has them. */
const both = `import { createRequire } from 'node:module'; import * as E from 'gearshift'; const C = createRequire(process.cwd() + '/')('gearshift');`;

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

describe('package metadata', () => {
  // Fault: package.json says "license": "MIT" but no licence file exists, so the tarball carries no licence text or copyright notice.
  it('ships a licence file with the MIT text', () => {
    const file = readdirSync(root).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    expect(file, 'no LICENSE file at the package root (npm ships one whatever `files` says)').toBeDefined();
    expect(readFileSync(join(root, file!), 'utf8')).toMatch(/Permission is hereby granted, free of charge/);
  });

  // Fault: the declarations use TypeScript 5.0 syntax (a `const` type parameter in config/shape.d.ts, an internal helper that every entry's types load), which TypeScript 4.x cannot parse even with skipLibCheck; neither the README nor typesVersions says 5.0 is needed.
  it('declarations parse on the TypeScript versions it admits (or the minimum is stated)', () => {
    const newSyntax = walk(join(root, 'dist')).filter((f) => f.endsWith('.d.ts') && /<const\s+[A-Za-z_$]/.test(readFileSync(f, 'utf8')));
    const gated = Object.keys((pkg.typesVersions as Record<string, unknown> | undefined) ?? {}).some((range) => range !== '*');
    const stated = /TypeScript\s*(?:≥|>=|5\.0\+|5\.\d+ or (?:later|newer))\s*5?/i.test(README);
    expect(newSyntax.length === 0 || gated || stated, `TS 5.0-only syntax in ${newSyntax.map((f) => f.slice(root.length + 1)).join(', ')} with no stated minimum`).toBe(true);
  });
});

describe('both builds in one process (an ESM app with a CommonJS dependency)', () => {
  // Fault: the error classes are told apart by `instanceof` only; an error thrown by the other build (a CommonJS dependency's adapter or engine) is not an `instanceof` the app's GearshiftError / UsageError / ConfigError, though the README says the builds mix and every error is a GearshiftError.
  it('errors from either build are instances of the other build’s error classes', () => {
    const out = esm(`${both}
      const thrown = (f) => { try { f(); } catch (e) { return e; } };
      const usage = thrown(() => C.createGearshift());                                       // CJS UsageError
      const config = thrown(() => C.validateConfig({ scenes: 5 }));                          // CJS ConfigError
      const adapter = thrown(() => createRequire(process.cwd() + '/')('gearshift/express').gearshift({ route() {} }, { scene: 'x-scene' }));
      const esmUsage = thrown(() => E.createGearshift());                                    // ESM UsageError
      console.log(JSON.stringify({
        cjsUsageIsEsmUsage: usage instanceof E.UsageError, cjsUsageIsEsmBase: usage instanceof E.GearshiftError,
        cjsConfigIsEsmConfig: config instanceof E.ConfigError, cjsAdapterIsEsmUsage: adapter instanceof E.UsageError,
        esmUsageIsCjsUsage: esmUsage instanceof C.UsageError,
        cjsUsageIsEsmConfig: usage instanceof E.ConfigError, codes: [usage.code, config.code, adapter.code].join(),
      }));`);
    expect(JSON.parse(out)).toEqual({
      cjsUsageIsEsmUsage: true,
      cjsUsageIsEsmBase: true,
      cjsConfigIsEsmConfig: true,
      cjsAdapterIsEsmUsage: true,
      esmUsageIsCjsUsage: true,
      cjsUsageIsEsmConfig: false, // a fix must keep the classes apart
      codes: 'GEARSHIFT_USAGE,GEARSHIFT_CONFIG_INVALID,GEARSHIFT_USAGE',
    });
  });

  // Fault: `Sensing` accepts only settings that its own build's `resolveSense` put in a module-private WeakSet, so settings resolved by the other build (or its SENSE_DEFAULTS) are refused with "options must come from resolveSense(sense)".
  it('a Sensing of one build takes settings resolved by the other', () => {
    const out = esm(`${both}
      const made = (S, o) => { try { new S(o).close(); return 'ok'; } catch (e) { return e.code; } };
      console.log([made(C.Sensing, E.resolveSense(undefined)), made(C.Sensing, E.SENSE_DEFAULTS), made(E.Sensing, C.resolveSense(undefined))].join());`);
    expect(out).toBe('ok,ok,ok');
  });
});

describe('TypeScript: the declarations under exactOptionalPropertyTypes (@tsconfig/strictest and many strict services)', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Fault: `ExpressLikeRequest.res?: ServerResponse` (and GatewayHints' `signed?` / `peer?`) leave out `| undefined`, so under exactOptionalPropertyTypes an Express `Request` (whose `res?` is `Response | undefined`) is not an ExpressLikeRequest: `app.use(gs)`, `gs.signal(req)` and `app.use(gs.errors)` do not compile, nor does the README's gateway snippet passing `req.headers[…]` and `req.socket.remoteAddress`.
  it('the README’s Express middleware and gateway hints type-check', () => {
    dir = mkdtempSync(join(tmpdir(), 'gearshift-eopt-'));
    const modules = join(dir, 'node_modules');
    mkdirSync(modules);
    for (const name of ['express', '@types']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
    symlinkSync(root, join(modules, 'gearshift'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const express = join(dir, 'express.ts');
    const gateway = join(dir, 'gateway.ts');
    writeFileSync(
      express,
      `import express from 'express';
import { createGearshift } from 'gearshift';
import { gearshift } from 'gearshift/express';
const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } });
const gs = gearshift(engine, { scene: { header: 'x-scene' }, unit: { cookie: 'uid' } });
const app = express();
app.use(gs);
app.get('/items', (req, res) => { res.json({ version: req.gearshift?.version, left: gs.remainingMs(req), aborted: gs.signal(req).aborted }); });
app.use(gs.errors);
`,
    );
    writeFileSync(
      gateway,
      `import type { IncomingMessage } from 'node:http';
import { createGearshift } from 'gearshift';
import { createGateway } from 'gearshift/gateway';
declare const req: IncomingMessage;
const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } });
const gw = createGateway(engine);
const { decision } = gw.begin('s', 'u', { signed: req.headers['x-gearshift-hint'], peer: req.socket.remoteAddress });
export const v: string | null = decision.version;
`,
    );
    const program = ts.createProgram([express, gateway], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      exactOptionalPropertyTypes: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
    const errors = (file: string) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
        return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 160)}`;
      });
    expect(existsSync(join(root, 'dist/esm/adapters/express.d.ts'))).toBe(true);
    expect({ express: errors(express), gateway: errors(gateway) }).toEqual({ express: [], gateway: [] });
  }, 30_000);
});
