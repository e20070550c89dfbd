// Instructions per request by JavaScript function, against the bare host (run: npm run bench:http-jit-icount).
//
//   node bench/http-jit-icount.mjs [--pair fastify,fastify-gearshift] [--warmup N] [--requests N] [--top N]
//
// Why: bench/http-icount.mjs counts instructions per request exactly, but cachegrind sees V8's generated code as one
// nameless `???`, and that is where most of gearshift's cost is. Each server of bench/http-server.mjs runs under
// callgrind with V8's perf map, and every instruction is named by the compiled function it belongs to
// (bench/jit-profile.mjs). Costs move between names when inlining differs: the bare host's own functions can read a
// little higher or lower beside gearshift.
//
// Counting: instrumentation is off during the warm-up (served over four connections in turn, so that opening and
// closing a connection is warm too: with one, the first close in the counted window deoptimised Node's stream code
// and its recompilation filled the window), then on for N requests on a fresh connection, one at a time, with
// time-driven work off (GEARSHIFT_TIMERS=off), as in bench/http-icount.mjs. A request takes ~50× its native time
// under callgrind, so per-request work that depends on elapsed time (a window slot rolling over) weighs ~50× too much
// here: such functions are marked.
//
// Needs valgrind (Debian: apt-get install valgrind). About 2 minutes; the two servers run at once.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './cli.mjs';
import { CALLGRIND_ARGS, counting, haveCallgrind, NODE_ARGS, perfMapOf, perFunction } from './jit-profile.mjs';
import { sendOneByOne } from './one-by-one.mjs';

const [HOST, WITH] = option('pair', 'fastify,fastify-gearshift').split(',');
const WARMUP = Number(option('warmup', 12000));
const N = Number(option('requests', 2000));
const TOP = Number(option('top', 25));
const GAP_MS = 4;
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
/** Functions whose per-request count scales with elapsed time (see above). */
const TIME_DRIVEN = /\b(clearSlot|rollCounts|rollRt)\b/;

if (!haveCallgrind()) {
  console.error('valgrind (with callgrind_control) is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

/** One server under callgrind; resolves to instructions per request by function name. */
async function countWindow(kind, dir) {
  const out = join(dir, `${kind}.callgrind`);
  const args = [...CALLGRIND_ARGS(out), process.execPath, ...NODE_ARGS, here('./http-server.mjs'), kind];
  const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, GEARSHIFT_TIMERS: 'off' }, cwd: dir });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const started = await Promise.race([new Promise((resolve) => child.once('message', resolve)), exited.then(() => null)]);
  if (started === null) throw new Error(`${kind} server exited early:\n${stderr.slice(-2000)}`);
  for (let i = 0; i < 4; i++) await sendOneByOne(started.port, Math.ceil(WARMUP / 4), GAP_MS);
  counting(child.pid, true);
  await sendOneByOne(started.port, N, GAP_MS);
  counting(child.pid, false);
  child.send({ cmd: 'exit' });
  await exited;
  const map = perfMapOf(child.pid);
  if (!existsSync(map)) throw new Error(`no perf map ${map} from ${kind}`);
  try {
    return perFunction(readFileSync(out, 'utf8'), readFileSync(map, 'utf8'), N);
  } finally {
    rmSync(map, { force: true });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gearshift-jit-icount-'));
let host;
let withGs;
try {
  [host, withGs] = await Promise.all([countWindow(HOST, dir), countWindow(WITH, dir)]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
const fmt = (x) => `${x >= 0 ? '+' : ''}${Math.round(x).toLocaleString('en')}`;
const [tHost, tWith] = [total(host), total(withGs)];
const ours = (name) => name.includes(`file://${here('../dist/esm/')}`);
const short = (name) => name.replace(/file:\/\/\S*\/(dist\/(esm|cjs)|node_modules)\//, '').replace(/^JS:/, '');
const diffs = [...new Set([...host.keys(), ...withGs.keys()])].map((name) => [name, (withGs.get(name) ?? 0) - (host.get(name) ?? 0)]);
diffs.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
const own = diffs.filter(([name]) => ours(name));
const ownSum = own.reduce((a, [, d]) => a + d, 0);

console.log(`node ${process.version}; ${WARMUP} warm-up requests, ${N} counted; time-driven work off`);
console.log(`${HOST}: ${Math.round(tHost).toLocaleString('en')} instructions/request; ${WITH}: ${Math.round(tWith).toLocaleString('en')} (${fmt(tWith - tHost)}, ${(((tWith - tHost) / tHost) * 100).toFixed(1)}%)`);
console.log(`\ngearshift's own compiled functions (with what V8 inlined into them), ${fmt(ownSum)} per request:\n`);
console.log('| function (as compiled) | instructions/request |');
console.log('|---|---:|');
for (const [name, d] of own.filter(([, d]) => Math.abs(d) >= 1)) console.log(`| ${short(name)}${TIME_DRIVEN.test(name) ? ' (time-driven: ~50× too heavy here)' : ''} | ${fmt(d)} |`);
console.log(`\nEverything else, the ${TOP} largest changes (builtins, Node's C++, the host's code as inlined differently):\n`);
console.log('| function | instructions/request |');
console.log('|---|---:|');
for (const [name, d] of diffs.filter(([name]) => !ours(name)).slice(0, TOP)) console.log(`| ${short(name).slice(0, 110)} | ${fmt(d)} |`);
