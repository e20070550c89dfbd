// The arrival stamp's read per request (run: npm run bench:request-start [--quick]): `waitOf` with the proxy's clock
// learnt (`clocks: 'estimate'`, the default) against the same read with the clocks trusted (`synced`), in the same
// run. What `estimate` adds is one Map look-up by the peer address and a pass over ten minima; the budget is that it
// costs at most a quarter more than `synced`, whose cost is the parse of the stamp. Each sample times 1,000 reads
// of fresh stamp strings (made untimed, as an HTTP parser makes them).
import { Bench } from 'tinybench';
import { RequestStart } from '../dist/esm/adapters/request-start.js';

const BATCH = 1000;
const quick = process.argv.includes('--quick');
const WALL = 1_763_800_000_000;
let now = WALL;
const clock = () => now;
const estimate = new RequestStart({ now: clock });
const synced = new RequestStart({ now: clock, clocks: 'synced' });
// Three proxies, as behind a small pool; the peer strings are the socket's, the same objects every request.
const peers = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
let stamps = [];
const prepare = () => {
  now += 37; // time moves on: every minute gets its own minima
  stamps = Array.from({ length: BATCH }, (_, i) => Buffer.from(`t=${((now - (i % 50) - 200) / 1000).toFixed(3)}`).toString('latin1'));
};
let sink = 0;
const timed = (rs) => () => {
  const t0 = performance.now();
  for (let i = 0; i < BATCH; i++) sink += rs.waitOf(stamps[i], true, peers[i % 3]);
  const t1 = performance.now();
  return { overriddenDuration: (t1 - t0) / BATCH, overriddenIterationCost: t1 - t0 };
};
// Past the first minute, so that `estimate` subtracts a learnt offset rather than 0.
for (let t = 0; t <= 61_000; t += 1_000) {
  now = WALL + t;
  for (const p of peers) estimate.waitOf(`t=${now - 200}`, true, p);
}

const rounds = quick ? 2 : 5;
const ratios = [];
const medians = { synced: [], estimate: [] };
for (let r = 0; r < rounds; r++) {
  const bench = new Bench({ time: quick ? 200 : 1000, warmupTime: quick ? 50 : 200 });
  bench.add('synced', timed(synced), { beforeEach: prepare });
  bench.add('estimate', timed(estimate), { beforeEach: prepare });
  await bench.run();
  const m = Object.fromEntries(bench.tasks.map((t) => [t.name, t.result.latency.p50 * 1e6]));
  medians.synced.push(m.synced);
  medians.estimate.push(m.estimate);
  ratios.push(m.estimate / m.synced);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`waitOf, synced:   ${median(medians.synced).toFixed(1)} ns/read (median of ${rounds} rounds)`);
console.log(`waitOf, estimate: ${median(medians.estimate).toFixed(1)} ns/read`);
const ratio = median(ratios);
console.log(`${ratio <= 1.25 ? 'PASS' : 'FAIL'}  estimate ≤ 1.25 × synced, within a round: ${ratio.toFixed(2)}`);
if (!Number.isFinite(sink)) throw new Error("no reads were made"); // keeps the reads from being optimised away
if (estimate.offsets().length !== 3) throw new Error('the bench did not learn its three proxies');
