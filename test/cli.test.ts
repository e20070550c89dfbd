/**
 * The `gearshift` command (twenty-eighth session): a config review without a running service. Run in-process with
 * files in a temporary directory; `e2e-packed` runs the packed executable itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, USAGE } from '../src/cli/run.js';
import { configJsonSchema } from '../src/config/schema.js';
import { createGearshift } from '../src/engine.js';
import { ManualClock } from '../src/clock.js';
import { Router } from '../src/route/router.js';
import { compileTables } from '../src/route/tables.js';
import { validateConfig } from '../src/config/validate.js';
import type { GearshiftConfig } from '../src/config/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'gearshift-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: GearshiftConfig = {
  version: 'demo-5',
  deployedHere: ['feed'],
  scenes: {
    feed: {
      versions: { main: { stage: 'base' }, canary: { stage: 'up' }, wip: { stage: 'dev' }, soak: { stage: 'lt' } },
      whitelist: { 'qa-alice': 'wip' },
      split: [{ version: 'canary', weight: 5 }, { version: 'main', weight: 95 }],
      params: { recallDepth: 400 },
      layers: [{ name: 'rank', arms: [{ name: 'control', weight: 50 }, { name: 'v2', weight: 50, params: { model: 'ranker-v2' } }] }],
    },
    search: { versions: { v1: { stage: 'base' } } },
  },
};
const NEXT: GearshiftConfig = { ...CONFIG, version: 'demo-10', scenes: { ...CONFIG.scenes, feed: { ...CONFIG.scenes.feed!, split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }] } } };

const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const good = file('good.json', CONFIG);
const next = file('next.json', NEXT);
// twelve issues: a ConfigError's message shows ten, a review wants them all
const bad = file('bad.json', { scenes: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s${i}`, { versions: { v: { stage: 'up' } } }])) });

/** Runs a command line; what it wrote to each stream, and its status. */
function cli(args: string[], stdin = '') {
  let out = '';
  let err = '';
  const status = run(args, { out: (t) => void (out += t), err: (t) => void (err += t), stdin: () => stdin });
  return { status, out, err };
}

describe('gearshift check', () => {
  it('says what a valid document holds, and lists every issue of a refused one with its path; 1 if any is refused', () => {
    expect(cli(['check', good])).toEqual({ status: 0, out: `${good}: valid, config demo-5, 2 scenes, 1 deployed here\n`, err: '' });
    const r = cli(['check', good, bad]);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`${good}: valid`);
    const lines = r.err.split('\n').filter(Boolean);
    expect(lines[0]).toBe(`${bad}: refused, 12 issues:`);
    expect(lines.slice(1)).toHaveLength(12);
    expect(lines[1]).toMatch(/^ {2}scenes\.s0\.versions: .*base/);
  });

  it('refuses a document that is not JSON, and reads standard input for -', () => {
    expect(cli(['check', file('broken.json', '{"scenes": ')])).toMatchObject({ status: 1, err: expect.stringMatching(/broken\.json: refused, 1 issue:\n {2}\(root\): not JSON: /) });
    expect(cli(['check', '-'], JSON.stringify(CONFIG))).toMatchObject({ status: 0, out: '-: valid, config demo-5, 2 scenes, 1 deployed here\n' });
    expect(cli(['check', file('bom.json', `\ufeff${JSON.stringify(CONFIG)}`)])).toMatchObject({ status: 0 }); // as some editors save UTF-8
    // a duplicate key is JSON, and the parse keeps the last; `__proto__` is refused by the config's own rule
    expect(cli(['check', '-'], '{"__proto__": {}, "scenes": {}}')).toMatchObject({ status: 1, err: expect.stringContaining('__proto__') });
  });

  it('writes JSON with --json', () => {
    const r = cli(['check', good, bad, '--json']);
    expect(r.status).toBe(1);
    const results = JSON.parse(r.out);
    expect(results[0]).toEqual({ file: good, ok: true, version: 'demo-5', scenes: 2, deployedHere: 1 });
    expect(results[1]).toMatchObject({ file: bad, ok: false });
    expect(results[1].issues).toHaveLength(12);
    expect(r.err).toBe('');
  });
});

