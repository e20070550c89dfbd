/**
 * Review of the simulator (`gearshift/simulate`) from the side of an SRE tuning a regulator config offline. Each test
 * is one fault, written as the behaviour that should hold: every one of them fails on the code as reviewed.
 * Runs that could hang or crash the process run in a child process with a time limit (needs `npm run build`: dist/).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import type { ControllerKind } from '../src/simulate/controllers.js';
import { metricsOf } from '../src/simulate/metrics.js';
import { feedScene } from '../src/simulate/model.js';
import { type RunResult, runScenario, type Second } from '../src/simulate/run.js';
import type { Scenario } from '../src/simulate/scenario.js';
import { scenarios } from '../src/simulate/scenarios.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = new URL('../dist/esm/simulate/index.js', import.meta.url).href;

const base = (o: Partial<Scenario> = {}): Scenario => ({
  name: 'review', description: 'a checkout scene', servers: 4, durationS: 20, disturbAt: 5, dropAt: 15,
  scenes: [{ id: 'checkout', baseMs: 20, config: feedScene('checkout', { rtBudgetMs: 100 }) }],
  rate: () => 100,
  ...o,
});
const total = (r: RunResult, f: (s: Second) => number, from = 0, to = r.seconds.length) => r.seconds.slice(from, to).reduce((a, s) => a + f(s), 0);

/** Either a result, or a UsageError naming `field`: never another error (a TypeError from deep inside). */
function resultOrUsageError<T>(field: string, f: () => T): T | UsageError {
  try {
    return f();
  } catch (e) {
    expect(e, `${field}: ${(e as Error).message}`).toBeInstanceOf(UsageError);
    expect((e as Error).message).toContain(field);
    return e as UsageError;
  }
}

/** Runs `code` (an ES module importing the built simulator as `sim`) in a child process, killed after `ms`. */
function child(code: string, ms: number) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import * as sim from ${JSON.stringify(DIST)};\n${code}`], { encoding: 'utf8', timeout: ms, cwd: ROOT });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}`, timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' };
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/simulate.mjs', ...args], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('arrivals', () => {
  it('a scene whose rate is 0 at t = 0 still gets its traffic once the rate rises', () => {
    // Ramp-ups and scenes that start cold are ordinary scenarios; today the first draw (mean 1e12 ms) means no request ever arrives.
    const r = runScenario(base({ rate: (_s, t) => (t < 1 ? 0 : 100) }), 'none');
    expect(total(r, (s) => s.offered)).toBeGreaterThan(1700); // ~1900 expected over 19 s at 100 req/s
  });

  it('the same seed offers every controller the same arrivals, second by second', () => {
    // A side-by-side table is only a comparison if the three controllers face the same traffic; one RNG stream for
    // arrivals, load-test draws and service noise makes the shedder (which draws no noise for a refused request) see other arrivals.
    const sc = { ...scenarios().find((s) => s.name === 'step 10x, no preset')!, durationS: 90 };
    const offered = (k: ControllerKind) => runScenario(sc, k).seconds.map((s) => s.offered);
    expect(offered('shedder')).toEqual(offered('none'));
  });
});

describe('the scenes the engine accepts', () => {
  it('serves a scene without points (which the engine accepts) at its baseMs, instead of dropping every request', () => {
    // A config usually holds plain routing scenes beside regulated ones; here their cost 0/0 = NaN poisons the server heap.
    const sc = base({ scenes: [{ id: 'plain', baseMs: 20, config: { versions: { base: { stage: 'base' } } } }] });
    const r = runScenario(sc, 'none');
    expect(total(r, (s) => s.completed)).toBeGreaterThan(0.95 * total(r, (s) => s.offered));
  });
});

