// How long a config reload holds the event loop, by whitelist size (`npm run bench:reload`, after `npm run build`).
// `reload` is synchronous: while it validates, compiles and diffs, no request is served. The baseline, measured in
// the same run, is one `structuredClone` of the same document: what reading a document that large once costs here.
//   node bench/reload.mjs [--sizes 10000,100000] [--runs 5]   (--sizes 1000000 --runs 1: about 30 s more)
import { parseArgs } from 'node:util';
import { createGearshift, validateConfig } from '../dist/esm/index.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000' }, runs: { type: 'string', default: '5' } } });
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);

function doc(n, variant, withVersion) {
  const whitelist = {};
  for (let i = 0; i < n; i++) whitelist[`user-${i.toString(36)}-${(i * 2654435761 >>> 0).toString(16)}`] = i % 100 === variant ? 'canary' : 'main';
  return {
    ...(withVersion ? { version: `cfg-${variant}` } : {}),
    scenes: {
      feed: {
        versions: { main: { stage: 'base' }, canary: { stage: 'up' }, wip: { stage: 'dev' } },
        split: [{ version: 'canary', weight: 5 }, { version: 'main', weight: 95 }],
        whitelist,
        params: { depth: 400 },
        layers: [{ name: 'rank', arms: [{ name: 'a', weight: 50 }, { name: 'b', weight: 50, params: { depth: 800 } }] }],
        points: { recall: { gears: [100, 200, 400, 800] } },
      },
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

console.log('| whitelist entries | structuredClone (baseline) | validateConfig | reload, same document | reload, 1% of pins moved | reload, no `version` (content hash) | reload ÷ baseline |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const n of sizes) {
  const a = doc(n, 0, true);
  const b = doc(n, 1, true);
  const bare = doc(n, 0, false);
  const gs = createGearshift({ config: a });
  const t = { clone: [], validate: [], same: [], moved: [], hashed: [] };
  for (let r = 0; r < runs; r++) {
    t.clone.push(time(() => structuredClone(a)));
    t.validate.push(time(() => validateConfig(a)));
    t.same.push(time(() => gs.reload(a)));
    t.moved.push(time(() => gs.reload(b)));
    gs.reload(a);
    t.hashed.push(time(() => gs.reload(bare)));
    gs.reload(a);
  }
  gs.close();
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const ms = (x) => `${x.toFixed(0)} ms`;
  console.log(`| ${n.toLocaleString('en-US')} | ${ms(m.clone)} | ${ms(m.validate)} | ${ms(m.same)} | ${ms(m.moved)} | ${ms(m.hashed)} | ${(m.same / m.clone).toFixed(1)}× |`);
}
