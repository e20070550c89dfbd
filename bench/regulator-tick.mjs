// How long a regulator tick keeps requests waiting (run: npm run bench:tick [--quick]). An engine with N scenes
// (1,000 and 10,000; two points each), every scene with traffic, ticks on a real clock. A probe re-arms a
// setImmediate on every turn of the event loop and records the longest gap between two turns while the tick runs:
// that is the longest a request arriving then would wait. Measured in the same run for a tick run whole (`tick()`,
// what the timer ran until the twenty-sixth session) and for the timer's tick, run in slices with the event loop
// served between them. The budget, at 10,000 scenes: the sliced tick's longest gap at most a quarter of the whole
// tick's (medians over the ticks). The last column is the CPU time of a tick run whole (median, and the fastest,
// which a scavenge missed): what the regulator costs the process once a period. A scavenge of the young generation (6–12 ms at this heap, ~140 MB) lands in one
// of the gaps now and then, in either mode.
import { createGearshift } from '../dist/esm/index.js';
import { longestGap } from './event-loop-gap.mjs';

const quick = process.argv.includes('--quick');
const TICKS = quick ? 4 : 10;

function engineWith(n) {
  const scenes = {};
  for (let i = 0; i < n; i++) scenes[`s${i}`] = { rtBudgetMs: 100, versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] }, model: { gears: ['s', 'l'] } } };
  const engine = createGearshift({ config: { scenes } });
  engine.regulator.close(); // its timer's ticks would land among the bench's; tick() and the timer's tick still run
  return engine;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = [];
let ok = true;
for (const n of [1000, 10_000]) {
  const engine = engineWith(n);
  const gaps = { whole: [], sliced: [] };
  const cpu = []; // CPU time of each tick run whole, ms: what the regulator costs the process once a period
  for (let t = 0; t < 2 * TICKS + 2; t++) {
    for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) engine.complete(engine.route(`s${i}`, `u${k}`), 'success', 20);
    await new Promise((r) => setTimeout(r, 50));
    const mode = t % 2 === 0 ? 'whole' : 'sliced'; // interleaved, so that both see the same heap and the same machine
    const whole = () => {
      const c = process.cpuUsage();
      engine.regulator.tick();
      const used = process.cpuUsage(c);
      if (t >= 2) cpu.push((used.user + used.system) / 1000);
    };
    // Until the tick event: the timer's tick ends in a later turn of the event loop.
    const ticked = (run) => () => new Promise((resolve) => {
      engine.regulator.once('tick', resolve);
      run();
    });
    const gap = await longestGap(ticked(mode === 'whole' ? whole : () => engine.regulator.tickInBackground()));
    if (t >= 2) gaps[mode].push(gap);
  }
  engine.close();
  const whole = median(gaps.whole);
  const sliced = median(gaps.sliced);
  const ratio = sliced / whole;
  const budget = n === 10_000 ? 0.25 : null;
  if (budget !== null && ratio > budget) ok = false;
  rows.push(`| ${n.toLocaleString('en')} | ${whole.toFixed(1)} | ${sliced.toFixed(1)} (max ${Math.max(...gaps.sliced).toFixed(1)}) | ${ratio.toFixed(2)}${budget === null ? '' : ` (budget ≤ ${budget}) ${ratio <= budget ? 'PASS' : 'FAIL'}`} | ${median(cpu).toFixed(1)} (fastest ${Math.min(...cpu).toFixed(1)}) |`);
}
console.log('| scenes | tick run whole: longest wait, ms | timer\'s tick, in slices: longest wait, ms | sliced / whole | tick run whole: CPU, ms |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
process.exitCode = ok ? 0 : 1;
