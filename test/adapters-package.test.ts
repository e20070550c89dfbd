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
