// The demo's load generator (a worker thread of examples/demo.mjs; not meant to run alone). Open loop: each scene's
// requests are scheduled at its rate × the phase's load factor whatever the answers do, over pre-opened keep-alive
// connections, and RT is measured from the scheduled time (the front end's view). Every 0.5 s it reports what was
// sent in that half-second: counts, timeouts (slower than the scene's budget, or unanswered 2 s later), RTs, versions.
// Bounded: it stops after the last phase and a 2 s drain.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, rates, budgets, phases } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: 96 });
const scenes = Object.keys(rates);
const SLOT_MS = 500;

const get = (scene, user, onDone) => {
  const req = request({ host: '127.0.0.1', port, path: `/${scene}`, agent, headers: { 'x-user': user } }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => onDone(res.statusCode, body));
  });
  req.on('error', () => onDone(0, ''));
  req.end();
};

// open the pool before the clock starts, on the service's cheap route: a burst of real requests at full gear would
// keep its event loop busy for a quarter of a second, which the regulator would rightly read as load
await Promise.all(Array.from({ length: 48 }, (_, i) => new Promise((r) => get('health', `warm-${i}`, r))));
// then wait for the service to say go: it lets its start-up settle first
await new Promise((resolve) => parentPort.once('message', resolve));

const slots = []; // slot index → { [scene]: { sent, timeouts, rts, versions } }
const slotOf = (i) => (slots[i] ??= Object.fromEntries(scenes.map((s) => [s, { sent: 0, timeouts: 0, rts: [], versions: {}, pending: 0 }])));
const t0 = performance.now();
const totalMs = phases.reduce((a, p) => a + p.seconds * 1000, 0);
const phaseAt = (ms) => {
  let acc = 0;
  for (const p of phases) {
    acc += p.seconds * 1000;
    if (ms < acc) return p;
  }
  return phases[phases.length - 1];
};
const owed = Object.fromEntries(scenes.map((s) => [s, 0]));
const sent = Object.fromEntries(scenes.map((s) => [s, 0]));
let last = 0;
let user = 0;

function fire(scene, atMs) {
  const slot = slotOf(Math.floor(atMs / SLOT_MS));
  const s = slot[scene];
  s.sent++;
  s.pending++;
  get(scene, `user-${user++ % 5000}`, (status, body) => {
    const rt = performance.now() - t0 - atMs;
    s.pending--;
    if (status !== 200 || rt > budgets[scene]) s.timeouts++;
    if (status === 200) {
      s.rts.push(rt);
      const v = body.slice(6, -2); // {"v":"main"}
      s.versions[v] = (s.versions[v] ?? 0) + 1;
    }
  });
}

let reported = 0;
function report(upTo) {
  // a slot is reported once its requests are answered or 2 s old (then the unanswered count as timeouts)
  const now = performance.now() - t0;
  while (reported < upTo) {
    const slot = slotOf(reported);
    const age = now - (reported + 1) * SLOT_MS;
    const waiting = scenes.some((s) => slot[s].pending > 0);
    if (waiting && age < 2000) break;
    const p = phaseAt(reported * SLOT_MS);
    const out = {};
    for (const s of scenes) out[s] = { sent: slot[s].sent, timeouts: slot[s].timeouts + slot[s].pending, rts: slot[s].rts, versions: slot[s].versions };
    parentPort.postMessage({ type: 'report', t: ((reported + 1) * SLOT_MS) / 1000, phase: p.name, load: p.load, phaseStart: phaseAt((reported - 1) * SLOT_MS) !== p, scenes: out });
    slots[reported] = undefined;
    reported++;
  }
}

const tick = setInterval(() => {
  const now = Math.min(performance.now() - t0, totalMs);
  const load = phaseAt(last).load;
  for (const s of scenes) {
    owed[s] += ((now - last) * rates[s] * load) / 1000;
    while (owed[s] >= 1) {
      owed[s]--;
      // spread the sends over the interval they were owed for, so RT counts from the right moment
      fire(s, last + ((now - last) * (sent[s]++ % 4)) / 4);
    }
  }
  last = now;
  report(Math.floor(now / SLOT_MS));
  if (now >= totalMs) {
    clearInterval(tick);
    const drain = setInterval(() => {
      report(Math.ceil(totalMs / SLOT_MS));
      if (reported >= Math.ceil(totalMs / SLOT_MS) || performance.now() - t0 > totalMs + 2500) {
        clearInterval(drain);
        agent.destroy();
        parentPort.postMessage({ type: 'done' });
      }
    }, 100);
  }
}, 5);
