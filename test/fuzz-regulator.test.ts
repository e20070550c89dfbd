/**
 * Seeded random operation of a running engine's regulator: traffic and ticks mixed with the run-time commands
 * (`setMode`, `setCaps`, `setFixed`, `setGoalSet`, `setFastRecovery`, `applyTemplate`), `restore` of mutated
 * snapshots and reloads that drop points and gears, each given well-formed or hostile input. Whatever arrives:
 * - a command either applies or throws `UsageError`, and a refused one changes nothing;
 * - every gear, cap and pin stays on its point's ladder, every allowance and shed share in range, and the handlers'
 *   `decision.gear()` reads a configured value;
 * - a tick never throws and reports finite figures.
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift, type Gearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { MODES } from '../src/config/schema-regulate.js';
import { anyChar, FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';
import { hostile, mutateOnce, shownValue } from './fuzz-mutate.js';
import type { GearshiftConfig } from '../src/config/schema.js';

const config = (variant = 0): GearshiftConfig => ({
  version: `reg-${variant}`,
  scenes: {
    feed: {
      rtBudgetMs: 100,
      versions: { main: { stage: 'base' as const }, soak: { stage: 'lt' as const } },
      points: {
        recall: { gears: variant === 1 ? [200, 400] : [200, 400, 800, 1600], floor: 1, boost: variant === 1 ? 0 : 1 },
        ...(variant === 2 ? {} : { model: { gears: ['tiny', 'small', 'large'], cost: [1, 3, 9] } }),
      },
      goals: { timeoutRate: { target: 0.01 }, p99RtMs: { target: 90 } },
    },
    fund: { rtBudgetMs: 50, priority: 'low' as const, versions: { v1: { stage: 'base' as const } }, points: { creatives: { gears: [1, 2, 3, 4] } } },
  },
  regulator: {
    goals: {},
    goalSets: { peak: { scenes: { feed: { timeoutRate: { target: 0.05 } } } } },
    templates: { low: { fund: { creatives: 0 } } },
    shedding: { enabled: true, priorities: ['low'] },
  },
});

/** Point → its gear values, in the config the engine now holds. */
const laddersOf = (gs: Gearshift) =>
  Object.fromEntries(Object.entries(gs.config.scenes).map(([id, s]) => [id, Object.fromEntries(Object.entries(s.points ?? {}).map(([p, c]) => [p, c.gears]))]));

function gearSet(r: Rng, gs: Gearshift): unknown {
  if (r.chance(0.1)) return hostile(r);
  const ladders = laddersOf(gs);
  const set: Record<string, unknown> = {};
  for (let i = r.int(3); i > 0; i--) {
    const scene = r.chance(0.85) ? r.pick(Object.keys(ladders)) : r.pick(['nope', '__proto__', '']);
    const points: Record<string, unknown> = {};
    for (let j = r.int(3); j > 0; j--) {
      const names = Object.keys(ladders[scene] ?? {});
      const point = names.length > 0 && r.chance(0.85) ? r.pick(names) : r.pick(['nope', 'constructor']);
      const top = (ladders[scene]?.[point]?.length ?? 3) - 1;
      points[point] = r.chance(0.85) ? r.int(top + 1) : r.pick<unknown>([-1, top + 1, 1.5, NaN, '1', null, 2 ** 31]);
    }
    set[scene] = r.chance(0.95) ? points : hostile(r);
  }
  return set;
}

/** One operator action, well-formed or hostile; returns its name for the failure message. */
function command(gs: Gearshift, r: Rng, snapshots: unknown[]): [string, () => unknown] {
  const reg = gs.regulator;
  switch (r.int(8)) {
    case 0: {
      const mode = r.chance(0.8) ? r.pick(MODES) : hostile(r);
      return [`setMode(${shownValue(mode)})`, () => reg.setMode(mode as never)];
    }
    case 1: {
      const set = gearSet(r, gs);
      return [`setCaps(${shownValue(set)})`, () => reg.setCaps(set as never)];
    }
    case 2: {
      const set = gearSet(r, gs);
      return [`setFixed(${shownValue(set)})`, () => reg.setFixed(set as never)];
    }
    case 3: {
      const name = r.chance(0.8) ? r.pick(['peak', 'default', null]) : r.chance(0.5) ? r.chars(r.length(20), anyChar) : hostile(r);
      return [`setGoalSet(${shownValue(name)})`, () => reg.setGoalSet(name as never)];
    }
    case 4: {
      const on = r.chance(0.8) ? r.chance(0.5) : hostile(r);
      const ms = r.chance(0.7) ? undefined : r.chance(0.5) ? r.int(600_000) : hostile(r);
      return [`setFastRecovery(${shownValue(on)}, ${shownValue(ms)})`, () => reg.setFastRecovery(on as never, ms as never)];
    }
    case 5: {
      const name = r.chance(0.8) ? 'low' : r.chance(0.5) ? r.pick(['nope', '__proto__', 'constructor', 'toString']) : hostile(r);
      return [`applyTemplate(${shownValue(name)})`, () => reg.applyTemplate(name as never)];
    }
    case 6: {
      // A snapshot of now or of an earlier moment (perhaps of another config), mutated or not.
      const snap: unknown = JSON.parse(JSON.stringify(r.chance(0.5) || snapshots.length === 0 ? reg.snapshot() : r.pick(snapshots)));
      const changes = r.chance(0.8) ? Array.from({ length: 1 + r.int(2) }, () => mutateOnce(snap, r)) : [];
      return [`restore(snapshot ${changes.map((c) => `${c.path.join('.')} ${c.what}`).join('; ') || 'as taken'})`, () => reg.restore(snap as never)];
    }
    default: {
      const variant = r.int(3);
      return [`reload(variant ${variant})`, () => gs.reload(config(variant))];
    }
  }
}

