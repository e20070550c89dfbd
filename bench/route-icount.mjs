// Routing as CPU instructions per decision, counted by valgrind (run: npm run bench:route-icount).
//
//   node bench/route-icount.mjs [--tasks a,b,…] [--jit]   (task names as in route-subjects.mjs `decisions`)
//   --jit: instead, gearshift's tasks by JavaScript function (bench/jit-profile.mjs), minus noop's, in ~1 minute
//
// Why: bench/route.bench.mjs times decisions, and on these shared 2-core VMs its ratios move by 2× between runs of
// the same code. Instructions are steady. Each task of route-subjects.mjs runs in its own process under
// `valgrind --tool=cachegrind` with V8's randomness fixed (hash and random seeds, single-threaded: no concurrent
// compiler or GC threads), routing fresh strings made 1,000 at a time as the timed bench does.
//
// Per decision = (instructions of a run making W + 2N decisions − those of a run making W + N) / N, minus the same
// for `noop` (the loop, the call and the fresh strings): start-up, warm-up (V8 compiles on the main thread under
// --predictable, so W must cover it) and exit cancel out. The ratios it prints are what the timed bench judges, in
// instructions: a peer's count over gearshift's for the same work. Instructions are not time (a cache miss is one
// instruction), so this is a second view of the peers, not the latency budget.
//
// Needs valgrind (Debian: apt-get install valgrind). Takes ~10 minutes; the two runs of a task go in parallel.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countRun } from './cachegrind.mjs';
import { option as arg } from './cli.mjs';
import { CALLGRIND_ARGS, counting, haveCallgrind, NODE_ARGS, perfMapOf, perFunction } from './jit-profile.mjs';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--worker') {
  // Worker: make `total` decisions of one task over fresh strings, then exit. With an IPC channel (--jit), make
  // `total` as a warm-up, say so, and make `counted` more once told to (the parent turns counting on in between).
  const [, , , task, total, counted] = process.argv;
  const { BATCH, decisions, freshScenes, freshUnits } = await import('./route-subjects.mjs');
  const decide = decisions[task];
  let acc = 0;
  const run = (n) => {
    for (let done = 0; done < n; done += BATCH) {
      const scenes = freshScenes('feed_main_page');
      const units = freshUnits('user-', task.includes('baseline') ? 1e4 : 1e6, 20);
      for (let i = 0; i < BATCH; i++) acc += decide(scenes[i], units[i]);
    }
  };
  run(Number(total));
  if (process.send) {
    const told = () => new Promise((resolve) => process.once('message', resolve));
    process.send('warm');
    await told();
    run(Number(counted));
    process.send('done');
    await told();
  }
  if (acc === 0.5) console.log(acc); // keeps the work observable
  process.exit(0);
}

// Warm-up W and measured N per task: gearshift decisions are cheap, the peers' cost 5–30× more.
const PLAN = {
  noop: [100_000, 200_000],
  'noop (baseline keys)': [100_000, 200_000],
  'baseline: fresh-key Map.get': [100_000, 200_000],
  'gearshift: split + 2 layers (2 params read)': [100_000, 200_000],
  'gearshift: split only': [100_000, 200_000],
  'GrowthBook: one evaluation': [20_000, 20_000],
  'GrowthBook: the same decision': [20_000, 10_000],
  'Unleash (10 ids): one evaluation': [20_000, 20_000],
  'Unleash (10 ids): the same decision': [20_000, 10_000],
};
const tasks = arg('tasks', Object.keys(PLAN).join(',')).split(',');
/** What a task's count is taken against: the same loop and strings with no work. */
const noopOf = (task) => (task.includes('baseline') ? 'noop (baseline keys)' : 'noop');
for (const t of [...tasks]) if (!tasks.includes(noopOf(t))) tasks.unshift(noopOf(t));
for (const t of tasks) if (!(t in PLAN)) throw new Error(`unknown task ${t}; tasks: ${Object.keys(PLAN).join(', ')}`);

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

