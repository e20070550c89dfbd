/**
 * Newcomer review (the seat of a developer meeting gearshift from its README alone: the Quick start, then each
 * section's snippets, as ESM, CommonJS and strict TypeScript, against the packed tarball in a scratch app). Every test
 * here FAILS on the reviewed build (4c3ec8c), one per fault, written as the behaviour that should hold. They reach the
 * BUILT package (`npm run build` first) by its own name through `exports`, as package-review.test.ts does; the
 * TypeScript checks compile in-process against the shipped declarations (library checking off: the faults are in how
 * user code meets them). The full list, with what was checked and worked, is in REPORT.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsOf } from '../src/simulate/metrics.js';
import { runScenario } from '../src/simulate/run.js';
import { scenarios } from '../src/simulate/scenarios.js';

const root = process.cwd();
const README = readFileSync(join(root, 'README.md'), 'utf8');

/** Runs an ES module script from the repository root, where `gearshift` resolves to the built package (self-reference). */
const esm = (code: string): string =>
  execFileSync(process.execPath, ['--input-type', 'module', '-e', code], { encoding: 'utf8', cwd: root, timeout: 20_000 }).trim();

describe('requestStart.stampOf, as the README writes it (README:1416)', () => {
  // Fault: `headers['x-request-start'] = mw.requestStart.stampOf(engine, req.gearshift)` throws a bare TypeError
  // ("Cannot read properties of null (reading 'ok')", src/adapters/request-start.ts:172) for a request without a scene,
  // which the default `missingScene: 'skip'` lets through with `req.gearshift === null`: the README's own line crashes
  // the handler of every scene-less request (health checks call downstreams too). A refused decision already gives
  // undefined ("no stamp"); no decision should give the same.
  it('gives undefined, not a TypeError, for a request without a decision (null / undefined)', () => {
    const out = esm(`
      import { createGearshift } from 'gearshift';
      import { gearshift } from 'gearshift/express';
      const engine = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
      const mw = gearshift(engine, { trust: { proxies: ['127.0.0.1'] }, requestStart: true });
      const r = (d) => { try { return String(mw.requestStart.stampOf(engine, d)); } catch (e) { return e.constructor.name + ': ' + e.message; } };
      console.log(JSON.stringify([r(null), r(undefined), r(engine.route('nope', 'u'))]));
      engine.close();`);
    expect(JSON.parse(out)).toEqual(['undefined', 'undefined', 'undefined']);
  });
});

describe('strict TypeScript: documented calls with an adapter’s decision', () => {
  let dir = '';
  let program: ts.Program;
  let file = '';
  const errorsAt = (marker: string): string[] => {
    const src = program.getSourceFile(file)!;
    const line = src.text.split('\n').findIndex((l) => l.includes(marker)) + 1;
    return ts
      .getPreEmitDiagnostics(program, src)
      .filter((d) => d.start !== undefined && src.getLineAndCharacterOfPosition(d.start).line + 1 === line)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 200));
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gearshift-newcomer-'));
    const modules = join(dir, 'node_modules');
    mkdirSync(modules);
    for (const name of ['express', 'fastify', '@types']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
    symlinkSync(root, join(modules, 'gearshift'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    file = join(dir, 'app.ts');
    writeFileSync(
      file,
      `import express from 'express';
import { createGearshift } from 'gearshift';
import { gearshift } from 'gearshift/express';
const engine = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
const mw = gearshift(engine, { scene: { header: 'x-scene' }, trust: { proxies: ['127.0.0.1'] }, requestStart: true });
const app = express();
app.use(mw);
app.get('/events', (req, res) => {
  const headers: Record<string, string | undefined> = {};
  if (mw.requestStart) headers['x-request-start'] = mw.requestStart.stampOf(engine, req.gearshift); // STAMP
  res.write('data: first\\n\\n');
  engine.complete(req.gearshift, 'success'); // COMPLETE
});
`,
    );
    program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
  }, 30_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Fault: `stampOf(engine: Gearshift, decision: Decision)` (dist/*/adapters/request-start.d.ts:94) rejects
  // `req.gearshift` (`RoutedDecision | null | undefined` on Express), so README:1416's line does not compile under
  // `strict`; the newcomer adds `!`, which turns the scene-less request into the run-time TypeError above.
  it('README:1416 `stampOf(engine, req.gearshift)` compiles', () => {
    expect(errorsAt('// STAMP')).toEqual([]);
  });

  // Fault: README:1174-1175 (long-lived responses) says to settle a stream with `engine.complete(req.gearshift,
  // 'success')`, and README:337 that `complete` takes anything (a non-decision returns false, never throws), but
  // `complete(decision: Decision, …)` (dist/*/engine.d.ts:47) rejects the adapter's `RoutedDecision | null | undefined`.
  it('README:1175 `engine.complete(req.gearshift, \'success\')` compiles', () => {
    expect(errorsAt('// COMPLETE')).toEqual([]);
  });
});

describe('errors for likely first mistakes', () => {
  // Fault: the README calls the engine `gs` in Config/Routing/Regulation (`const gs = createGearshift(...)`) and the
  // Express middleware `gs` in Express/Metrics (README:461), so `prometheusText(gs)` with the middleware is an easy
  // slip. It throws a bare TypeError ("Cannot read properties of undefined (reading 'replace')", src/metrics.ts),
  // and `prometheusText()` another, though README "Errors" says every error gearshift throws is a GearshiftError
  // with a stable code, and every other entry point checks its engine argument (UsageError "the first argument must
  // be an engine from createGearshift()").
  it('prometheusText refuses a first argument that is not an engine with a UsageError naming it', () => {
    const out = esm(`
      import { createGearshift, prometheusText } from 'gearshift';
      import { gearshift } from 'gearshift/express';
      const engine = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
      const mw = gearshift(engine, {});
      const r = (f) => { try { f(); return 'no throw'; } catch (e) { return [e.constructor.name, e.code, /engine/.test(e.message)].join(); } };
      console.log(JSON.stringify([r(() => prometheusText(mw)), r(() => prometheusText()), r(() => prometheusText({ config: {} }))]));
      engine.close();`);
    expect(JSON.parse(out)).toEqual(['UsageError,GEARSHIFT_USAGE,true', 'UsageError,GEARSHIFT_USAGE,true', 'UsageError,GEARSHIFT_USAGE,true']);
  });

  // Fault: `createGearshift({})`, or `{ config }` with `config` undefined (a missed import, a `.default` that is not
  // there), throws "invalid gearshift config (1 issue): (root): expected an object, got undefined": "(root)" of what?
  // The message never says the `config` option is missing. The option checker already names options
  // ("createGearshift(options).scenes: unknown option (expected one of: config, clock)", src/engine.ts:39-42).
  it('createGearshift without a config names the missing `config` option', () => {
    const out = esm(`
      import { createGearshift } from 'gearshift';
      const r = (f) => { try { f(); return 'no throw'; } catch (e) { return e.message; } };
      console.log(JSON.stringify([r(() => createGearshift({})), r(() => createGearshift({ config: undefined }))]));`);
    for (const message of JSON.parse(out) as string[]) expect(message).toMatch(/options\)?\.config\b|`?config`? (option )?is (required|missing)/);
  });
});

