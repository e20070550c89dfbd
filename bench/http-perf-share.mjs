// gearshift's share of a server's CPU, kernel time included, from one profiled run (no A/B between noisy runs):
//
//   node bench/http-perf-share.mjs [--kind fastify-gearshift] [--seconds 15] [--warmup 10] [--connections 8]
//
// Needs Linux `perf` (Debian: apt-get install linux-perf) and permission to profile your own processes
// (kernel.perf_event_paranoid <= 2). It runs one bench/http-server.mjs under `perf record -g` with V8's
// --perf-basic-prof (so JIT frames have names), drives it from this process over loopback keep-alive connections
// for a fixed time (after a warm-up that perf does not record, so that V8 has optimised the request path), then reads
// the call stacks. A sample counts as gearshift's when a frame of gearshift's built code is on its stack and no host
// code (node_modules, the bench server, Node's response writing) lies between that frame and the leaf: gearshift's
// own work and what it calls in Node (a clock read, `res.on`), but not the handler or Fastify's next hook, which run
// inside gearshift's `next()`. Samples are wall-clock driven (`cpu-clock`), so user and kernel time both count, which
// is what the budget (utime + stime per request) is about; this VM exposes no hardware counters.
//
// What it cannot see, so the share is a lower bound: the garbage collection of what gearshift allocates (one Decision
// per request) and the bit of Node's `emit('close')` that runs because a listener exists. What it may see wrongly: a
// JIT address reused after V8 moved code can carry a stale name; frames named after node_modules are excluded, so the
// error goes toward a lower share.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { option as arg } from './cli.mjs';

const kind = arg('kind', 'fastify-gearshift');
const seconds = Number(arg('seconds', '15'));
const warmup = Number(arg('warmup', '10'));
const connections = Number(arg('connections', '8'));
const here = (p) => new URL(p, import.meta.url).pathname;
const dist = process.env.GEARSHIFT_DIST ?? here('../dist/esm');

if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('perf is not installed (Debian: apt-get install linux-perf); nothing measured.');
  process.exit(2);
}
const data = join(tmpdir(), `gearshift-perf-${process.pid}.data`);
// -D: perf starts recording this long after the server starts (its start-up takes well under the extra second).
const child = spawn('perf', ['record', '-q', '-g', '-F', '4000', '-D', String((warmup + 1) * 1000), '-o', data, process.execPath, '--perf-basic-prof', here('./http-server.mjs'), kind], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  env: { ...process.env, GEARSHIFT_TIMERS: 'off' },
  cwd: tmpdir(), // --perf-basic-prof also writes a V8 log file (isolate-…-v8.log) into the working directory
});
const { port } = await new Promise((resolve, reject) => {
  child.once('message', resolve);
  child.once('exit', (code) => reject(new Error(`perf or the server exited early (${code})`)));
});

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const recordFrom = Date.now() + (warmup + 1) * 1000;
const end = recordFrom + seconds * 1000;
let sent = 0;
let unit = 0;
const worker = async () => {
  while (Date.now() < end) {
    await new Promise((resolve, reject) => {
      if (Date.now() >= recordFrom) sent++;
      const headers = { 'x-gearshift-scene': 'hello', 'x-gearshift-unit': `user-${100000 + unit++}` };
      http.get({ host: '127.0.0.1', port, path: '/', agent, headers }, (res) => {
        res.resume();
        res.once('end', resolve);
      }).once('error', reject);
    });
  }
};
await Promise.all(Array.from({ length: connections }, worker));
agent.destroy();
child.send({ cmd: 'exit' });
await new Promise((resolve) => child.once('exit', resolve));

const script = spawnSync('perf', ['script', '-i', data], { maxBuffer: 1 << 30, encoding: 'utf8' });
rmSync(data, { force: true });
if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`);

// perf names JIT frames from V8's /tmp/perf-<pid>.map, keeping the *first* entry at an address. V8 reuses the addresses
// of code it frees, so that can be a stale name, often another package's function: then a gearshift frame looks like
// host code (and the reverse). The samples here come after the warm-up, so the *latest* entry covering an address is
// the code that ran: frames are named again from the map that way.
const pid = /^\S+\s+(\d+)/.exec(script.stdout)?.[1];
const mapFile = `/tmp/perf-${pid}.map`;
const entries = readFileSync(mapFile, 'utf8').split('\n').filter(Boolean).map((line) => {
  const [start, size, ...name] = line.split(' ');
  return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
});
rmSync(mapFile, { force: true });
const renamed = new Map();
const latestName = (address) => {
  let name = renamed.get(address);
  if (name === undefined) {
    name = '';
    for (let i = entries.length - 1; i >= 0; i--) {
      if (address >= entries[i].start && address < entries[i].end) {
        name = entries[i].name;
        break;
      }
    }
    renamed.set(address, name);
  }
  return name;
};
const frameName = (line) => {
  const [address, rest] = line.split(/\s+(.*)/s);
  return rest !== undefined && rest.includes(`/tmp/perf-${pid}.map`) ? latestName(parseInt(address, 16)) || rest : (rest ?? '');
};

const ours = (frame) => frame.includes(dist);
// Node's response writing counts as the host's: gearshift calls it only to pass on a handler's `end()` that it watches
// (response-watch.ts shadows `res.end` on responses still open when the chain returns); that write is the handler's.
const host = (frame) => frame.includes('node_modules/') || frame.includes('/bench/') || frame.includes('node:_http_outgoing');
let total = 0;
let gearshift = 0;
const byFunction = new Map();
for (const sample of script.stdout.split('\n\n')) {
  const frames = sample.trim().split('\n').slice(1).map((l) => frameName(l.trim()));
  if (frames.length === 0) continue;
  total++;
  const at = frames.findIndex(ours);
  if (at < 0 || frames.slice(0, at).some(host)) continue;
  gearshift++;
  const name = frames[at].replace(/^JS:[*^~+]?/, '').replace(/\+0x[0-9a-f]+.*$/, '').replace(`file://${dist}/`, '');
  byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
}
const share = gearshift / total;
console.log(`${kind}: ${sent} requests recorded in ${seconds} s (after ${warmup} s of warm-up) over ${connections} connections; ${total} samples of the server's CPU (user + kernel)`);
console.log(`gearshift: ${gearshift} samples = ${(share * 100).toFixed(2)}% of the server's CPU, i.e. +${((share / (1 - share)) * 100).toFixed(2)}% over the rest`);
for (const [name, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${((n / gearshift) * 100).toFixed(1).padStart(5)}%  ${name}`);
