// A Fastify service behind gearshift: the plugin decorates `request.gearshift`, gives each request a deadline
// (`request.gearshiftSignal`, from the scene's RT budget) and records every outcome for the regulator.
//
//   npm run build && node examples/fastify-service.mjs            # starts, answers a few sample requests, exits
//   npm run build && node examples/fastify-service.mjs --serve    # keeps serving on 127.0.0.1:$PORT (default 3000)
//
// Loopback only.
import Fastify from 'fastify';
import { createGearshift, statusPage } from 'gearshift';
import { gearshiftPlugin } from 'gearshift/fastify';

const engine = createGearshift({
  config: {
    version: 'example-1',
    deployedHere: ['feed', 'search'], // 'ads' is declared but served by another fleet: refused with 421
    scenes: {
      feed: { rtBudgetMs: 200, versions: { main: { stage: 'base' }, canary: { stage: 'up' } }, split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }] },
      search: { rtBudgetMs: 100, versions: { v7: { stage: 'base' } }, params: { topK: 50 } },
      ads: { versions: { v1: { stage: 'base' } } },
    },
  },
});

const app = Fastify();
await app.register(gearshiftPlugin, {
  engine,
  scene: { header: 'x-scene' },
  unit: { header: 'x-user' },
});

app.get('/health', { config: { gearshift: false } }, async () => 'ok'); // gearshift leaves this route alone
// The operator's page: gears over time, goals, each version's traffic. Keep it internal, as you would /metrics.
app.get('/gearshift', { config: { gearshift: false } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(statusPage(engine)));
app.get('/search', { config: { gearshift: { scene: 'search' } } }, async (request) => ({ version: request.gearshift.version, topK: request.gearshift.param('topK') }));
app.get('/items', async (request) => {
  const d = request.gearshift;
  // Pass the signal to anything slow (fetch, a DB driver): it aborts when the scene's RT budget is used up.
  await new Promise((resolve, reject) => {
    const t = setTimeout(resolve, 5);
    request.gearshiftSignal.addEventListener('abort', () => (clearTimeout(t), reject(request.gearshiftSignal.reason)), { once: true });
  });
  return { scene: d.scene, version: d.version, reason: d.reason, budgetLeftMs: Math.round(request.gearshiftRemainingMs) };
});

const serve = process.argv.includes('--serve');
await app.listen({ port: serve ? Number(process.env.PORT ?? 3000) : 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${app.server.address().port}`;
console.log(`fastify service on ${base}`);
for (const [path, headers] of [
  ['/items', { 'x-scene': 'feed', 'x-user': 'user-1' }],
  ['/items', { 'x-scene': 'feed', 'x-user': 'user-9' }],
  ['/search', { 'x-user': 'user-1' }],
  ['/items', { 'x-scene': 'ads', 'x-user': 'user-1' }],
  ['/items', { 'x-scene': 'feed', 'x-user': 'user-1', 'x-gearshift-version': 'canary' }], // untrusted hint: ignored
  ['/health', {}],
]) {
  const r = await fetch(base + path, { headers });
  console.log(`GET ${path} ${JSON.stringify(headers)} → ${r.status} ${await r.text()}`);
}
const status = await fetch(`${base}/gearshift`);
console.log(`GET /gearshift → ${status.status} ${status.headers.get('content-type')}, ${(await status.text()).length} bytes: the status page`);
const s = engine.stats('feed');
console.log(`feed: ${s.count} requests recorded, timeouts ${s.timeout}, p99 ${s.p99.toFixed(1)} ms`);
if (serve) console.log(`try: curl -i -H 'x-scene: feed' -H 'x-user: alice' ${base}/items, and open ${base}/gearshift`);
else {
  await app.close();
  engine.close();
}