describe('scenario functions and fields are checked, naming the field', () => {
  it('refuses a slowdown that returns NaN or a negative factor, naming scenario.slowdown', () => {
    // NaN today makes every request vanish (0 completed of 2060), a negative factor gives negative service times: silently wrong tables.
    for (const f of [() => NaN, () => -1]) {
      expect(() => runScenario(base({ slowdown: f }), 'none')).toThrow(UsageError);
      expect(() => runScenario(base({ slowdown: f }), 'none')).toThrow(/scenario\.slowdown/);
    }
  });

  it('refuses a loadTestShare outside [0, 1] or NaN, naming scenario.loadTestShare', () => {
    // rate() is checked per call; its sibling is not: 5 silently makes all traffic load test, NaN silently none.
    for (const f of [() => NaN, () => 5]) {
      expect(() => runScenario(base({ loadTestShare: f }), 'none')).toThrow(/scenario\.loadTestShare/);
    }
  });

  it('a scenario runScenario accepts can be measured: dropAt past the end or a fractional disturbAt is refused, not a TypeError in metricsOf', () => {
    // checkScenario accepts both; metricsOf then reads r.seconds[5.5].changes / r.seconds[20].changes and throws a TypeError.
    for (const [field, change] of [['dropAt', { dropAt: 100 }], ['disturbAt', { disturbAt: 5.5 }]] as const) {
      const sc = base(change);
      resultOrUsageError(field, () => {
        const r = runScenario(sc, 'gearshift');
        return metricsOf(r, sc.disturbAt, sc.dropAt, sc.phases);
      });
    }
  });

  it('refuses a disturbAt at or past durationS, instead of reporting 0% goodput and 100% quality lost', () => {
    // A typo in seconds (600 for 60) today yields a plausible-looking, entirely empty measurement.
    const sc = base({ disturbAt: 100, dropAt: undefined });
    expect(() => runScenario(sc, 'gearshift')).toThrow(/scenario\.disturbAt/);
  });

  it('refuses malformed phases, naming scenario.phases', () => {
    // phases feed the convergence and oscillation figures; ['a', null] or an unsorted list are silently ignored today.
    expect(() => runScenario(base({ phases: ['a', null] as unknown as number[] }), 'gearshift')).toThrow(/scenario\.phases/);
    expect(() => runScenario(base({ phases: [15, 5] }), 'gearshift')).toThrow(/scenario\.phases/);
  });

  it('refuses a startWall outside the Date range, naming scenario.startWall, instead of a RangeError from the schedules', () => {
    // Number.isFinite(1e20) passes; the regulator's wall clock then throws "Invalid time value" with no field named.
    const sc = base({ startWall: 1e20, regulator: { schedules: [{ at: '20:00:00', mode: 'auto' }] } });
    expect(() => runScenario(sc, 'gearshift')).toThrow(/scenario\.startWall/);
  });

  it('does not alias seeds modulo 2^32: a seed past 32 bits is refused or gives another run', () => {
    // A seed sweep over large integers would silently repeat runs (42 and 42 + 2^32 are bit-for-bit the same).
    const sc = base({ durationS: 10 });
    const a = runScenario({ ...sc, seed: 42 }, 'none').seconds.map((s) => s.offered);
    const b = resultOrUsageError('seed', () => runScenario({ ...sc, seed: 42 + 2 ** 32 }, 'none'));
    if (!(b instanceof UsageError)) expect(b.seconds.map((s) => s.offered)).not.toEqual(a);
  });
});

describe('huge inputs: a clear error, never a hang or a crash', () => {
  it('refuses a huge servers count with a UsageError instead of a fatal V8 crash of the whole process', () => {
    // servers: 1e9 passes the check, then the heap's array hits V8's size limit: "Fatal JavaScript invalid size error", uncatchable.
    const r = child(
      `try { sim.runScenario({ name: 'x', description: '', scenes: [{ id: 'feed', baseMs: 20, config: sim.feedScene() }], servers: 1e9, durationS: 1, disturbAt: 0, rate: () => 1 }, 'none'); console.log('RAN'); }
       catch (e) { console.log(e.name, e.message); }`,
      30_000,
    );
    expect(r.out).toMatch(/UsageError.*scenario\.servers/);
  }, 40_000);

  it('refuses a huge rate promptly, naming the rate, instead of simulating 1e9 events per second', () => {
    // rate() is checked only for NaN/negative/Infinity: 1e9 req/s for one second runs for many minutes and then runs out of memory.
    const r = child(
      `try { sim.runScenario({ name: 'x', description: '', scenes: [{ id: 'feed', baseMs: 20, config: sim.feedScene() }], servers: 8, durationS: 1, disturbAt: 0, rate: () => 1e9 }, 'none'); console.log('RAN'); }
       catch (e) { console.log(e.name, e.message); }`,
      10_000,
    );
    expect(r.timedOut).toBe(false);
    expect(r.out).toMatch(/UsageError.*scenario\.rate/);
  }, 20_000);
});