/** Gears, caps and pins on their ladders; allowances and shares in range; gears read as configured values. */
function checkSane(gs: Gearshift, where: () => string): void {
  const snap = gs.regulator.snapshot();
  const ladders = laddersOf(gs);
  const onLadder = (g: unknown, n: number) => Number.isInteger(g) && (g as number) >= 0 && (g as number) < n;
  for (const [id, s] of Object.entries(snap.scenes)) {
    for (const [p, gears] of Object.entries(ladders[id] ?? {})) {
      for (const k of ['gears', 'live'] as const) if (!onLadder(s[k][p], gears.length)) throw new Error(`${where()}: ${id}.${k}.${p} = ${s[k][p]} off its ladder of ${gears.length}`);
      for (const k of ['caps', 'pins'] as const) if (s[k][p] !== undefined && !onLadder(s[k][p], gears.length)) throw new Error(`${where()}: ${id}.${k}.${p} = ${s[k][p]}`);
    }
    if (!(s.allowance >= 0 && s.allowance < Infinity)) throw new Error(`${where()}: ${id}.allowance = ${s.allowance}`);
    if (!(s.shedShare >= 0 && s.shedShare <= 1)) throw new Error(`${where()}: ${id}.shedShare = ${s.shedShare}`);
    const d = gs.route(id, 'u1');
    for (const [p, gears] of Object.entries(ladders[id] ?? {})) {
      if (!(gears as unknown[]).includes(d.gear(p))) throw new Error(`${where()}: ${id} decision.gear(${p}) = ${String(d.gear(p))}`);
    }
  }
  if (!(snap.processAllowance >= 0 && snap.processAllowance < Infinity)) throw new Error(`${where()}: processAllowance = ${snap.processAllowance}`);
}

/** Every number in a tick report is finite, or NaN where a goal has no measurement yet. */
function checkFinite(x: unknown, path: string, where: () => string): void {
  if (typeof x === 'number') {
    if (x === Infinity || x === -Infinity) throw new Error(`${where()}: tick report ${path} = ${x}`);
  } else if (x !== null && typeof x === 'object') for (const [k, v] of Object.entries(x)) checkFinite(v, `${path}.${k}`, where);
}

const state = (gs: Gearshift) => JSON.stringify({ ...gs.regulator.snapshot(), at: 0 });

describe('operating the regulator with any input (seeded fuzz)', () => {
  it('refuses bad commands whole, and keeps every gear on its ladder through traffic, ticks, restores and reloads', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    const clock = new ManualClock(0, Date.UTC(2026, 10, 21));
    const gs = createGearshift({ config: config(), clock });
    const r = new Rng(FUZZ_SEED + 3);
    const snapshots: unknown[] = [];
    const tally = { applied: 0, refused: 0, ticks: 0 };
    const byLaw = new Set<string>(); // what the control law itself moved: the fuzz drove it, not only the commands
    gs.regulator.on('change', (c) => {
      if (c.reason === 'violated' || c.reason === 'headroom') byLaw.add(c.reason);
    });
    try {
      for (let i = 0, n = fuzzCases(1500); i < n; i++) {
        if (r.chance(0.4)) {
          // Traffic at a random rate and RT, then a tick: drives the goals, shedding and boost.
          const rt = r.pick([5, 40, 80, 150, 400]);
          for (let k = r.int(60); k > 0; k--) {
            const d = gs.route(r.chance(0.7) ? 'feed' : 'fund', `u${r.int(1000)}`, r.chance(0.05) ? { loadTest: true, trusted: true } : null);
            gs.complete(d, r.pick(['success', 'success', 'error', 'timeout']), rt * (0.5 + r.next()));
          }
          clock.advance(r.pick([100, 1000, 1000, 5000, 60_000]));
          const where = () => replay('tick', i);
          const report = gs.regulator.tick();
          checkFinite(report, 'report', where);
          tally.ticks++;
          checkSane(gs, where);
          if (r.chance(0.2)) snapshots.push(gs.regulator.snapshot());
          continue;
        }
        const [what, run] = command(gs, r, snapshots);
        const where = () => `${replay('command', i)}: ${what}`;
        const before = state(gs);
        try {
          run();
          tally.applied++;
        } catch (e) {
          if (!(e instanceof UsageError)) throw new Error(`${where()}: threw ${String(e)} instead of a UsageError`, { cause: e });
          expect(state(gs), `${where()}: refused, yet the regulator changed`).toBe(before);
          tally.refused++;
        }
        checkSane(gs, where);
      }
    } finally {
      gs.close();
      vi.useRealTimers();
    }
    expect(tally.applied).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(100);
    expect(tally.ticks).toBeGreaterThan(100);
    expect([...byLaw].sort()).toEqual(['headroom', 'violated']); // cuts and raises by the goals, between the commands
  });
});
