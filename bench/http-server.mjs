// One hello-world server for bench/http.bench.mjs: `node bench/http-server.mjs <kind>`, started with an IPC channel.
// It reports its port, then answers `{ cmd: 'cpu' }` with process.cpuUsage() and its request count, so the
// orchestrator can compute the server's own CPU time per request over a measured window.
// GEARSHIFT_DIST: another build's ESM directory, to A/B a change against the built package.
const dist = process.env.GEARSHIFT_DIST ?? new URL('../dist/esm', import.meta.url).pathname;
const { createGearshift } = await import(`${dist}/index.js`);

// A `-async` suffix: the handler is an async function, so the response ends after the hook chain (Express: the
// middleware's `next()`) has returned, and gearshift records it when the handler's `end()` runs (Express: when Node
// reports it finished; response-watch.ts) instead of at once.
const asyncHandler = process.argv[2].endsWith('-async');
const kind = asyncHandler ? process.argv[2].slice(0, -'-async'.length) : process.argv[2];
const config = { scenes: { hello: { rtBudgetMs: 200, versions: { main: { stage: 'base' }, canary: { stage: 'up' } }, split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }] } } };
// GEARSHIFT_TIMERS=off: no time-driven work (process-load sampling, regulator ticks), for bench/http-icount.mjs,
// which counts per-request instructions under valgrind and measures the time-driven work separately.
if (process.env.GEARSHIFT_TIMERS === 'off') Object.assign(config, { sense: { process: { enabled: false } }, regulator: { periodMs: 600_000 } });
let requests = 0;
let port;
// GEARSHIFT_ALLOC=1 (bench/http-alloc.mjs): young-generation bytes between one request's arrival and the next's,
// read once per request in the request-counting hook. The read allocates the same in every configuration, so it
// cancels in a difference; a drop between two reads is a scavenge, and that interval is skipped.
const allocDeltas = [];
let lastYoung = -1;
const youngBytes = process.env.GEARSHIFT_ALLOC === '1' ? (await import('./alloc.mjs')).youngBytes : null;
const sampleAlloc = () => {
  const young = youngBytes();
  if (lastYoung >= 0 && young >= lastYoung && allocDeltas.length < 100_000) allocDeltas.push(young - lastYoung);
  lastYoung = young;
};

if (kind.startsWith('fastify')) {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  if (kind === 'fastify-gearshift') {
    const { gearshiftPlugin } = await import(`${dist}/adapters/fastify.js`);
    await app.register(gearshiftPlugin, { engine: createGearshift({ config }) });
  } else if (kind === 'fastify-under-pressure') {
    const { default: underPressure } = await import('@fastify/under-pressure');
    await app.register(underPressure, { maxEventLoopDelay: 1000, maxHeapUsedBytes: 1e10, maxRssBytes: 1e10, maxEventLoopUtilization: 0.98 });
  } else if (kind === 'fastify-empty-hooks') {
    // the cost of the hooks alone (Fastify's own per-request work for onRequest/onResponse/onRequestAbort), no gearshift
    app.addHook('onRequest', (_req, _reply, done) => done());
    app.addHook('onResponse', (_req, _reply, done) => done());
    app.addHook('onRequestAbort', (_req, done) => done());
  } else if (kind !== 'fastify') throw new Error(`unknown kind ${kind}`);
  app.addHook('onRequest', (_req, _reply, done) => {
    requests++;
    if (youngBytes) sampleAlloc();
    done();
  });
  if (asyncHandler) app.get('/', async () => ({ hello: 'world' }));
  else {
    app.get('/', (_req, reply) => {
      reply.send({ hello: 'world' });
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = app.server.address().port;
} else if (kind.startsWith('express')) {
  const { default: express } = await import(kind.includes('4') ? 'express4' : 'express');
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  app.use((req, _res, next) => {
    requests++;
    if (youngBytes) sampleAlloc();
    // Node builds `req.headers` on first read. Express reads it in every `res.send` (`req.fresh`), so a bare Express
    // server builds it anyway; gearshift reads it first and would be charged for building it (bench:http-perf-share
    // attributes by call stack). Built here, before either, it is the host's in every configuration.
    void req.headers;
    next();
  });
  if (kind.endsWith('-gearshift')) {
    const { gearshift } = await import(`${dist}/adapters/express.js`);
    app.use(gearshift(createGearshift({ config })));
  } else if (kind.endsWith('-empty-mw')) {
    // the cost of one more middleware alone (Express's own per-layer work), no gearshift
    app.use((_req, _res, next) => next());
  }
  if (asyncHandler) {
    app.get('/', async (_req, res) => {
      await undefined; // the response ends in a later microtask, after the middleware's next() has returned
      res.json({ hello: 'world' });
    });
  } else {
    app.get('/', (_req, res) => {
      res.json({ hello: 'world' });
    });
  }
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  port = server.address().port;
} else throw new Error(`unknown kind ${kind}`);

process.on('message', (m) => {
  if (m?.cmd === 'cpu') process.send({ cpu: process.cpuUsage(), requests });
  if (m?.cmd === 'alloc') process.send({ deltas: allocDeltas.splice(0) });
  if (m?.cmd === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send({ port });