describe('README against the code', () => {
  // Fault: README:1321-1322 (gateway hints) says `version`, `loadTest`, `signed` and `requestStart` handed over as a
  // repeated header each give the FIRST value; the code reads `requestStart` by its LAST entry
  // (src/adapters/gateway.ts:120 `lastListed`), as README:1403-1404 and the requestStart section say (a client's own
  // stamp comes first behind an appending proxy). A gateway author reading the hints list is told the opposite.
  it('the gateway hints paragraph does not say a repeated requestStart gives its first value', () => {
    const para = README.split('\n\n').find((p) => p.includes('- Hints: `{ version, loadTest, trusted, signed, peer, baggage, requestStart }`'))!;
    expect(para).toBeDefined();
    expect(para).not.toMatch(/`signed` and `requestStart` may be handed over as the\s+request's header values: a repeated header gives its first value/);
    // what the code does (passes): a list gives its last entry
    const out = esm(`
      import { createGearshift } from 'gearshift';
      import { createGateway } from 'gearshift/gateway';
      const engine = createGearshift({ config: { scenes: { feed: { rtBudgetMs: 200, versions: { main: { stage: 'base' } } } } } });
      const gw = createGateway(engine, { requestStart: true });
      const now = Date.now();
      const { decision } = gw.begin('feed', 'u', { requestStart: ['t=' + (now - 5000), 't=' + (now - 20)], trusted: true });
      console.log(gw.remainingMs(decision) > 100);
      engine.close();`);
    expect(out).toBe('true');
  });

  // Fault: README:639-640 (why a process ELU goal by default) gives the ELU-goal column as "sawtooth: converged 8 s,
  // 96.0% goodput" and "failover: converged 9 s, 0 changes/min"; the simulator is deterministic and, like the
  // scenario tables further down (README:1012-1054, which agree with it), now gives 97.6% goodput on the sawtooth and
  // converged 0 s with 3.0 changes/min on failover. The comparison a newcomer uses to choose goals is stale.
  it('the ELU-goal column of the comparison table matches `npm run simulate`', () => {
    const run = (name: string) => {
      const sc = scenarios().find((s) => s.name === name)!;
      return metricsOf(runScenario(sc, 'gearshift'), sc.disturbAt, sc.dropAt, sc.phases);
    };
    const saw = run('sawtooth');
    const fail = run('failover');
    const row = (scenario: string) => README.split('\n').find((l) => l.trim().startsWith(`| ${scenario} | converged`))!;
    expect({ sawtooth: row('sawtooth'), failover: row('failover') }).toEqual({
      sawtooth: expect.stringContaining(`converged ${saw.convergedS} s, ${(saw.goodput * 100).toFixed(1)}% goodput`),
      failover: expect.stringContaining(`converged ${fail.convergedS} s, ${fail.changesPerMin.toFixed(0)} changes/min`),
    });
  }, 30_000);
});
