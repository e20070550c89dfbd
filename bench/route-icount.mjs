// Routing as CPU instructions per decision, counted by valgrind (run: npm run bench:route-icount).
//
//   node bench/route-icount.mjs [--tasks a,b,…]   (task names as in route-subjects.mjs `decisions`)
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
import { fileURLToPath } from 'node:url';
import { option as arg } from './cli.mjs';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--worker') {
  // Worker: make `total` decisions of one task over fresh strings, then exit.
  const [, , , task, total] = process.argv;
  const { BATCH, decisions, freshScenes, freshUnits } = await import('./route-subjects.mjs');
  const decide = decisions[task];
  let acc = 0;
  for (let done = 0; done < Number(total); done += BATCH) {
    const scenes = freshScenes('feed_main_page');
    const units = freshUnits('user-', 1e6, 20);
    for (let i = 0; i < BATCH; i++) acc += decide(scenes[i], units[i]);
  }
  if (acc === 0.5) console.log(acc); // keeps the work observable
  process.exit(0);
}

// Warm-up W and measured N per task: gearshift decisions are cheap, the peers' cost 5–30× more.
const PLAN = {
  noop: [100_000, 200_000],
  'gearshift: split + 2 layers (2 params read)': [100_000, 200_000],
  'gearshift: split only': [100_000, 200_000],
  'GrowthBook: one evaluation': [20_000, 20_000],
  'GrowthBook: the same decision': [20_000, 10_000],
  'Unleash (10 ids): one evaluation': [20_000, 20_000],
  'Unleash (10 ids): the same decision': [20_000, 10_000],
};
const tasks = arg('tasks', Object.keys(PLAN).join(',')).split(',');
if (!tasks.includes('noop')) tasks.unshift('noop');
for (const t of tasks) if (!(t in PLAN)) throw new Error(`unknown task ${t}; tasks: ${Object.keys(PLAN).join(', ')}`);

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

/** Instructions of one worker run making `total` decisions. */
function countRun(task, total) {
  const args = [
    '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
    process.execPath, '--predictable', '--predictable-gc-schedule', '--no-memory-reducer', '--hash-seed=42', '--random-seed=42',
    self, '--worker', task, String(total),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GEARSHIFT_BENCH_SMALL: '1' } });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => {
      const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code !== 0 || !match) reject(new Error(`${task}: worker exited ${code}:\n${stderr.slice(-2000)}`));
      else resolve(Number(match[1].replaceAll(',', '')));
    });
  });
}

const raw = {};
for (const task of tasks) {
  const [w, n] = PLAN[task];
  const [short, long] = await Promise.all([countRun(task, w + n), countRun(task, w + 2 * n)]);
  raw[task] = (long - short) / n;
  console.error(`${task}: ${Math.round(raw[task]).toLocaleString('en')} instructions per call, loop and strings included`);
}
const per = (t) => raw[t] - raw.noop;
console.log(`\n| task | instructions/decision |\n|---|---:|`);
for (const t of tasks) if (t !== 'noop') console.log(`| ${t} | ${Math.round(per(t)).toLocaleString('en')} |`);
console.log(`| (noop: the loop, the call and two fresh strings) | ${Math.round(raw.noop).toLocaleString('en')} |`);
const ratio = (peer, ours) => (peer in raw && ours in raw ? `${(per(peer) / per(ours)).toFixed(1)}x` : 'not run');
console.log(`\npeer ÷ gearshift, in instructions, for the same work:`);
console.log(`  GrowthBook, the same decision ÷ split + 2 layers: ${ratio('GrowthBook: the same decision', 'gearshift: split + 2 layers (2 params read)')}`);
console.log(`  GrowthBook, one evaluation ÷ split only: ${ratio('GrowthBook: one evaluation', 'gearshift: split only')}`);
console.log(`  Unleash (10 ids), the same decision ÷ split + 2 layers: ${ratio('Unleash (10 ids): the same decision', 'gearshift: split + 2 layers (2 params read)')}`);
console.log(`  Unleash (10 ids), one evaluation ÷ split only: ${ratio('Unleash (10 ids): one evaluation', 'gearshift: split only')}`);
