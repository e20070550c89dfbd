// How long a `/metrics` scrape holds the event loop (run: npm run bench:metrics [--quick]). An engine with N scenes
// (two points, one version each), every scene with traffic and one regulator tick behind it; `prometheusText` is timed
// against a floor measured in the same run: the same number of lines, of the same length, built from ready strings
// and joined (what any text exposition of these series pays at least), which leaves out reading the windows and
// formatting the numbers. Budget at 1,000 scenes: at most 10x the floor (twenty-sixth session: 21x before labels were
// rendered once per scene, 8.4x after).
// The status page (`statusPage`), built from the same reads, is timed beside it, with no budget: it is for a person's
// browser, not a scraper every 15 s; so is the page's table alone (`details: false`), what a host of many scenes serves.
// `prometheusTextAsync`, the same scrape in slices with the event loop served between them, is timed by the longest
// wait a request arriving during it would see (a probe re-arming a setImmediate on every turn). Budget at the largest
// size run: that wait at most a quarter of the scrape built in one piece (thirtieth session).
// Medians of the runs after a warm-up.
import { createGearshift, ManualClock, prometheusText, prometheusTextAsync, statusPage } from '../dist/esm/index.js';
import { longestGap } from './event-loop-gap.mjs';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 5 : 15;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function engineWith(n) {
  const scenes = {};
  for (let i = 0; i < n; i++) scenes[`s${i}`] = { rtBudgetMs: 100, versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] }, model: { gears: ['s', 'l'] } } };
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const engine = createGearshift({ clock, config: { scenes } });
  engine.regulator.close();
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) engine.complete(engine.route(`s${i}`, `u${k}`), k === 2 ? 'timeout' : 'success', 20 + 40 * k);
    clock.advance(1000);
    engine.regulator.tick();
  }
  return engine;
}

/** The floor: `lines` ready strings of that length, pushed and joined, as the exposition's last step does. */
function floor(lines) {
  const out = [];
  for (let i = 0; i < lines.length; i++) out.push(lines[i]);
  return out.join('\n');
}

const rows = [];
let ok = true;
const sizes = quick ? [100, 1000] : [100, 1000, 10_000];
for (const n of sizes) {
  const engine = engineWith(n);
  const text = prometheusText(engine);
  const lines = text.split('\n').map((l) => `${l}`); // fresh copies, not slices of one string
  const t = { scrape: [], floor: [], page: [], table: [] };
  const pageKB = statusPage(engine).length / 1024;
  const tableKB = statusPage(engine, { details: false }).length / 1024;
  for (let r = 0; r < RUNS + 2; r++) {
    let t0 = performance.now();
    prometheusText(engine);
    const scrape = performance.now() - t0;
    t0 = performance.now();
    floor(lines);
    const fl = performance.now() - t0;
    t0 = performance.now();
    statusPage(engine);
    const page = performance.now() - t0;
    t0 = performance.now();
    statusPage(engine, { details: false });
    const table = performance.now() - t0;
    if (r >= 2) [t.scrape.push(scrape), t.floor.push(fl), t.page.push(page), t.table.push(table)];
  }
  const waits = [];
  for (let r = 0; r < RUNS + 2; r++) {
    const wait = await longestGap(() => prometheusTextAsync(engine));
    if (r >= 2) waits.push(wait);
  }
  engine.close();
  const [scrape, fl, page, table] = [median(t.scrape), median(t.floor), median(t.page), median(t.table)];
  const wait = median(waits);
  const sliceBudget = n === sizes.at(-1) ? 0.25 : null;
  if (sliceBudget !== null && wait / scrape > sliceBudget) ok = false;
  const sliced = `${wait.toFixed(1)} ms (${(wait / scrape).toFixed(2)} of the scrape${sliceBudget === null ? '' : `, budget ≤ ${sliceBudget}: ${wait / scrape <= sliceBudget ? 'PASS' : 'FAIL'}`})`;
  const ratio = scrape / fl;
  const budget = n === 1000 ? 10 : null;
  if (budget !== null && ratio > budget) ok = false;
  rows.push(`| ${n.toLocaleString('en')} | ${lines.length.toLocaleString('en')} | ${scrape.toFixed(1)} ms | ${((scrape * 1000) / lines.length).toFixed(2)} µs | ${fl.toFixed(2)} ms | ${ratio.toFixed(1)}x${budget === null ? '' : ` (budget ≤ ${budget}x) ${ratio <= budget ? 'PASS' : 'FAIL'}`} | ${sliced} | ${page.toFixed(1)} ms, ${pageKB.toFixed(0)} KB | ${table.toFixed(1)} ms, ${tableKB.toFixed(0)} KB |`);
}
console.log('| scenes | lines | scrape | per line | floor | scrape / floor | sliced scrape: longest wait | status page | its table alone |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
process.exitCode = ok ? 0 : 1;
