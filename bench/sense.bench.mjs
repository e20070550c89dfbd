// Sensing microbenchmarks (run: npm run build && node bench/sense.bench.mjs [--quick]). Hot-path figures are per
// record; every budget is judged against baselines measured in the same run (a bare hdr-histogram-js recordValue and
// a Map.get), because these machines are shared and noisy. Each sample times a batch of 1,000 calls.
import { bytesPerCall } from './alloc.mjs';
import * as hdr from 'hdr-histogram-js';
import { Bench } from 'tinybench';
import { createGearshift, ManualClock, Outcome, Stats } from '../dist/esm/index.js';
import { HistogramLayout } from '../dist/esm/sense/layout.js';
import { Series, SeriesShape } from '../dist/esm/sense/series.js';

const BATCH = 1000;
const quick = process.argv.includes('--quick');
let sink = 0;
const timed = (fn) => () => {
  const t0 = performance.now();
  fn();
  const t1 = performance.now();
  // Per-record duration for the statistics; the real batch cost for tinybench's time budget.
  return { overriddenDuration: (t1 - t0) / BATCH, overriddenIterationCost: t1 - t0 };
};

// RTs with a realistic spread: log-normal around 20 ms, so records hit many buckets (not one hot cache line).
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const lognormal = () => Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
const RTS = Float64Array.from({ length: 1 << 16 }, lognormal);
const MASK = RTS.length - 1;
let k = 0;
// Virtual time moves 5 µs per record: a slot rotates every 200,000 records, as at 200k req/s into one series.
let now = 0;

// --- subjects ----------------------------------------------------------------------------------------------------
const baselineMap = new Map(Array.from({ length: 10_000 }, (_, i) => [`scene-${i}`, i]));
const cachedKey = 'scene-42';
const bare = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
const shape = new SeriesShape(10, 1000, 10, 1000, new HistogramLayout(4, 60_000));
const series = new Series(shape, 0);

const scenes = Object.fromEntries(
  Array.from({ length: 1000 }, (_, i) => [`scene-${i}`, { versions: { base: { stage: 'base' }, up: { stage: 'up' }, dev: { stage: 'dev' } }, split: [{ version: 'up', weight: 10 }, { version: 'base', weight: 90 }] }]),
);
const clock = new ManualClock(0);
const gs = createGearshift({ config: { scenes, sense: { process: { enabled: false } } }, clock });
const sensing = gs.sensing;
const decisions = [];
const sceneIds = Object.keys(scenes);
const prepareDecisions = () => {
  for (let i = 0; i < BATCH; i++) decisions[i] = gs.route(sceneIds[i % 1000], `user-${i}`);
};
const prepareHot = () => {
  for (let i = 0; i < BATCH; i++) decisions[i] = gs.route('scene-1', `user-${i}`);
};
const ref = gs.route('scene-1', 'u');

// Fill every series of every scene in every slot, so the read figures are for full windows.
for (let sec = 0; sec < 10; sec++) {
  for (const id of sceneIds) for (let j = 0; j < 30; j++) gs.complete(gs.route(id, `u${j}`, j === 0 ? { trusted: true, version: 'dev' } : null), Outcome.Success, RTS[k++ & MASK]);
  clock.advance(sec < 9 ? 1000 : 500);
}
// Reads happen at 9.5 s: all ten slots hold a second's traffic each.

// --- tasks -------------------------------------------------------------------------------------------------------
const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: quick ? 100 : 400, retainSamples: false });
bench.add('baseline: Map.get, cached key', timed(() => { for (let i = 0; i < BATCH; i++) sink += baselineMap.get(cachedKey); }));
bench.add('baseline: hdr-histogram-js recordValue (3 digits, JS)', timed(() => { for (let i = 0; i < BATCH; i++) bare.recordValue((RTS[k++ & MASK] * 1000) | 0); }));
// Times and indexes live in locals inside the batch: a module-level double would be boxed on every store, and that
// allocation would be the bench's, not the record's.
bench.add('Series.record (one scene × version)', timed(() => {
  let t = now, j = k;
  for (let i = 0; i < BATCH; i++) series.record(Outcome.Success, RTS[j++ & MASK], (t += 0.005));
  now = t; k = j;
}));
bench.add('Sensing.record (the version series: one per request)', timed(() => {
  const s = ref.compiledScene, v = ref.compiled;
  let t = clock.now(), j = k;
  for (let i = 0; i < BATCH; i++) sensing.record(s, v, false, Outcome.Success, RTS[j++ & MASK], (t += 0.000001));
  k = j;
}));
bench.add('engine.complete (host RT; one hot scene)', timed(() => {
  let j = k;
  for (let i = 0; i < BATCH; i++) gs.complete(decisions[i], Outcome.Success, RTS[j++ & MASK]);
  k = j;
}), { beforeEach: prepareHot });
bench.add('engine.complete (host RT; 1,000 scenes, cold series)', timed(() => {
  let j = k;
  for (let i = 0; i < BATCH; i++) gs.complete(decisions[i], Outcome.Success, RTS[j++ & MASK]);
  k = j;
}), { beforeEach: prepareDecisions });
await bench.run();

