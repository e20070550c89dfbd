// HTTP overhead of the adapters, hello world, same run, same machine (run: npm run bench:http).
//
//   node bench/http.bench.mjs [--rounds N] [--seconds S] [--connections C] [--kinds a,b,…] [--quick]
//
// Configurations: bare Fastify, Fastify + gearshift, bare Express, Express + gearshift, and Fastify +
// @fastify/under-pressure for reference. Req/s on these 2-core machines swings 15–30% between runs, so:
// - every server runs in its own process pinned to core 0 (taskset, if present); autocannon runs in another process
//   pinned to core 1;
// - configurations are interleaved over rounds (A B C D E, then B C D E A, …) so drift hits all of them alike;
// - req/s comes from a saturating run (autocannon as fast as it goes); CPU per request from a second run at a fixed
//   rate below saturation (the same for a host and its gearshift variant: CPU per request depends on how much the
//   event loop batches, i.e. on the load level, so comparing it at equal load is what isolates the added cost). It is
//   the server's own CPU time (process.cpuUsage() utime + stime, delta over the window) / requests it served;
// - the table shows medians over rounds, and each gearshift row's ratio to its bare host.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { numberOption as arg } from './cli.mjs';
import { ask, median, pinned, startServer, taskset } from './servers.mjs';

const quick = process.argv.includes('--quick');
const ROUNDS = arg('rounds', quick ? 2 : 6);
const SECONDS = arg('seconds', quick ? 2 : 5);
const CONNECTIONS = arg('connections', 50);
/** Fixed rates of the CPU-per-request runs, per host family (below saturation on a loaded 2-core machine). */
const RATE = { fastify: arg('rate-fastify', 5000), express: arg('rate-express', 1500) };
const rateOf = (kind) => RATE[kind.startsWith('express') ? 'express' : 'fastify'];
const kindsArg = process.argv.indexOf('--kinds');
const KINDS = kindsArg > 0 ? process.argv[kindsArg + 1].split(',') : ['fastify', 'fastify-gearshift', 'express', 'express-gearshift', 'fastify-under-pressure'];
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
function load(port, seconds, rate = 0) {
  const [cmd, args] = pinned(1, [here('./http-client.mjs'), String(port), String(seconds), String(CONNECTIONS), String(rate)]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited with ${code}`))));
  });
}
async function measure(server, seconds) {
  const sat = await load(server.port, seconds); // req/s, saturating
  const before = await ask(server);
  const r = await load(server.port, seconds, rateOf(server.kind)); // CPU per request, fixed rate
  const after = await ask(server);
  const cpuUs = after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
  const served = after.requests - before.requests;
  return { rps: sat.rps, cpuPerReqUs: cpuUs / served, served, fixedRps: r.rps, errors: sat.errors + sat.non2xx + r.errors + r.non2xx, p99: sat.p99 };
}

console.log(`node ${process.version}, ${ROUNDS} rounds × (${SECONDS} s saturating + ${SECONDS} s at a fixed rate: Fastify ${RATE.fastify}/s, Express ${RATE.express}/s), ${CONNECTIONS} connections, taskset ${taskset ? 'server→core 0, client→core 1' : 'not available (unpinned)'}`);
const servers = [];
for (const kind of KINDS) servers.push(await startServer(kind));
for (const s of servers) await measure(s, quick ? 1 : 2); // warm-up (JIT), not counted
const results = Object.fromEntries(KINDS.map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = KINDS.map((_, i) => servers[(i + round) % servers.length]);
  for (const s of order) {
    const m = await measure(s, SECONDS);
    results[s.kind].push(m);
    console.log(`round ${round + 1} ${s.kind.padEnd(24)} ${m.rps.toFixed(0).padStart(7)} req/s (p99 ${m.p99} ms)  ${m.cpuPerReqUs.toFixed(2).padStart(6)} µs CPU/req at ${m.fixedRps.toFixed(0)}/s${m.errors ? `  errors ${m.errors}` : ''}`);
  }
}
for (const s of servers) s.child.send({ cmd: 'exit' });

const base = Object.fromEntries(Object.entries({ 'fastify-gearshift': 'fastify', 'express-gearshift': 'express', 'fastify-under-pressure': 'fastify', 'fastify-empty-hooks': 'fastify' }).filter(([k, b]) => KINDS.includes(k) && KINDS.includes(b)));
const med = Object.fromEntries(KINDS.map((k) => [k, { rps: median(results[k].map((m) => m.rps)), cpu: median(results[k].map((m) => m.cpuPerReqUs)) }]));
console.log('\n| configuration | req/s (median, saturating) | server CPU µs/req (median, fixed rate) | vs bare host (CPU/req) | vs bare host (req/s) |');
console.log('|---|---:|---:|---:|---:|');
for (const k of KINDS) {
  const b = base[k];
  const cpuRatio = b ? `${((med[k].cpu / med[b].cpu - 1) * 100).toFixed(1)}% (${(med[k].cpu - med[b].cpu).toFixed(2)} µs)` : '—';
  const rpsRatio = b ? `${((med[k].rps / med[b].rps - 1) * 100).toFixed(1)}%` : '—';
  console.log(`| ${k} | ${med[k].rps.toFixed(0)} | ${med[k].cpu.toFixed(2)} | ${cpuRatio} | ${rpsRatio} |`);
}
// Paired per-round ratios (each round measures a config and its bare host minutes apart at most): steadier than medians.
for (const [k, b] of Object.entries(base)) {
  const ratios = results[k].map((m, i) => m.cpuPerReqUs / results[b][i].cpuPerReqUs - 1);
  console.log(`${k}: per-round CPU/req overhead vs ${b}: ${ratios.map((r) => `${(r * 100).toFixed(1)}%`).join(' ')} (median ${(median(ratios) * 100).toFixed(1)}%)`);
}
