// Instructions per request by JavaScript function, against the bare host (run: npm run bench:http-jit-icount).
//
//   node bench/http-jit-icount.mjs [--pair fastify,fastify-gearshift] [--warmup N] [--requests N] [--top N]
//
// Why: bench/http-icount.mjs counts instructions per request exactly, but cachegrind sees V8's generated code as one
// nameless `???`, and that is where most of gearshift's cost is. Here each server of bench/http-server.mjs runs under
// `valgrind --tool=callgrind --dump-instr=yes`, which keeps a count per instruction address, and node writes its perf
// map (`--perf-basic-prof`: the address range and name of every piece of code V8 generates, never moved because code
// compaction is off). Each address is then named by the code object it falls in, e.g. `JS:*decide …/core.js:124`.
// A code object is a function as TurboFan compiled it, with whatever it inlined: costs move between names when
// inlining decisions differ, so the bare host's own functions can read a little higher or lower beside gearshift.
//
// Counting: instrumentation is off during the warm-up (served over four connections in turn, so that opening and
// closing a connection is warm too: with one, the first close in the counted window deoptimised Node's stream code
// and its recompilation filled the window), then on for N requests on a fresh connection, one at a time, with
// time-driven work off (GEARSHIFT_TIMERS=off), as in bench/http-icount.mjs. A request takes ~50× its native time
// under callgrind, so per-request work that depends on elapsed time (a window slot rolling over) weighs ~50× too much
// here: such functions are marked.
//
// Needs valgrind (Debian: apt-get install valgrind). About 3 minutes; the two servers run at once.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option } from './cli.mjs';
import { sendOneByOne } from './one-by-one.mjs';

const [HOST, WITH] = option('pair', 'fastify,fastify-gearshift').split(',');
const WARMUP = Number(option('warmup', 12000));
const N = Number(option('requests', 2000));
const TOP = Number(option('top', 25));
const GAP_MS = 4;
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
/** Functions whose per-request count scales with elapsed time (see above). */
const TIME_DRIVEN = /\b(clearSlot|rollCounts|rollRt)\b/;

if (spawnSync('valgrind', ['--version']).status !== 0 || spawnSync('callgrind_control', ['--version']).error) {
  console.error('valgrind (with callgrind_control) is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

/** One server under callgrind; resolves to instructions per request by function name. */
async function countWindow(kind, dir) {
  const out = join(dir, `${kind}.callgrind`);
  const args = [
    '--tool=callgrind', '--dump-instr=yes', '--instr-atstart=no', `--callgrind-out-file=${out}`,
    process.execPath, '--perf-basic-prof', '--no-compact-code-space',
    '--predictable', '--predictable-gc-schedule', '--no-memory-reducer', '--hash-seed=42', '--random-seed=42', here('./http-server.mjs'), kind,
  ];
  const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, GEARSHIFT_TIMERS: 'off' } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const started = await Promise.race([new Promise((resolve) => child.once('message', resolve)), exited.then(() => null)]);
  if (started === null) throw new Error(`${kind} server exited early:\n${stderr.slice(-2000)}`);
  for (let i = 0; i < 4; i++) await sendOneByOne(started.port, Math.ceil(WARMUP / 4), GAP_MS);
  execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
  await sendOneByOne(started.port, N, GAP_MS);
  execFileSync('callgrind_control', ['--instr=off', String(child.pid)], { stdio: 'ignore' });
  child.send({ cmd: 'exit' });
  await exited;
  const map = `/tmp/perf-${child.pid}.map`; // valgrind runs node in its own process: the pid is node's
  if (!existsSync(map)) throw new Error(`no perf map ${map} from ${kind}`);
  try {
    return perFunction(readFileSync(out, 'utf8'), codeRanges(readFileSync(map, 'utf8')));
  } finally {
    rmSync(map, { force: true });
  }
}

/** V8's perf map (`start size name` per line, hex) as sorted ranges. */
function codeRanges(text) {
  const ranges = text.trim().split('\n').map((line) => {
    const [start, size, ...name] = line.split(' ');
    return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
  });
  return ranges.sort((a, b) => a.start - b.start);
}

/** The name of the code object holding `addr` (binary search on starts, then the nearest range that covers it). */
function nameAt(ranges, addr) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].start <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  for (let i = hi; i >= 0 && i > hi - 64; i--) if (addr < ranges[i].end) return ranges[i].name;
  return null;
}

/**
 * Self instructions per function in a callgrind file written with --dump-instr=yes: cost lines are `address line Ir`,
 * with addresses absolute (`0x…`) or relative to the previous one (`+n`, `-n`, `*`); names are compressed to `(id)`
 * after their first use; the line after `calls=` is the inclusive cost of a call, not the caller's own.
 * Code without a symbol (fn=0x…) is V8's and is named from the perf map.
 */
function perFunction(text, ranges) {
  const names = new Map();
  const counts = new Map();
  const named = (s) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(s);
    if (!m) return s;
    if (m[2] !== undefined) names.set(m[1], m[2]);
    return names.get(m[1]);
  };
  let fn = '';
  let addr = 0;
  let callCost = false;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[a-z]+$/.test(line.slice(0, eq))) {
      const key = line.slice(0, eq);
      if (key === 'fn') fn = named(line.slice(3));
      else if (key === 'calls') callCost = true;
      else if (key !== 'positions' && key !== 'events' && key !== 'totals' && key !== 'summary') named(line.slice(eq + 1));
      continue;
    }
    const first = line[0];
    if (first !== '+' && first !== '-' && first !== '*' && !line.startsWith('0x')) continue;
    const [a, , ir] = line.split(' ');
    if (first === '+') addr += parseInt(a.slice(1), 16);
    else if (first === '-') addr -= parseInt(a.slice(1), 16);
    else if (first === '0') addr = parseInt(a, 16);
    if (callCost) {
      callCost = false;
      continue;
    }
    const n = Number(ir ?? 0);
    if (n === 0) continue;
    const name = fn.startsWith('0x') ? (nameAt(ranges, addr) ?? '(generated code without a name)') : fn;
    counts.set(name, (counts.get(name) ?? 0) + n);
  }
  const perRequest = new Map();
  for (const [name, n] of counts) perRequest.set(name, n / N);
  return perRequest;
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