// --- reads: once per tick, timed whole ------------------------------------------------------------------------
function msPer(fn, rounds) {
  fn();
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}
const out = new Stats();
const readAll = () => { for (const id of sceneIds) sink += sensing.stats(id, null, 0, out).p99; };
const readAllVersions = () => { for (const id of sceneIds) for (const v of ['base', 'up', 'dev']) sink += sensing.stats(id, v, 0, out).p99; };
const readRecent = () => { for (const id of sceneIds) sink += sensing.recent(id, 100, null, out).p99; };
const tickScenes = msPer(readAll, quick ? 20 : 60);
const tickVersions = msPer(readAllVersions, quick ? 20 : 60);
const tickRecent = msPer(readRecent, quick ? 20 : 60);
const tickProcess = msPer(() => { sink += sensing.stats(null, null, 0, out).p99; }, quick ? 20 : 60);
const filled = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
for (let i = 0; i < 30_000; i++) filled.recordValue((RTS[i] * 1000) | 0);
const hdrPct = msPer(() => { for (let i = 0; i < 50; i++) sink += filled.getValueAtPercentile(99); }, quick ? 10 : 30) / 50;
const filled2 = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 2 });
for (let i = 0; i < 30_000; i++) filled2.recordValue((RTS[i] * 1000) | 0);
const hdrPct2 = msPer(() => { for (let i = 0; i < 50; i++) sink += filled2.getValueAtPercentile(99); }, quick ? 10 : 30) / 50;

// --- allocation: young-generation bytes per record ---------------------------------------------------------------
// Arguments come from arrays of already-boxed numbers (as a host's RT and timestamps already are): a double computed
// in the calling loop would be boxed at the call, and that allocation would be the caller's, not the record's.
const boxed = (n, f) => { const a = Array.from({ length: n }, (_, i) => f(i)); a.push('force-tagged-elements'); return a; };
const boxedRts = boxed(20_000, (i) => RTS[i]);
const boxedTimes = boxed(20_000, (i) => now + 1 + i * 0.005);
const boxedNow = boxed(20_000, (i) => clock.now() + i * 0.000001);
const allocSeries = bytesPerCall((n) => { for (let i = 0; i < n; i++) series.record(Outcome.Error, boxedRts[i], boxedTimes[i]); });
const allocSensing = bytesPerCall((n) => { const s = ref.compiledScene, v = ref.compiled; for (let i = 0; i < n; i++) sensing.record(s, v, false, Outcome.Timeout, boxedRts[i], boxedNow[i]); });

// --- report ------------------------------------------------------------------------------------------------------
const ns = (t) => t.result.latency.p50 * 1e6;
const byName = Object.fromEntries(bench.tasks.map((t) => [t.name, t]));
const map = ns(byName['baseline: Map.get, cached key']);
const hdrNs = ns(byName['baseline: hdr-histogram-js recordValue (3 digits, JS)']);
console.log(`\n| task | median ns/record | × Map.get | × hdr recordValue |`);
console.log('|---|---:|---:|---:|');
for (const t of bench.tasks) console.log(`| ${t.name} | ${ns(t).toFixed(1)} | ${(ns(t) / map).toFixed(2)} | ${(ns(t) / hdrNs).toFixed(2)} |`);
console.log(`\n| read (per tick) | median ms |`);
console.log('|---|---:|');
console.log(`| stats of 1,000 scenes (3 versions merged, whole window, all percentiles) | ${tickScenes.toFixed(3)} |`);
console.log(`| stats of 3,000 scene × version series | ${tickVersions.toFixed(3)} |`);
console.log(`| recent(scene, 100 samples) of 1,000 scenes | ${tickRecent.toFixed(3)} |`);
console.log(`| stats() of the process (all 4,002 series merged) | ${tickProcess.toFixed(3)} |`);
console.log(`| one hdr-histogram-js getValueAtPercentile(99), 3 digits | ${hdrPct.toFixed(3)} |`);
console.log(`| one hdr-histogram-js getValueAtPercentile(99), 2 digits | ${hdrPct2.toFixed(3)} |`);
console.log(`\nallocation per record (young-generation bytes): Series.record ${allocSeries.toFixed(2)}, Sensing.record ${allocSensing.toFixed(2)}`);
const rec = ns(byName['Series.record (one scene × version)']);
const hot = ns(byName['engine.complete (host RT; one hot scene)']);
const checks = [
  ['Series.record median under 60 ns', rec < 60],
  ['Sensing.record under 60 ns', ns(byName['Sensing.record (the version series: one per request)']) < 60],
  ['Series.record ≤ 2 × bare hdr recordValue', rec <= 2 * hdrNs],
  ['reading 1,000 scenes under 5 ms', tickScenes < 5],
  ['no allocation per record', allocSeries < 0.5 && allocSensing < 0.5],
];
for (const [name, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
if (sink === 42) console.log('');
process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
