// HTTP overhead as CPU instructions per request, counted by valgrind (run: npm run bench:http-icount).
//
//   node bench/http-icount.mjs [--kinds a,b,…] [--warmup N] [--requests N] [--no-idle]
//   (by function, V8's generated code included: bench/http-jit-icount.mjs)
//
// Why: CPU time per request swings more on these shared 2-core machines than the budget it is judged against (3% of
// Fastify), even interleaved and pinned. Instructions executed are deterministic: each server from
// bench/http-server.mjs runs under `valgrind --tool=cachegrind` with V8's randomness fixed (hash and random seeds,
// single-threaded: no concurrent compiler or GC threads), and is sent requests one at a time over one keep-alive
// loopback connection, with the same headers for every configuration and a fresh unit id per request.
//
// Per request = (instructions of a run serving W + 2N requests − instructions of a run serving W + N) / N: start-up,
// warm-up and shutdown cancel out. The warm-up must reach V8's steady state, and that takes long here: with
// --predictable, code is optimised on the main thread, and a function that runs once per request is not optimised
// before thousands of requests (--trace-opt: Fastify's and gearshift's request functions were still being compiled
// between requests 2,000 and 8,000). A window that holds such compilations counts them, and the interpreted code
// before them, as per-request work: a warm-up of 1,500 measured bare Fastify at 132,798 instructions per request,
// twice its steady 65,866, and gearshift's share at four times its steady value. Hence W = 8,000 and N = 3,000. What stays in is everything the server process does per request: kernel entry
// and exit are not counted (user-space instructions only), libuv, the HTTP parser, the host framework, gearshift.
// Time-driven work (event-loop-delay sampling, the regulator's tick) runs per wall-clock second, and a request under
// valgrind takes ~50× its native time, so counted as is it would weigh ~50× too much per request, and vary with
// the machine's load. So the counted runs have it switched off (GEARSHIFT_TIMERS=off: no process-load sampling, no
// regulator tick), each configuration's instructions per idle second are measured on their own with the default
// config (W requests, then 20 s idle, against none), and the last column adds them back at the reference rate of
// bench/http.bench.mjs: what the time-driven work costs per request at that load.
//
// Needs valgrind (Debian: apt-get install valgrind). Takes ~7 minutes per configuration.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CACHEGRIND_ARGS, instructionsIn } from './cachegrind.mjs';
import { option as arg } from './cli.mjs';
import { sendOneByOne } from './one-by-one.mjs';

const KINDS = arg('kinds', 'fastify,fastify-gearshift,express,express-gearshift').split(',');
const WARMUP = Number(arg('warmup', 8000));
const N = Number(arg('requests', 3000));
const GAP_MS = Number(arg('gap-ms', 4));
const here = (f) => fileURLToPath(new URL(f, import.meta.url));

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

/** One server run under cachegrind serving `total` requests; resolves to its user-space instruction count. */
function countRun(kind, total, idleMs = 0, timers = true) {
  const args = [...CACHEGRIND_ARGS, here('./http-server.mjs'), kind];
  const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, GEARSHIFT_TIMERS: timers ? 'on' : 'off' } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let started = false;
    child.once('message', async (m) => {
      started = true;
      try {
        const t0 = performance.now();
        await sendOneByOne(m.port, total, GAP_MS);
        if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
        child.send({ cmd: 'exit' });
        await exited;
        const seconds = (performance.now() - t0) / 1000;
        const instructions = instructionsIn(stderr);
        if (instructions === undefined) throw new Error(`no instruction count from valgrind:\n${stderr.slice(-2000)}`);
        resolve({ instructions, seconds });
      } catch (err) {
        child.kill();
        reject(err);
      }
    });
    child.once('exit', (code) => started || reject(new Error(`${kind} server exited early (${code}):\n${stderr.slice(-2000)}`)));
  });
}

/**
 * Per kind: instructions per idle second (time-driven work: timers), then instructions per request with the
 * time-driven part of the extra run's wall time taken out. Runs of one kind go in parallel (one per core).
 */
const IDLE_MS = 20_000;
const results = {};
for (const kind of KINDS) {
  let perSecond = 0;
  if (!process.argv.includes('--no-idle')) {
    const [plain, idle] = await Promise.all([countRun(kind, WARMUP, 0), countRun(kind, WARMUP, IDLE_MS)]);
    perSecond = Math.max(0, (idle.instructions - plain.instructions) / (idle.seconds - plain.seconds));
  }
  const [short, long] = await Promise.all([countRun(kind, WARMUP + N, 0, false), countRun(kind, WARMUP + 2 * N, 0, false)]);
  const perRequest = (long.instructions - short.instructions) / N;
  results[kind] = { perRequest, perSecond };
  console.log(`${kind.padEnd(24)} ${Math.round(perRequest).toLocaleString('en').padStart(9)} instructions/request, ${Math.round(perSecond).toLocaleString('en').padStart(10)} instructions per idle second`);
}

/** Reference rates for the time-driven share per request (the fixed rates of bench/http.bench.mjs). */
const RATE = { fastify: 5000, express: 1500 };
const rateOf = (kind) => RATE[kind.startsWith('express') ? 'express' : 'fastify'];
const pairs = [['fastify-gearshift', 'fastify'], ['fastify-gearshift-async', 'fastify-async'], ['express-gearshift', 'express'], ['fastify-under-pressure', 'fastify'], ['fastify-empty-hooks', 'fastify'], ['express-empty-mw', 'express']].filter(([a, b]) => a in results && b in results);
console.log(`\nnode ${process.version}; ${WARMUP} warm-up requests, then ${N} counted (difference of two runs); time-driven work per request at ${RATE.fastify}/s (Fastify) and ${RATE.express}/s (Express)`);
console.log('\n| configuration | instructions/request | added per request | time-driven, per idle second | added per request incl. time-driven at the reference rate |');
console.log('|---|---:|---:|---:|---:|');
const pct = (x, of) => `${x >= 0 ? '+' : ''}${Math.round(x).toLocaleString('en')} (${((x / of) * 100).toFixed(1)}%)`;
for (const kind of KINDS) {
  const r = results[kind];
  const pair = pairs.find(([a]) => a === kind);
  const b = pair && results[pair[1]];
  const added = b ? pct(r.perRequest - b.perRequest, b.perRequest) : '—';
  const withTime = b ? pct(r.perRequest - b.perRequest + (r.perSecond - b.perSecond) / rateOf(kind), b.perRequest + b.perSecond / rateOf(kind)) : '—';
  console.log(`| ${kind} | ${Math.round(r.perRequest).toLocaleString('en')} | ${added} | ${Math.round(r.perSecond).toLocaleString('en')} | ${withTime} |`);
}
