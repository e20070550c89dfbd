import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** Every example runs with one command against the built package, on loopback, and stops by itself. */
const run = async (file: string) => (await promisify(execFile)(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 })).stdout;

describe('examples', () => {
  it('express service', async () => {
    const out = await run('examples/express-service.mjs');
    expect(out).toMatch(/uid=alice → 200 .*"version":"wip","reason":"whitelist"/);
    expect(out).toMatch(/\/nope\/items .* → 404 .*unknown_scene/);
  });

  it('fastify service', async () => {
    const out = await run('examples/fastify-service.mjs');
    expect(out).toMatch(/"x-scene":"ads".* → 421 .*not_deployed/);
    expect(out).toMatch(/"x-gearshift-version":"canary"} → 200 .*"reason":"split"/); // the untrusted hint was ignored
    expect(out).toMatch(/GET \/health \{\} → 200 ok/);
    expect(out).toMatch(/feed: 3 requests recorded/);
    expect(out).toMatch(/GET \/gearshift → 200 text\/html; charset=utf-8, \d+ bytes: the status page/);
  });

  it('gateway with versioned upstreams', async () => {
    const out = await run('examples/gateway.mjs');
    expect(out).toMatch(/every upstream served the gateway's decision/);
    expect(out).toMatch(/"x-user":"tester"} → .*"servedBy":"next".*"consistent":true/);
    expect(out).toMatch(/"x-gearshift-version":"next"} → .*"servedBy":"v1"/);
    expect(out).toMatch(/unknown scene → 404/);
  });
});
