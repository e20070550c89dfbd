// Runs every simulator scenario with three controllers side by side (none, a reject-only shedder, gearshift) and
// prints the scenario table in the README (Regulation). Uses the built package: `npm run simulate` builds first.
// Options: --only <substring of a scenario name>, --json (raw metrics).
import { parseArgs } from 'node:util';
import { CONTROLLERS, formatTable, metricsOf, row, runScenario, scenarios } from '../dist/esm/simulate/index.js';

const usage = 'usage: node scripts/simulate.mjs [--only <substring of a scenario name>] [--json]';
let values;
try {
  // Strict: a mistyped option (`--jsn`) or `--only` with no name used to run the whole table as if nothing was asked.
  ({ values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false }));
} catch (e) {
  console.error(`simulate: ${e.message}\n${usage}`);
  process.exit(2);
}
const { only, json = false } = values;
const all = scenarios();
const chosen = only === undefined ? all : all.filter((sc) => sc.name.includes(only));
if (chosen.length === 0) {
  // A typo in CI would otherwise measure nothing and pass.
  console.error(`simulate: --only ${JSON.stringify(only)} matches no scenario; the scenarios are:\n${all.map((sc) => `  ${sc.name}`).join('\n')}`);
  process.exit(2);
}
const started = Date.now();
const out = [];
for (const sc of chosen) {
  const rows = [];
  for (const kind of CONTROLLERS) {
    const m = metricsOf(runScenario(sc, kind), sc.disturbAt, sc.dropAt, sc.phases);
    out.push({ scenario: sc.name, controller: kind, ...m });
    rows.push(row(kind, m));
  }
  if (!json) console.log(`${formatTable(`${sc.name} — ${sc.description}`, rows)}\n`);
}
if (json) console.log(JSON.stringify(out, null, 2));
else console.log(`* never converged: timeout rate over the whole disturbed phase. ${((Date.now() - started) / 1000).toFixed(1)} s`);
