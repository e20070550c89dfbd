// Runs every simulator scenario with three controllers side by side (none, a reject-only shedder, gearshift) and
// prints the scenario table in the README (Regulation). Uses the built package: `npm run simulate` builds first.
// Options: --only <substring of a scenario name>, --json (raw metrics).
import { CONTROLLERS, formatTable, metricsOf, row, runScenario, scenarios } from '../dist/esm/simulate/index.js';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const json = args.includes('--json');
const started = Date.now();
const out = [];
for (const sc of scenarios()) {
  if (only && !sc.name.includes(only)) continue;
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