if (process.argv.includes('--jit')) {
  // By JavaScript function (bench/jit-profile.mjs): each task warmed up, then N decisions counted, minus noop's.
  if (!haveCallgrind()) {
    console.error('valgrind (with callgrind_control) is not installed; nothing measured.');
    process.exit(2);
  }
  const jitTasks = tasks.filter((t) => t.startsWith('noop') || t.startsWith('gearshift') || t.startsWith('baseline'));
  const profiles = await Promise.all(jitTasks.map((t) => profile(t, ...PLAN[t])));
  for (const [k, task] of jitTasks.entries()) {
    if (task.startsWith('noop')) continue;
    const noop = profiles[jitTasks.indexOf(noopOf(task))];
    const rows = [...new Set([...profiles[k].keys(), ...noop.keys()])].map((name) => [name, (profiles[k].get(name) ?? 0) - (noop.get(name) ?? 0)]);
    rows.sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((a, [, d]) => a + d, 0);
    console.log(`\n${task}: ${Math.round(total).toLocaleString('en')} instructions per decision, by compiled function (what V8 inlined into it)\n`);
    console.log('| function | instructions/decision |\n|---|---:|');
    for (const [name, d] of rows.filter(([, d]) => Math.abs(d) >= 10)) console.log(`| ${name.replace(/file:\/\/\S*\/(dist\/esm|bench)\//, '').replace(/^JS:/, '')} | ${Math.round(d).toLocaleString('en')} |`);
  }
  process.exit(0);
}

/** One worker under callgrind, counted only for its `n` decisions after `w` of warm-up: instructions per decision by function. */
async function profile(task, w, n) {
  const dir = mkdtempSync(join(tmpdir(), 'gearshift-route-jit-'));
  const out = join(dir, 'callgrind.out');
  const child = spawn('valgrind', [...CALLGRIND_ARGS(out), process.execPath, ...NODE_ARGS, self, '--worker', task, String(w), String(n)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, GEARSHIFT_BENCH_SMALL: '1' }, cwd: dir,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const next = () => new Promise((resolve) => child.once('message', resolve));
  await next();
  counting(child.pid, true);
  child.send('go');
  await next();
  counting(child.pid, false);
  child.send('exit');
  await exited;
  try {
    return perFunction(readFileSync(out, 'utf8'), readFileSync(perfMapOf(child.pid), 'utf8'), n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(perfMapOf(child.pid), { force: true });
  }
}

/** Instructions of one worker run making `total` decisions. */
const countTask = (task, total) => countRun(task, self, ['--worker', task, String(total)], { GEARSHIFT_BENCH_SMALL: '1' });

const raw = {};
for (const task of tasks) {
  const [w, n] = PLAN[task];
  const [short, long] = await Promise.all([countTask(task, w + n), countTask(task, w + 2 * n)]);
  raw[task] = (long - short) / n;
  console.error(`${task}: ${Math.round(raw[task]).toLocaleString('en')} instructions per call, loop and strings included`);
}
const per = (t) => raw[t] - raw[noopOf(t)];
console.log(`\n| task | instructions/decision |\n|---|---:|`);
for (const t of tasks) if (!t.startsWith('noop')) console.log(`| ${t} | ${Math.round(per(t)).toLocaleString('en')} |`);
if ('noop' in raw) console.log(`| (noop: the loop, the call and two fresh strings) | ${Math.round(raw.noop).toLocaleString('en')} |`);
const ratio = (peer, ours) => (peer in raw && ours in raw ? `${(per(peer) / per(ours)).toFixed(1)}x` : 'not run');
const SPLIT2 = 'gearshift: split + 2 layers (2 params read)';
const BASE = 'baseline: fresh-key Map.get';
if (BASE in raw && SPLIT2 in raw) console.log(`\nsplit + 2 layers ÷ fresh-key Map.get, in instructions: ${(per(SPLIT2) / per(BASE)).toFixed(2)} (the budget, 1.15, is judged in time)`);
console.log(`\npeer ÷ gearshift, in instructions, for the same work:`);
console.log(`  GrowthBook, the same decision ÷ split + 2 layers: ${ratio('GrowthBook: the same decision', 'gearshift: split + 2 layers (2 params read)')}`);
console.log(`  GrowthBook, one evaluation ÷ split only: ${ratio('GrowthBook: one evaluation', 'gearshift: split only')}`);
console.log(`  Unleash (10 ids), the same decision ÷ split + 2 layers: ${ratio('Unleash (10 ids): the same decision', 'gearshift: split + 2 layers (2 params read)')}`);
console.log(`  Unleash (10 ids), one evaluation ÷ split only: ${ratio('Unleash (10 ids): one evaluation', 'gearshift: split only')}`);
