// engine.complete as CPU instructions per completion, counted by valgrind (run: npm run bench:complete-icount).
//
//   node bench/complete-icount.mjs            GEARSHIFT_DIST=<another build's dist/esm> to A/B a change
//
// Why: where a check sits in `complete` or `Sensing.record` decides whether TurboFan still inlines `complete` into
// its caller, and that moved a completion by 90–130 instructions in the thirteenth session (README, Sensing: host
// times) while its own work was a few compares. Time cannot see that on these VMs; instructions can. Each task runs
// in its own process under `valgrind --tool=cachegrind` with V8's randomness fixed (as bench/route-icount.mjs).
// Decisions are routed in a function of their own, then completed in another, so `route` and `complete` do not
// share an inlining budget (a host's request start and end are different functions too).
//
// Per completion = (instructions of a run of W + 2N − those of a run of W + N) / N, minus the same for `route only`.
// Repeated runs agree within ±30. Needs valgrind (Debian: apt-get install valgrind). Takes ~2 minutes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { countRun } from './cachegrind.mjs';

const self = fileURLToPath(import.meta.url);
const dist = process.env.GEARSHIFT_DIST ?? new URL('../dist/esm', import.meta.url).pathname;
const TASKS = ['route only', 'complete, host RT', 'complete, clock read'];
const W = 40_000;
const N = 40_000;

if (process.argv[2] === '--worker') {
  const [, , , task, total] = process.argv;
  const { createGearshift, ManualClock, Outcome } = await import(`${dist}/index.js`);
  const clock = new ManualClock(1000);
  const config = { scenes: { feed: { versions: { main: { stage: 'base' } } } }, sense: { process: { enabled: false } } };
  const engine = createGearshift({ config, clock });
  const decisions = new Array(1000);
  const rts = Float64Array.from({ length: 1024 }, (_, i) => 1 + (i % 50));
  let acc = 0;
  const routeAll = () => { for (let i = 0; i < 1000; i++) decisions[i] = engine.route('feed', 'user'); };
  const hostRt = () => { for (let i = 0; i < 1000; i++) acc += engine.complete(decisions[i], Outcome.Success, rts[i & 1023]) ? 1 : 0; };
  const clockRead = () => { for (let i = 0; i < 1000; i++) acc += engine.complete(decisions[i], Outcome.Success) ? 1 : 0; };
  const touch = () => { for (let i = 0; i < 1000; i++) acc += decisions[i].ok ? 1 : 0; };
  const finish = task === TASKS[1] ? hostRt : task === TASKS[2] ? clockRead : touch;
  for (let done = 0; done < Number(total); done += 1000) {
    routeAll();
    finish();
    clock.advance(1); // a millisecond per thousand: every end stays inside the host-time band
  }
  engine.close();
  if (acc < 0) console.log(acc);
  process.exit(0);
}

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('valgrind is not installed (Debian: apt-get install valgrind); nothing measured.');
  process.exit(2);
}

/** Instructions of one worker run of `total` requests. */
const countTask = (task, total) => countRun(task, self, ['--worker', task, String(total)], { GEARSHIFT_DIST: dist });

const per = {};
for (const task of TASKS) {
  const [short, long] = await Promise.all([countTask(task, W + N), countTask(task, W + 2 * N)]);
  per[task] = (long - short) / N;
}
console.log(`\n${dist}\n\n| task | instructions per request | minus route only |\n|---|---:|---:|`);
for (const task of TASKS) console.log(`| ${task} | ${Math.round(per[task]).toLocaleString('en')} | ${task === TASKS[0] ? '—' : Math.round(per[task] - per[TASKS[0]]).toLocaleString('en')} |`);
