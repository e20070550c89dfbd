// The traffic-unit router on its own: which version and params does each request get, and why?
// Run: npm run build && node examples/router-demo.mjs
import { createGearshift } from 'gearshift';

const config = (canaryPercent) => ({
  version: `demo-${canaryPercent}`,
  scenes: {
    feed: {
      rtBudgetMs: 200,
      versions: {
        main: { stage: 'base', description: 'fully rolled out' },
        canary: { stage: 'up', description: 'new ranking code, ramping' },
        refactor: { stage: 'up', description: 'code experiment against main' },
        wip: { stage: 'dev', description: 'reachable only by explicit version or whitelist' },
        soak: { stage: 'lt', description: 'load-test traffic only' },
      },
      whitelist: { 'qa-alice': 'wip' },
      split: [
        { version: 'refactor', weight: 10 },
        { version: 'canary', weight: canaryPercent },
        { version: 'main', weight: 90 - canaryPercent },
      ],
      params: { recallDepth: 400, model: 'ranker-v1' },
      layers: [
        { name: 'rank', arms: [{ name: 'control', weight: 50 }, { name: 'bigger-model', weight: 50, params: { model: 'ranker-v2' } }] },
        { name: 'recall', arms: [{ name: 'shallow', weight: 30, params: { recallDepth: 200 } }, { name: 'deep', weight: 70, params: { recallDepth: 800 } }] },
      ],
    },
  },
});

const gs = createGearshift({ config: config(5) });
const show = (label, d) => console.log(`${label.padEnd(34)} → ${d.explain()}\n${''.padEnd(37)}params: model=${d.param('model')} recallDepth=${d.param('recallDepth')}`);

console.log('Per request: scene → code version → business params, with the reason.\n');
show('user-1', gs.route('feed', 'user-1'));
show('user-2', gs.route('feed', 'user-2'));
show('qa-alice (whitelisted)', gs.route('feed', 'qa-alice'));
show('explicit version, untrusted', gs.route('feed', 'user-1', { version: 'wip' }));
show('explicit version, trusted', gs.route('feed', 'user-1', { version: 'wip', trusted: true }));
show('load test, trusted', gs.route('feed', 'user-1', { loadTest: true, trusted: true }));
show('no unit id', gs.route('feed', undefined));
show('unknown scene', gs.route('fund_page', 'user-1'));

const tally = (n) => {
  const counts = {};
  for (let i = 0; i < n; i++) {
    const v = gs.route('feed', `user-${i}`).version;
    counts[v] = (counts[v] ?? 0) + 1;
  }
  return Object.entries(counts).map(([v, c]) => `${v} ${((100 * c) / n).toFixed(1)}%`).join(', ');
};
console.log(`\n100,000 users: ${tally(100_000)}`);

console.log('\nRamp canary 5% → 10% (a live reload; decisions already made keep their snapshot):');
console.log(gs.reload(config(10)).toString());
console.log(`100,000 users: ${tally(100_000)}`);

try {
  gs.reload({ scenes: { feed: { versions: { main: { stage: 'up' } }, split: [{ version: 'main', weight: 90 }] } } });
} catch (e) {
  console.log(`\nA bad reload is refused (${e.code}); ${gs.configVersion} keeps serving:\n${e.message}`);
}
