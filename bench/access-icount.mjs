// The per-operation instruction counts the README cites for the clock and for Express's requests (valgrind):
//
//   node bench/access-icount.mjs            (needs valgrind; ~8 minutes)
//
// Each operation runs in a loop of N and of 2N iterations under `valgrind --tool=cachegrind` with V8 made
// deterministic (--predictable: no concurrent compiler threads); per iteration = (count(2N) − count(N)) / N, so start-up
// and warm-up cancel out. Rows are read against the `none` row of their group, measured in the same run.
// - clock: `performance.now()` against the engine's clock (libuv's hrtime, src/clock.ts), in a plain loop.
// - express: operations on a request and response that went through Express's `setPrototypeOf`, as in a real app,
//   so each has a hidden class of its own (the loop also builds them, hence the large `none`). Noise: ±500.
import { spawnSync } from 'node:child_process';
import http from 'node:http';

const here = new URL(import.meta.url).pathname;
const [mode, count] = process.argv.slice(2);

if (mode === undefined) {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
    process.exit(2);
  }
  const counted = (m, n) => {
    const r = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', process.execPath, '--predictable', here, m, String(n)], { encoding: 'utf8' });
    const refs = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
    if (!refs) throw new Error(`valgrind failed for ${m}: ${r.stderr.slice(-500)}`);
    return Number(refs[1].replaceAll(',', ''));
  };
  const groups = { clock: [['none', 1e6], ['performance.now', 1e6], ['engine clock', 1e6]], express: [['none', 2e4], ['req.headers', 2e4], ['headers getter', 2e4], ['res.finished', 2e4], ['Reflect.get finished', 2e4], ['WeakMap.set', 2e4], ['res.locals[symbol] =', 2e4]] };
  for (const [group, rows] of Object.entries(groups)) {
    console.log(`\n| ${group}: operation | instructions per iteration | minus none |\n|---|---:|---:|`);
    let none = 0;
    for (const [m, n] of rows) {
      const per = (counted(`${group}:${m}`, 2 * n) - counted(`${group}:${m}`, n)) / n;
      if (m === 'none') none = per;
      console.log(`| ${m} | ${Math.round(per)} | ${m === 'none' ? '—' : Math.round(per - none)} |`);
    }
  }
  process.exit(0);
}

const n = Number(count);
let sink = 0;
const [group, op] = mode.split(':');
if (group === 'clock') {
  const { systemClock } = await import(new URL('../dist/esm/clock.js', import.meta.url).href);
  const f = { none: () => 0, 'performance.now': () => performance.now(), 'engine clock': () => systemClock.now() }[op];
  for (let i = 0; i < 200_000 + n; i++) sink += f();
} else {
  const { default: express } = await import('express');
  const app = express();
  const getHeaders = Object.getOwnPropertyDescriptor(http.IncomingMessage.prototype, 'headers').get;
  const map = new WeakMap();
  const key = Symbol('decision');
  const f = {
    none: () => 0,
    'req.headers': (req) => (req.headers ? 1 : 0),
    'headers getter': (req) => (getHeaders.call(req) ? 1 : 0),
    'res.finished': (_req, res) => (res.finished ? 1 : 0),
    'Reflect.get finished': (_req, res) => (Reflect.get(res, 'finished') ? 1 : 0),
    'WeakMap.set': (req) => (map.set(req, 1), 1),
    'res.locals[symbol] =': (_req, res) => ((Reflect.get(res, 'locals')[key] = 1), 1),
  }[op];
  for (let i = 0; i < 20_000 + n; i++) {
    const req = new http.IncomingMessage(null);
    const raw = ['host', 'x', 'x-gearshift-unit', `u${i}`];
    req._addHeaderLines(raw, raw.length);
    req.headers; // built here, as Node's parser-side code would have, so the rows time the read, not the building
    const res = new http.ServerResponse(req);
    Object.setPrototypeOf(req, app.request); // what Express's init middleware does to every request
    Object.setPrototypeOf(res, app.response);
    req.res = res;
    res.req = req;
    res.locals = Object.create(null);
    sink += f(req, res);
  }
}
if (sink === 0.5) console.log(sink);
