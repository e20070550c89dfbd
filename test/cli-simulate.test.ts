/**
 * `gearshift simulate` (twenty-eighth session): a config's scene through the README's load shapes, at the scale the
 * command line gives. At the simulator's own scale it is the README's scenario, row for row.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/run.js';
import { CONTROLLERS } from '../src/simulate/controllers.js';
import { metricsOf } from '../src/simulate/metrics.js';
import { feedScene } from '../src/simulate/model.js';
import { runScenario } from '../src/simulate/run.js';
import { scenarios } from '../src/simulate/scenarios.js';
import { formatTable, row } from '../src/simulate/table.js';

const dir = mkdtempSync(join(tmpdir(), 'gearshift-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, doc: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
};
function cli(args: string[]) {
  let out = '';
  let err = '';
  const status = run(args, { out: (t) => void (out += t), err: (t) => void (err += t), stdin: () => '' });
  return { status, out, err };
}

const plain = { versions: { v: { stage: 'base' } } };
const feed = file('feed.json', { scenes: { plain, feed: feedScene() } });

describe('gearshift simulate', () => {
  it('is the README’s scenario at the simulator’s scale, with the first scene deployed here that has points', () => {
    const r = cli(['simulate', feed, '--shape', 'step-2x']);
    expect(r.status).toBe(0);
    const readme = scenarios().find((s) => s.name === 'step 2x and back')!;
    const rows = CONTROLLERS.map((kind) => row(kind, metricsOf(runScenario(readme, kind), readme.disturbAt, readme.dropAt)));
    expect(r.out).toBe(
      'scene feed: 8 servers, 40 ms a request at full gear (capacity 200 req/s), normal load 100 req/s (utilisation 0.50)\n\n' +
        `${formatTable('step 2x and back: 100 → 200 req/s at 60 s, back at 180 s', rows)}\n`,
    );
  });

  it('runs every shape at the scale given, with the config’s regulator section', () => {
    const r = cli(['simulate', feed, '--rate', '30', '--servers', '1', '--base-ms', '12.5', '--json']);
    expect(r.status).toBe(0);
    const shapes = JSON.parse(r.out) as { shape: string; description: string; runs: { controller: string; metrics: { goodput: number; firstMoveS: number | null } }[] }[];
    expect(shapes.map((s) => s.shape)).toEqual(['step-2x', 'step-10x', 'sawtooth', 'burst']);
    expect(shapes[3]!.description).toBe('1.5 req/s for 60 s, 180 req/s for 30 s, then 30');
    for (const s of shapes) expect(s.runs.map((x) => x.controller)).toEqual([...CONTROLLERS]);
    // a 10x step on a service at 0.375 utilisation: without regulation almost nothing is good, with it most is
    const tenX = Object.fromEntries(shapes[1]!.runs.map((x) => [x.controller, x.metrics.goodput]));
    expect(tenX.none).toBeLessThan(0.2);
    expect(tenX.gearshift).toBeGreaterThan(0.8);
    // frozen, the regulator moves nothing: gearshift's row is no regulation's
    const frozen = file('frozen.json', { scenes: { feed: feedScene() }, regulator: { mode: 'frozen' } });
    const held = JSON.parse(cli(['simulate', frozen, '--shape', 'step-10x', '--json']).out)[0].runs;
    expect(held[2].metrics.firstMoveS).toBeNull();
    expect(held[2].metrics.goodput).toBe(held[0].metrics.goodput);
  });

  it('takes of the regulator section what names the scene it runs (a config of that scene alone refused the rest)', () => {
    const two = file('two.json', {
      scenes: { feed: feedScene('feed'), fund: feedScene('fund', { priority: 'low' }) },
      regulator: {
        templates: { peak: { feed: { recall: 0 }, fund: { recall: 0 } }, fundOnly: { fund: { rank: 0 } } },
        schedules: [{ at: '00:00:30', caps: { feed: { rank: 2 }, fund: { rank: 1 } }, fixed: { fund: { recall: 1 } } }, { at: '00:01:00', template: 'peak' }],
        goalSets: { tight: { scenes: { fund: { timeoutRate: { target: 0.005 } } } } },
      },
    });
    for (const scene of ['feed', 'fund']) expect(cli(['simulate', two, '--scene', scene, '--shape', 'burst']), scene).toMatchObject({ status: 0, err: '' });
    // the schedule's cap holds feed's rank at 2 from 00:00:30 on: the run differs from one without the section
    const bare = file('bare.json', { scenes: { feed: feedScene('feed') } });
    expect(cli(['simulate', two, '--shape', 'burst', '--json']).out).not.toBe(cli(['simulate', bare, '--shape', 'burst', '--json']).out);
  });

  it('refuses what it cannot run with a usage error', () => {
    const noPoints = file('plain.json', { scenes: { plain } });
    const cases: [string[], RegExp][] = [
      [['simulate', noPoints], /no scene deployed here has points to regulate: name one with --scene/],
      [['simulate', feed, '--scene', 'nope'], /--scene: the config has no scene "nope"/],
      [['simulate', feed, '--shape', 'step-3x'], /--shape: expected one of step-2x, step-10x, sawtooth, burst/],
      [['simulate', feed, '--rate', '0'], /--rate: expected a number above 0 and at most 10,000/],
      [['simulate', feed, '--rate', 'lots'], /--rate/],
      [['simulate', feed, '--servers', '2.5'], /--servers: expected an integer/],
      [['simulate', feed, '--base-ms', ''], /--base-ms/],
      [['simulate', feed, '--rate', '20000'], /--rate/],
      [['simulate'], /simulate takes one file/],
      [['check', feed, '--rate', '5'], /--rate is an option of simulate, not of check/],
      [['simulate', feed, '--explicit', 'v'], /--explicit is an option of route, not of simulate/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect([r.status, r.out], args.join(' ')).toEqual([2, '']);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    // a scene named explicitly need not be deployed here, nor have points (then the three rows are alike)
    expect(cli(['simulate', feed, '--scene', 'plain', '--shape', 'burst']).status).toBe(0);
  });
});
