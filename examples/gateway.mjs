// A small gateway that routes each request to the upstream serving its code version, on loopback.
//
//   npm run build && node examples/gateway.mjs            # starts gateway + 3 upstreams, sends sample requests, exits
//   npm run build && node examples/gateway.mjs --serve    # keeps serving; gateway on 127.0.0.1:$PORT (default 3000)
//
// The gateway decides once (gearshift/gateway), forwards to the upstream of that version and passes the decision on
// in a signed header. Each upstream (gearshift/http) honours the signed decision instead of deciding again, so a
// user sees one consistent version across services. A version hint from outside without the key is ignored.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createGearshift } from 'gearshift';
import { createGateway } from 'gearshift/gateway';
import { withGearshift } from 'gearshift/http';
import { gatewayHandler } from './gateway-proxy.mjs';

// One shared HMAC key between gateway and upstreams (from a secret store in real life; derived here for the example).
const key = createHash('sha256').update('gearshift example key').digest();
const config = {
  version: 'gw-1',
  scenes: {
    feed: {
      rtBudgetMs: 300,
      versions: { v1: { stage: 'base' }, v2: { stage: 'up' }, next: { stage: 'dev' } },
      whitelist: { tester: 'next' },
      split: [{ version: 'v2', weight: 30 }, { version: 'v1', weight: 70 }],
    },
  },
};

const listen = (server, port = 0) => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server.address().port)));

// Upstreams: one process per version in real life; one server each here, all on loopback.
const upstreams = {};
const closers = [];
for (const version of Object.keys(config.scenes.feed.versions)) {
  const engine = createGearshift({ config });
  const handler = withGearshift(
    engine,
    (req, res) => {
      const d = req.gearshift;
      res.setHeader('content-type', 'application/json');
      // an upstream that somehow got another version's traffic says so instead of serving it with the wrong code
      res.end(JSON.stringify({ servedBy: version, decided: d?.version ?? null, reason: d?.reason ?? null, consistent: d?.version === version }));
    },
    { trust: { keys: [key] } }, // honours the gateway's signed decision (x-gearshift-hint)
  );
  const server = createServer(handler);
  upstreams[version] = await listen(server);
  closers.push(() => (server.close(), engine.close()));
}

// The gateway.
const engine = createGearshift({ config });
const gw = createGateway(engine, { trust: { keys: [key] } });
const gateway = createServer(gatewayHandler(gw, upstreams)); // examples/gateway-proxy.mjs
const serve = process.argv.includes('--serve');
const port = await listen(gateway, serve ? Number(process.env.PORT ?? 3000) : 0);
console.log(`gateway on http://127.0.0.1:${port}; upstreams ${JSON.stringify(upstreams)}`);

const seen = {};
for (let i = 0; i < 100; i++) {
  const r = await fetch(`http://127.0.0.1:${port}/items`, { headers: { 'x-scene': 'feed', 'x-user': `user-${i}` } });
  const body = await r.json();
  seen[body.servedBy] = (seen[body.servedBy] ?? 0) + 1;
  if (!body.consistent) throw new Error(`inconsistent: ${JSON.stringify(body)}`);
}
console.log(`100 users → ${JSON.stringify(seen)} (split 70/30 between v1 and v2), every upstream served the gateway's decision`);
for (const headers of [{ 'x-user': 'tester' }, { 'x-user': 'user-1', 'x-gearshift-version': 'next' }]) {
  const r = await fetch(`http://127.0.0.1:${port}/items`, { headers: { 'x-scene': 'feed', ...headers } });
  console.log(`${JSON.stringify(headers)} → ${await r.text()}`);
}
const nope = await fetch(`http://127.0.0.1:${port}/items`, { headers: { 'x-scene': 'nope' } });
console.log(`unknown scene → ${nope.status} ${await nope.text()}`);
console.log(`gateway trust: ${JSON.stringify(gw.trust.counts())}`);
if (!serve) {
  gateway.close();
  engine.close();
  for (const c of closers) c();
}
