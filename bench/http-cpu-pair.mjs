// Server CPU time per request, a host against host + gearshift, both running at once (run: npm run bench:http-cpu-pair).
//
//   node bench/http-cpu-pair.mjs [--pair fastify,fastify-gearshift] [--dists dirA,dirB] [--rate 2000] [--windows 8]
//                                [--seconds 5] [--warmup 8] [--connections 4]
//   GEARSHIFT_TIMERS=off: no time-driven work in the servers (process-load sampling, regulator ticks)
//   --dists: each server's gearshift build (an ESM output directory, as GEARSHIFT_DIST), to compare two builds:
//            --pair fastify-gearshift,fastify-gearshift --dists /tmp/before,/tmp/after
//
// The issue's own measure is the server's CPU time (utime + stime) per request. bench/http.bench.mjs measures it one
// configuration after another, and on this shared VM the machine changes between them by more than the 3% to be
// judged. Here the two servers run at the same time, pinned to the same core, and this process (on the other core)
// sends both the same requests at the same fixed rate: whatever the machine does to one, it does to the other in the
// same second. CPU time is each server's on-CPU time from the scheduler (`/proc/<pid>/task/*/schedstat`, nanoseconds,
// user and kernel, every thread: V8's GC and compiler threads too), not `getrusage`, whose utime and stime are sampled
// at the scheduler's tick and too coarse for a few seconds of a server at 10% of a core. Linux only.
//
// Two servers sharing a core are not symmetric: the one that runs second finds its requests already waiting and
// batches them, which costs less per request. Three guards: each tick sends each server its due requests as one
// batch, the order of the batches alternating from tick to tick; the pair runs twice with fresh processes, the second
// time started in the other order; the figure is the mean of the two sessions' medians, so a bias toward one position
// cancels. (Measured: `--pair fastify,fastify` read −1.7% in one session, i.e. the position alone is worth that much.)
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { numberOption, option } from './cli.mjs';
import { ask, median, startServer, taskset } from './servers.mjs';

const [kindA, kindB] = option('pair', 'fastify,fastify-gearshift').split(',');
const dists = option('dists', '').split(',');
const nameA = dists[0] ? `${kindA} (${dists[0]})` : kindA;
const nameB = dists[1] ? `${kindB} (${dists[1]})` : kindB;
/** How to start server A or B: its kind, and its build when --dists names one. */
const specs = [kindA, kindB].map((kind, i) => ({ kind, env: dists[i] ? { ...process.env, GEARSHIFT_DIST: dists[i] } : process.env }));
const RATE = numberOption('rate', 2000);
const WINDOWS = numberOption('windows', 8);
const SECONDS = numberOption('seconds', 5);
const WARMUP = numberOption('warmup', 8);
const CONNECTIONS = numberOption('connections', 4);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;

/** On-CPU nanoseconds of every thread of a process so far (the first field of each thread's schedstat). */
function cpuNs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns;
}

/** One request, with the scene and a unit id that is new per tick and request (the same ids reach both servers). */
function send(s, unit) {
  s.inFlight++;
  const headers = { 'x-gearshift-scene': 'hello', 'x-gearshift-unit': `user-${unit}` };
  http
    .get({ host: '127.0.0.1', port: s.port, path: '/', agent: s.agent, headers }, (res) => {
      res.resume();
      res.once('end', () => s.inFlight--);
    })
    .once('error', () => {
      s.inFlight--;
      s.failed++;
    });
}

/**
 * Starts server A then B (or B then A when `bFirst`), drives both, and returns per window the CPU per request of B
 * over that of A, minus one. Every millisecond each server gets what the rate says is due; a server with more than 64
 * requests in flight is sent nothing until it catches up, so a stall cannot pile up a burst.
 */
async function session(bFirst) {
  const order = bFirst ? [specs[1], specs[0]] : specs;
  const started = [];
  for (const spec of order) started.push(await startServer(spec.kind, 0, spec.env));
  for (const s of started) Object.assign(s, { agent: new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS }), inFlight: 0, failed: 0 });
  const [a, b] = bFirst ? [started[1], started[0]] : started;
  let unit = 100_000;
  let due = 0;
  let tick = 0;
  const start = performance.now();
  const pacer = setInterval(() => {
    const target = Math.floor(((performance.now() - start) * RATE) / 1000);
    const n = target - due;
    due = target;
    for (const s of tick++ % 2 === 0 ? started : [started[1], started[0]]) for (let i = 0; i < n; i++) if (s.inFlight < 64) send(s, unit + i);
    unit += n;
  }, 1);
  const reading = () => Promise.all([a, b].map(async (s) => ({ ns: cpuNs(s.child.pid), requests: (await ask(s)).requests })));

  console.log(`session: ${bFirst ? nameB : nameA} started first; warm-up ${WARMUP} s, ${WINDOWS} windows of ${SECONDS} s`);
  await sleep(WARMUP * 1000);
  const overheads = [];
  let last = await reading();
  for (let w = 0; w < WINDOWS; w++) {
    await sleep(SECONDS * 1000);
    const now = await reading();
    const [ca, cb] = [0, 1].map((i) => (now[i].ns - last[i].ns) / 1000 / (now[i].requests - last[i].requests));
    overheads.push(cb / ca - 1);
    console.log(`  window ${String(w + 1).padStart(2)}: A ${ca.toFixed(2)} µs/req, B ${cb.toFixed(2)} µs/req: ${pct(cb / ca - 1)} (${now[0].requests - last[0].requests} requests each)`);
    last = now;
  }
  clearInterval(pacer);
  for (const s of started) {
    s.agent.destroy();
    s.child.send({ cmd: 'exit' });
    if (s.failed > 0) console.log(`  failed requests to ${s.kind}: ${s.failed}`);
    await new Promise((r) => s.child.once('exit', r));
  }
  const m = median(overheads);
  console.log(`  median ${pct(m)} (windows ${pct(Math.min(...overheads))} to ${pct(Math.max(...overheads))})`);
  return m;
}

if (taskset) spawnSync('taskset', ['-acp', '1', String(process.pid)]); // this process (the client) on core 1
console.log(`node ${process.version}: A = ${nameA} and B = ${nameB} at once on core 0, ${RATE} req/s each from core 1${taskset ? '' : ' (taskset not available: unpinned)'}, time-driven work ${process.env.GEARSHIFT_TIMERS === 'off' ? 'off' : 'on'}`);
const m1 = await session(false);
const m2 = await session(true);
console.log(`\n${nameB} over ${nameA}, server CPU per request: ${pct((m1 + m2) / 2)} (the two sessions' medians ${pct(m1)} and ${pct(m2)}; half their difference, ${((Math.abs(m1 - m2) / 2) * 100).toFixed(2)} points, is the position's bias)`);
