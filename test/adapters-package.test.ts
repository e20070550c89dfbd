import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** The adapters as a user loads them: by the package's own name, through `exports`, from the built dist, both ways. */
describe('adapters in the published package', () => {
  const run = (type: 'module' | 'commonjs', code: string) =>
    execFileSync(process.execPath, ['--input-type', type, '-e', code], { encoding: 'utf8', cwd: process.cwd() }).trim();
  const check = `
    const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } });
    const out = [typeof express(engine), typeof fastify, typeof withGearshift(engine, () => {}), createGateway(engine).begin('s', 'u').decision.version];
    console.log(out.join(' '));`;
  const want = 'function function function v';

  it('imports as ESM', () => {
    expect(
      run('module', `import { createGearshift } from 'gearshift'; import { gearshift as express } from 'gearshift/express'; import fastify from 'gearshift/fastify';
        import { withGearshift } from 'gearshift/http'; import { createGateway } from 'gearshift/gateway'; ${check}`),
    ).toBe(want);
  });

  it('requires as CJS', () => {
    expect(
      run('commonjs', `const { createGearshift } = require('gearshift'); const { gearshift: express } = require('gearshift/express'); const { gearshiftPlugin: fastify } = require('gearshift/fastify');
        const { withGearshift } = require('gearshift/http'); const { createGateway } = require('gearshift/gateway'); ${check}`),
    ).toBe(want);
  });

  it('mixes the two builds: an ESM engine and Trust with the CJS gateway (decisions and trust are recognised across them)', () => {
    const out = run(
      'module',
      `import { createRequire } from 'node:module'; import { createGearshift } from 'gearshift'; import { createTrust } from 'gearshift/gateway';
       const { createGateway } = createRequire(process.cwd() + '/')('gearshift/gateway');
       const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' }, d: { stage: 'dev' } } } } } });
       const trust = createTrust({ keys: ['${'k'.repeat(32)}'] });
       const gw = createGateway(engine, { trust });
       const { decision, done } = gw.begin('nope', 'u');
       const signed = gw.begin('s', 'u', { signed: trust.sign({ scene: 's', version: 'd' }) }).decision;
       console.log([gw.rejection(decision).status, Object.keys(gw.propagationHeaders(gw.begin('s', 'u').decision)).join(), done(200), gw.trust === trust, signed.version].join(' '));
       engine.close();`,
    );
    expect(out).toBe('404 x-gearshift-hint false true d');
  });

  it('registers the CJS Fastify plugin in a real Fastify app', () => {
    const out = run(
      'commonjs',
      `const Fastify = require('fastify'); const { createGearshift } = require('gearshift'); const { gearshiftPlugin } = require('gearshift/fastify');
       const engine = createGearshift({ config: { scenes: { s: { versions: { v: { stage: 'base' } } } } } });
       const app = Fastify(); app.register(gearshiftPlugin, { engine }); app.get('/', async (r) => r.gearshift.version);
       app.inject({ url: '/', headers: { 'x-gearshift-scene': 's' } }).then((r) => { console.log(r.body); engine.close(); return app.close(); });`,
    );
    expect(out).toBe('v');
  });
});
