// An Express service behind gearshift: one line of middleware, the decision on `req.gearshift`.
//
//   npm run build && node examples/express-service.mjs            # starts, answers a few sample requests, exits
//   npm run build && node examples/express-service.mjs --serve    # keeps serving on 127.0.0.1:$PORT (default 3000)
//
// Works with Express 4 and 5. Loopback only.
import express from 'express';
import { createGearshift } from 'gearshift';
import { gearshift } from 'gearshift/express';

const engine = createGearshift({
  config: {
    version: 'example-1',
    scenes: {
      feed: {
        rtBudgetMs: 200,
        versions: { main: { stage: 'base' }, refactor: { stage: 'up' }, wip: { stage: 'dev' } },
        whitelist: { alice: 'wip' }, // alice verifies the dev version
        split: [
          { version: 'refactor', weight: 20 }, // code experiment: 20% of users on the refactor
          { version: 'main', weight: 80 },
        ],
        params: { recallDepth: 400 },
        layers: [{ name: 'ranker', arms: [{ name: 'small', weight: 50, params: { model: 'small' } }, { name: 'large', weight: 50, params: { model: 'large' } }] }],
      },
    },
  },
});

const app = express();
const gs = gearshift(engine, {
  scene: { param: 'scene' }, // the scene is the first path segment (see the route below)
  unit: { cookie: 'uid' }, // the traffic unit is the user id cookie
  debugHeaders: true, // example only: show the decision in x-gearshift-* response headers
});

app.get('/health', (_req, res) => res.send('ok')); // not a gearshift route
app.get('/:scene/items', gs, (req, res) => {
  const d = req.gearshift; // the Decision: scene, version, params
  res.json({ scene: d.scene, version: d.version, reason: d.reason, model: d.param('model'), recallDepth: d.param('recallDepth'), budgetLeftMs: Math.round(gs.remainingMs(req)) });
});
app.use(gs.errors); // handler errors are recorded as errors even if a later handler answers 200

const serve = process.argv.includes('--serve');
const server = app.listen(serve ? Number(process.env.PORT ?? 3000) : 0, '127.0.0.1', async () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  console.log(`express service on ${base}`);
  for (const [path, cookie] of [
    ['/feed/items', 'uid=alice'],
    ['/feed/items', 'uid=user-1'],
    ['/feed/items', 'uid=user-2'],
    ['/feed/items', ''],
    ['/nope/items', 'uid=user-1'],
  ]) {
    const r = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    console.log(`GET ${path} ${cookie || '(no uid)'} → ${r.status} ${await r.text()}`);
  }
  if (serve) {
    console.log(`try: curl -i --cookie uid=alice ${base}/feed/items`);
    return;
  }
  server.close();
  engine.close();
});