describe('gearshift diff', () => {
  it('is the release diff a reload returns, bucket moves included', () => {
    const engine = createGearshift({ config: CONFIG, clock: new ManualClock(0) });
    const expected = engine.reload(NEXT);
    engine.close();
    const r = cli(['diff', good, next]);
    expect(r).toEqual({ status: 0, out: `${expected.toString()}\n`, err: '' });
    expect(r.out).toContain('scene feed: 5.00% of units change version (main → canary 5.00%)');
    expect(JSON.parse(cli(['diff', good, next, '--json']).out)).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('names the document it refuses', () => {
    expect(cli(['diff', good, bad])).toMatchObject({ status: 1, out: '', err: expect.stringMatching(new RegExp(`^${bad.replace(/[.\\/]/g, '\\$&')}: refused, 12 issues`)) });
    expect(cli(['diff', bad, good]).err).toMatch(/bad\.json: refused/);
  });
});

describe('gearshift route', () => {
  const router = new Router(compileTables(validateConfig(CONFIG)));

  it('gives the decision the router gives, with why and every param it reads', () => {
    for (const unit of ['alice', 'bob', 'qa-alice']) {
      const d = router.route('feed', unit);
      const params = Object.entries({ recallDepth: 400, ...(d.arm('rank') === 'v2' && { model: 'ranker-v2' }) }).sort();
      expect(cli(['route', good, 'feed', unit])).toEqual({ status: 0, out: `${d.explain()}\n${params.map(([k, v]) => `  ${k} = ${JSON.stringify(v)}\n`).join('')}`, err: '' });
    }
    // no unit: the documented deterministic outcome
    expect(cli(['route', good, 'feed']).out).toBe(`${router.route('feed').explain()}\n  recallDepth = 400\n`);
  });

  it('takes the hints as trusted, and answers a rejection as a decision', () => {
    expect(cli(['route', good, 'feed', 'bob', '--explicit', 'wip']).out).toMatch(/^feed@wip \(dev\): explicit /);
    expect(cli(['route', good, 'feed', 'bob', '--load-test']).out).toMatch(/^feed@soak \(lt\): load_test /);
    expect(cli(['route', good, 'search', 'bob'])).toMatchObject({ status: 0, out: 'rejected "search": not_deployed config=demo-5\n' });
    const json = JSON.parse(cli(['route', good, 'feed', 'qa-alice', '--json']).out);
    expect(json).toMatchObject({ scene: 'feed', version: 'wip', reason: 'whitelist', ok: true, params: { recallDepth: 400 } });
  });
});

describe('the README', () => {
  it('shows what diff and route print', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = readme.slice(readme.indexOf('$ npx gearshift diff current.json next.json\n'));
    const shown = block.slice(0, block.indexOf('```')).split(/^\$ npx gearshift .*\n/m).slice(1);
    expect(shown).toEqual([cli(['diff', good, next]).out, cli(['route', next, 'feed', 'alice']).out]);
  });
});

describe('gearshift schema', () => {
  it('writes the config’s JSON Schema', () => {
    const r = cli(['schema']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toEqual(configJsonSchema());
  });
});

describe('usage errors', () => {
  it('exit 2 with the usage, or with the reason alone for a file it cannot read', () => {
    const cases: [string[], RegExp][] = [
      [[], /a command is missing/],
      [['chek', good], /unknown command "chek"/],
      [['check'], /check takes one file or more/],
      [['check', good, '--jsn'], /Unknown option '--jsn'/],
      [['check', good, '--explicit', 'wip'], /--explicit is an option of route, not of check/],
      [['diff', good], /diff takes two files/],
      [['route', good], /route takes a file, a scene/],
      [['route', good, 'feed', '--explicit'], /argument missing|--explicit/],
      [['schema', good], /schema takes no file/],
      [['diff', '-', '-'], /standard input \(-\) can be read once/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args, JSON.stringify(CONFIG));
      expect([r.status, r.out], args.join(' ')).toEqual([2, '']);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err, args.join(' ')).toContain(USAGE);
    }
    const missing = cli(['check', join(dir, 'nope.json')]);
    expect(missing).toMatchObject({ status: 2, out: '' });
    expect(missing.err).toMatch(/^gearshift: cannot read .*nope\.json: ENOENT/);
    expect(missing.err).not.toContain('usage:');
    expect(cli(['--help'])).toEqual({ status: 0, out: `${USAGE}\n`, err: '' });
  });
});
