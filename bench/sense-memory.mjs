// Resident memory of 10,000 scene × version series with full windows (run: npm run build && node bench/sense-memory.mjs).
// Each variant runs in a fresh child process, so one variant's garbage never counts against another. Every slot of
// every series gets traffic (RTs spread over many buckets), so every page of every window is touched, as in a
// long-running process: this is the worst case, not the idle one (idle series allocate nothing).
//
//   gearshift:<bits>      this library's series at a given precision (default windows: 10 × 1 s, RT up to 60 s)
//   hdr:<digits>          for comparison: one hdr-histogram-js Int32 histogram per RT slot (10 per series)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERIES = 10_000;
const SCENES = 1_000; // × 10 versions
const variant = process.argv[2];

if (!variant) {
  const variants = ['gearshift:3', 'gearshift:4', 'gearshift:5', 'gearshift:3:20', 'hdr:1', 'hdr:2'];
  console.log(`| variant | RSS after (MB) | RSS growth (MB) | per series (KB) | heap + array buffers growth (MB) | seconds to fill |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  let ok = true;
  for (const v of variants) {
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), v], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out);
    console.log(`| ${v} | ${r.rss.toFixed(0)} | ${r.growth.toFixed(0)} | ${((r.growth * 1024) / SERIES).toFixed(1)} | ${r.heap.toFixed(0)} | ${r.seconds.toFixed(1)} |`);
    if (v === 'gearshift:3') ok = r.rss <= 256; // the default precision
  }
  console.log(`${ok ? 'PASS' : 'FAIL'}  10,000 series with default windows in at most 256 MB resident`);
  process.exitCode = ok ? 0 : 1;
} else {
  const mb = (n) => n / 2 ** 20;
  const [kind, param, slotsArg] = variant.split(':');
  const slots = Number(slotsArg ?? 10);
  let seed = 1;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const rt = () => Math.min(59_000, Math.exp(3 + 1.2 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())));
  const PER_SLOT = 40; // requests per series per slot: enough to touch every cache line a window uses
  let fill;
  let keep;
  let gs;
  if (kind === 'gearshift') {
    const { createGearshift, ManualClock, Outcome } = await import('../dist/esm/index.js');
    const versions = Object.fromEntries(Array.from({ length: SERIES / SCENES }, (_, i) => [`v${i}`, { stage: i === 0 ? 'base' : 'dev' }]));
    const scenes = Object.fromEntries(Array.from({ length: SCENES }, (_, i) => [`scene-${i}`, { versions }]));
    const clock = new ManualClock(0);
    gs = createGearshift({ config: { scenes, sense: { rt: { precisionBits: Number(param), slots }, outcomes: { slots }, process: { enabled: false } } }, clock });
    const ids = Object.keys(scenes);
    const names = Object.keys(versions);
    globalThis.gc();
    fill = () => {
      for (let slot = 0; slot < slots; slot++) {
        for (const id of ids) for (const v of names) for (let j = 0; j < PER_SLOT; j++) gs.complete(gs.route(id, null, { trusted: true, version: v }), Outcome.Success, rt());
        clock.advance(1000);
      }
    };
  } else {
    const hdr = await import('hdr-histogram-js');
    fill = () => {
      keep = [];
      for (let s = 0; s < SERIES; s++) {
        const ring = [];
        for (let slot = 0; slot < slots; slot++) {
          const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: Number(param) });
          for (let j = 0; j < PER_SLOT; j++) h.recordValue(Math.round(rt() * 1000));
          ring.push(h);
        }
        keep.push(ring);
      }
    };
  }
  globalThis.gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  fill();
  const seconds = (performance.now() - t0) / 1000;
  globalThis.gc();
  const after = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    rss: mb(after.rss),
    growth: mb(after.rss - before.rss),
    heap: mb(after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers),
    seconds,
  }));
  if (keep?.length === -1 || gs === 0) console.log('');
}
