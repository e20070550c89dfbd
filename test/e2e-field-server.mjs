// Field-test service: a real server on 127.0.0.1 (Fastify, Express or node:http) with gearshift and CPU-bound,
// gear-dependent handlers. Run as a child process with an IPC channel; it sends `{ port }` once listening.
// Environment:
//   ADAPTER   fastify | express | http                       (default fastify)
//   SCENES    JSON { id: { kind, unitMs, gears, budgetMs, priority, goals, value } }
//             kind: gear (cost = (gear+1) × unitMs), flat (always gears × unitMs), block (blocks BLOCK_MS every
//             BLOCK_EVERY-th request, else like gear), async (awaits a 5 ms timer, then works like gear)
//   REGULATOR JSON of the config's `regulator` section (default: none, the library's defaults)
//   SENSE     JSON of the config's `sense` section (default: none)
//   BARE      1: no gearshift at all, handlers at full gear
// Messages in: { cmd: 'stats' } → { stats, gears, changes, ticks, load }; { cmd: 'mark' } → resets the tick log;
// { cmd: 'stall', ms } → blocks the event loop for `ms` (after answering { ok: true, t }).
import { createServer } from 'node:http';
import { createGearshift } from 'gearshift';
import { work } from './burn-cpu.mjs';

const ADAPTER = process.env.ADAPTER ?? 'fastify';
const SCENES = JSON.parse(process.env.SCENES ?? '{"rank":{"kind":"gear","unitMs":1,"gears":8,"budgetMs":200}}');
const REGULATOR = process.env.REGULATOR ? JSON.parse(process.env.REGULATOR) : undefined;
const SENSE = process.env.SENSE ? JSON.parse(process.env.SENSE) : undefined;
const BARE = process.env.BARE === '1';
const BLOCK_MS = Number(process.env.BLOCK_MS ?? 300);
const BLOCK_EVERY = Number(process.env.BLOCK_EVERY ?? 200);


const config = { scenes: {} };
if (SENSE) config.sense = SENSE;
if (REGULATOR) config.regulator = REGULATOR;
for (const [id, s] of Object.entries(SCENES)) {
  const n = s.gears ?? 8;
  config.scenes[id] = {
    rtBudgetMs: s.budgetMs ?? 200,
    versions: { main: { stage: 'base' } },
    points: { depth: { gears: Array.from({ length: n }, (_, i) => i + 1), ...(s.value ? { value: s.value } : {}), ...(s.cost ? { cost: s.cost } : {}) } },
    ...(s.priority ? { priority: s.priority } : {}),
    ...(s.goals ? { goals: s.goals } : {}),
  };
}
const engine = BARE ? null : createGearshift({ config });
const t0 = Date.now();
const changes = [];
let ticks = [];
if (engine) {
  engine.regulator.on('change', (c) => changes.push({ t: (c.at - t0) / 1000, scene: c.scene, from: c.from, to: c.to, reason: c.reason, goal: c.goal, measured: c.measured }));
  engine.regulator.on('tick', (r) => {
    ticks.push({
      t: (r.at - t0) / 1000,
      proc: r.process.map((g) => `${g.goal}=${g.measured?.toFixed?.(2)}/${g.status}`).join(' '),
      scenes: Object.fromEntries(r.scenes.map((s) => [s.scene, { w: (({ count, success, degraded, timeout, clientAbort, error, shed }) => ({ count, ok: success + degraded, timeout, clientAbort, error, shed }))(engine.stats(s.scene)), g: s.gears.depth, u: +s.allowance.toFixed(3), shed: s.shedShare, st: s.goals.map((g) => `${g.goal}=${Number.isFinite(g.measured) ? +g.measured.toFixed(3) : '-'}/${g.status}`).join(' ') }])),
    });
    if (ticks.length > 2000) ticks.shift();
  });
}
let served = 0;
const perScene = Object.fromEntries(Object.keys(SCENES).map((k) => [k, 0]));

function handle(scene, d) {
  const s = SCENES[scene];
  const n = s.gears ?? 8;
  const unit = s.unitMs ?? 1;
  served++;
  perScene[scene]++;
  const g = d ? d.gearIndex('depth') : n - 1;
  if (s.kind === 'flat') work(n * unit);
  else if (s.kind === 'block' && served % BLOCK_EVERY === 0) work(BLOCK_MS);
  else work((g + 1) * unit);
  return g;
}
const sceneOf = (url) => {
  const m = /^\/([A-Za-z0-9_-]+)/.exec(url ?? '');
  return m && SCENES[m[1]] ? m[1] : Object.keys(SCENES)[0];
};

let port;
if (ADAPTER === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { gearshiftPlugin } = await import('gearshift/fastify');
  const app = Fastify();
  if (engine) await app.register(gearshiftPlugin, { engine, scene: { param: 'scene' } });
  app.get('/:scene', async (request, reply) => {
    const scene = request.params.scene;
    if (SCENES[scene]?.kind === 'async') await new Promise((r) => setTimeout(r, 5));
    const g = handle(scene, request.gearshift);
    return { g };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = app.server.address().port;
} else if (ADAPTER === 'express') {
  const { default: express } = await import('express');
  const { gearshift } = await import('gearshift/express');
  const app = express();
  app.get('/:scene', ...(engine ? [gearshift(engine, { scene: { param: 'scene' } })] : []), async (req, res) => {
    const scene = req.params.scene;
    if (SCENES[scene]?.kind === 'async') await new Promise((r) => setTimeout(r, 5));
    const g = handle(scene, req.gearshift);
    res.json({ g });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = server.address().port;
} else {
  const { withGearshift } = await import('gearshift/http');
  const inner = async (req, res) => {
    const scene = sceneOf(req.url);
    if (SCENES[scene]?.kind === 'async') await new Promise((r) => setTimeout(r, 5));
    const g = handle(scene, req.gearshift);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ g }));
  };
  const listener = engine ? withGearshift(engine, inner, { scene: (req) => sceneOf(req.url) }) : inner;
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = server.address().port;
}

process.on('message', (m) => {
  if (m?.cmd === 'stats') {
    const stats = engine ? Object.fromEntries(Object.keys(SCENES).map((k) => [k, engine.stats(k)])) : null;
    const gears = engine ? engine.regulator.gears() : null;
    process.send({ stats, gears, changes, ticks, served, perScene, load: engine?.sensing.load(), status: engine?.regulator.status() });
  } else if (m?.cmd === 'stall') {
    // A stall of the whole process (a GC pause, a synchronous call): the event loop blocked for `ms`.
    process.send({ ok: true, t: (Date.now() - t0) / 1000 }); // when it starts, on the clock of `changes`
    setImmediate(() => work(m.ms));
  } else if (m?.cmd === 'mark') {
    ticks = [];
    changes.length = 0;
    process.send({ ok: true });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ port, t0 });