describe('accounting', () => {
  it('accounts for every offered request: offered = rejected + completed (+ still in flight at the end)', () => {
    // Under overload to the end, 242 of 10,100 requests (2.4%) are in no column: their completion falls past the last second.
    const sc = base({ scenes: [{ id: 'feed', baseMs: 40, config: feedScene('feed') }], servers: 8, durationS: 10, disturbAt: 0, dropAt: undefined, rate: () => 1000 });
    const r = runScenario(sc, 'none');
    const inFlight = (r as unknown as { inFlight?: number }).inFlight ?? 0;
    expect(total(r, (s) => s.rejected) + total(r, (s) => s.completed) + inFlight).toBe(total(r, (s) => s.offered));
  });

  it('counts load-test arrivals in what rate() offers (and their sheds), as the README defines rate and the shed column', () => {
    // README: rate(scene, t) is the offered req/s and "gearshift sheds 9.6% (load-test traffic, then …)"; the trace drops
    // load-test traffic entirely (beyond the floor: 12,797 load-test requests shed, none in `rejected`).
    const r = runScenario(base({ loadTestShare: () => 0.5 }), 'none');
    expect(total(r, (s) => s.offered)).toBeGreaterThan(0.9 * 100 * 20);
  });

  it('counts load-test work in the simulated process utilisation, as the engine counts it in process load', () => {
    // Load tests occupy the servers but their busy time is not recorded: ELU reads 0.375 instead of ~0.75 with half the
    // traffic load test, so the regulator's process goal (the default ELU goal) is blind to it, unlike in production.
    const sc = (lt: number) => base({ scenes: [{ id: 'feed', baseMs: 40, config: feedScene('feed') }], servers: 8, durationS: 30, disturbAt: 0, dropAt: undefined, rate: () => 150, loadTestShare: () => lt });
    const elu = (r: RunResult) => total(r, (s) => s.elu, 5) / (r.seconds.length - 5);
    expect(elu(runScenario(sc(0.5), 'none'))).toBeCloseTo(elu(runScenario(sc(0), 'none')), 1);
  });

  it('records the controller state in every second when regulator.periodMs is over 1000 ms', () => {
    // With periodMs 2000 only every other second gets degraded/elu/inBand: a phase degraded throughout reads half
    // undegraded, ELU 0 in half the seconds, and converged/recovery change for no reason in the service.
    const t = scenarios().find((s) => s.name === 'step 10x, no preset')!;
    const r = runScenario({ ...t, regulator: { periodMs: 2000 } }, 'gearshift');
    const phase = r.seconds.slice(90, 180);
    expect(phase.filter((s) => s.degraded).length).toBe(phase.length);
    expect(phase.filter((s) => s.elu === 0).length).toBe(0);
  });
});

describe('metrics', () => {
  it('takes p99 by nearest rank, as the engine and the simulator\'s own sensing do: one slow request in 100 is not the p99', () => {
    // metrics.ts quantile indexes floor(p·n): the maximum for 100 samples, the off-by-one window.ts fixed for sensing.
    const rts = [...Array.from({ length: 99 }, () => 10), 1000];
    const seconds: Second[] = Array.from({ length: 10 }, () => ({ offered: 100, rejected: 0, completed: 100, timeouts: 1, good: 99, value: 99, fullValue: 99, rts, elu: 0.5, degraded: false, boosted: false, changes: 0 }));
    const run: RunResult = { scenario: 'synthetic', controller: 'none', seconds, budgetMs: 200, target: 0.01, band: 0.25 };
    expect(metricsOf(run, 0, undefined).peakP99Ms).toBe(10);
  });
});

describe('the public surface', () => {
  it('metricsOf(run, disturbAt) compiles in strict TypeScript: dropAt is optional as the README documents', () => {
    // README: `metricsOf(run, disturbAt, dropAt?, phases?)`; the declaration makes dropAt required (`number | undefined`),
    // so the night scenario's natural call fails with TS2554.
    const file = `${ROOT}test/__sim_review_types.ts`;
    const source = `import { metricsOf, runScenario, scenarios } from '../src/simulate/index.js';
const night = scenarios().find((s) => s.name.startsWith('night'))!;
export const m = metricsOf(runScenario(night, 'gearshift'), night.disturbAt);`;
    const options: ts.CompilerOptions = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: ['node'] };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    host.readFile = (f) => (f === file ? source : read(f));
    const exists = host.fileExists.bind(host);
    host.fileExists = (f) => f === file || exists(f);
    const program = ts.createProgram([file], options, host);
    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(errors).toEqual([]);
  });

  it('scenarios() hands out scenarios that do not share one mutable scene config', () => {
    // Tuning a goal on one returned scenario (sc.scenes[0].config.goals…) silently changes every other scenario, and
    // every later scenarios() call in the process, since all feed scenes are one module-level object.
    const a = scenarios();
    const goals = a[0]!.scenes[0]!.config.goals as { timeoutRate: { target: number } };
    const before = goals.timeoutRate.target;
    try {
      goals.timeoutRate.target = 0.05;
      expect((scenarios()[2]!.scenes[0]!.config.goals as { timeoutRate: { target: number } }).timeoutRate.target).toBe(before);
      expect((a[2]!.scenes[0]!.config.goals as { timeoutRate: { target: number } }).timeoutRate.target).toBe(before);
    } finally {
      goals.timeoutRate.target = before;
    }
  });
});

describe('the CLI (scripts/simulate.mjs)', () => {
  it('--only with a name that matches no scenario fails, naming it, instead of printing no table and exiting 0', () => {
    // A typo in CI (`--only sawteeth`) today passes with nothing measured.
    const r = cli('--only', 'no such scenario');
    expect(r.status).not.toBe(0);
    expect(r.err).toContain('no such scenario');
  }, 60_000);

  it('refuses an unknown option or --only without a value, instead of silently running every scenario', () => {
    // `--jsn` or a trailing `--only` run the whole table (≈5 s) as if nothing had been asked.
    for (const args of [['--jsn'], ['--only']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
    }
  }, 60_000);
});
