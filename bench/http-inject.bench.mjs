// In-process complement to bench/http.bench.mjs: the CPU a request costs through Fastify's full pipeline (via
// `inject`, no sockets), bare vs with gearshift vs with empty hooks, alternated in small blocks (A B C, C A B, …) so
// that drift on a shared machine hits every configuration alike; reports the median of per-block paired differences.
//   node bench/http-inject.bench.mjs [--blocks N] [--per-block N] [--kinds bare,gearshift,empty-hooks,onRequest-only,onRequest+close]
import Fastify from 'fastify';
import { createGearshift } from '../dist/esm/index.js';
import { gearshiftPlugin } from '../dist/esm/adapters/fastify.js';
import { numberOption as arg } from './cli.mjs';

const BLOCKS = arg('blocks', 40);
const PER = arg('per-block', 2000);
const config = { scenes: { hello: { rtBudgetMs: 200, versions: { main: { stage: 'base' }, canary: { stage: 'up' } }, split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }] } } };

async function make(kind) {
  const app = Fastify({ logger: false });
  if (kind === 'gearshift') await app.register(gearshiftPlugin, { engine: createGearshift({ config }) });
  if (kind === 'empty-hooks') {
    app.addHook('onRequest', (_q, _r, done) => done());
    app.addHook('onResponse', (_q, _r, done) => done());
    app.addHook('onRequestAbort', (_q, done) => done());
  }
  if (kind === 'onRequest-only') app.addHook('onRequest', (_q, _r, done) => done());
  if (kind === 'onRequest+close') {
    const onClose = function () {};
    app.addHook('onRequest', (_q, reply, done) => {
      reply.raw.on('close', onClose);
      done();
    });
  }
  app.get('/', (_req, reply) => {
    reply.send({ hello: 'world' });
  });
  await app.ready();
  return app;
}
const kinds = (process.argv.includes('--kinds') ? process.argv[process.argv.indexOf('--kinds') + 1] : 'bare,gearshift,empty-hooks').split(',');
const apps = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await make(k)])));
let serial = 0;
async function block(app, n) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    // fresh header strings each request, as a parser makes them
    await app.inject({ method: 'GET', url: '/', headers: { 'x-gearshift-scene': 'hello', 'x-gearshift-unit': `user-${serial++ % 100000}` } });
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
for (const k of kinds) await block(apps[k], PER * 2); // warm-up
const res = Object.fromEntries(kinds.map((k) => [k, []]));
for (let b = 0; b < BLOCKS; b++) for (let j = 0; j < kinds.length; j++) {
  const k = kinds[(j + b) % kinds.length];
  res[k].push(await block(apps[k], PER));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`node ${process.version}; ${BLOCKS} blocks × ${PER} requests per configuration, rotated`);
for (const k of kinds) console.log(`${k.padEnd(12)} median ${median(res[k]).toFixed(2)} µs CPU/request`);
for (const k of kinds.filter((k) => k !== 'bare')) {
  const d = res[k].map((v, i) => v - res.bare[i]);
  console.log(`${k} − bare: median of paired differences ${median(d).toFixed(2)} µs (${((100 * median(d)) / median(res.bare)).toFixed(1)}% of bare)`);
}
process.exit(0);
