/**
 * The operator's view (twenty-seventh session): `engineStatus` as JSON-ready data, `statusPage` as one HTML page,
 * each point's gear curve rebuilt from the change history.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { UsageError } from '../src/errors.js';
import { curvePoints, gearCurve } from '../src/observe/gear-curve.js';
import { engineStatus } from '../src/observe/status.js';
import { statusPage } from '../src/observe/status-page.js';
import type { GearChange } from '../src/regulate/events.js';

const START = Date.UTC(2026, 10, 22, 12);

/** feed (two versions, two points, a 1% timeout goal) and search, hosted; ads declared but served elsewhere. */
function rig(regulator: Record<string, unknown> = {}) {
  const clock = new ManualClock(0, START);
  const engine = createGearshift({
    clock,
    config: {
      version: 'status-1',
      deployedHere: ['feed', 'search'],
      regulator,
      scenes: {
        feed: {
          rtBudgetMs: 100,
          versions: { main: { stage: 'base' }, canary: { stage: 'up' }, wip: { stage: 'dev' } },
          split: [{ version: 'canary', weight: 10 }, { version: 'main', weight: 90 }],
          points: { recall: { gears: [100, 200, 400, 800] }, model: { gears: ['<i>small</i>', '<b>large</b>'] } },
        },
        search: { priority: 'low', versions: { v1: { stage: 'base' } }, points: { topK: { gears: [10, 20, 50] } } },
        ads: { versions: { v1: { stage: 'base' } } },
      },
    },
  });
  /** One second of feed traffic (`slow`: a tenth of it past the budget), then a tick. */
  const second = (slow: boolean) => {
    for (let i = 0; i < 200; i++) engine.complete(engine.route('feed', `u${i}`), 'success', slow && i % 10 === 0 ? 150 : 30);
    clock.advance(1000);
    engine.regulator.tick();
  };
  return { clock, engine, second };
}

describe('engineStatus', () => {
  it('shows the hosted scenes, their versions’ traffic, gears, goals and changes; nothing before the first tick', () => {
    const { engine, second } = rig();
    const before = engineStatus(engine);
    expect(before.scenes.map((s) => s.scene)).toEqual(['feed', 'search']); // ads is not deployed here
    expect(before.tickAt).toBeNull();
    expect(before.scenes[0]).toMatchObject({ traffic: null, allowance: null, value: null, goals: [], changes: [] });
    expect(before.scenes[0]!.versions.map((v) => [v.version, v.stage, v.splitPercent, v.requests, v.timeoutRatio, v.p99Ms])).toEqual([['main', 'base', 90, 0, null, null], ['canary', 'up', 10, 0, null, null], ['wip', 'dev', null, 0, null, null]]);
    expect(before.scenes[1]!.versions.map((v) => [v.version, v.splitPercent])).toEqual([['v1', 100]]); // no split: base takes all
    for (let t = 0; t < 5; t++) second(true);
    const s = engineStatus(engine);
    expect(s).toMatchObject({ configVersion: 'status-1', mode: 'auto', goalSet: null, fastRecovery: false, startedAt: START, at: START + 5000, tickAt: START + 5000 });
    const feed = s.scenes[0]!;
    expect(feed.traffic!.requests).toBe(1000);
    expect(feed.traffic!.timeoutRatio).toBeCloseTo(0.1, 5);
    expect(feed.versions.reduce((n, v) => n + v.requests, 0)).toBe(1000);
    expect(feed.goals.map((g) => [g.goal, g.status])).toEqual([['timeoutRate', 'violated']]);
    expect(feed.points.some((p) => p.gear < p.top)).toBe(true); // 10% timeouts against a 1% goal: cut
    for (const p of feed.points) expect(p.value).toBe((engine.config.scenes.feed!.points as Record<string, { gears: unknown[] }>)[p.point]!.gears[p.gear]);
    const history = engine.regulator.changes().filter((c) => c.scene === 'feed');
    expect(feed.changes).toHaveLength(Math.min(10, history.length));
    expect(feed.changes[0]).toMatchObject({ at: history.at(-1)!.at, point: history.at(-1)!.point, to: history.at(-1)!.to, reason: 'violated', goal: 'timeoutRate' });
    // Plain data: what JSON keeps is all there is (no NaN, no undefined, no class).
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    engine.close();
  });

  it('draws each point’s served gear from the history, back to the engine’s start or the history’s, whichever is later', () => {
    const { engine, second } = rig();
    for (let t = 0; t < 3; t++) second(true);
    for (let t = 0; t < 40; t++) second(false);
    const s = engineStatus(engine, { scenes: ['feed'] });
    const recall = s.scenes[0]!.points.find((p) => p.point === 'recall')!;
    expect(recall.curve[0]).toEqual([START, 3]); // from the start, at the top
    const mine = engine.regulator.changes().filter((c) => c.point === 'recall');
    expect(recall.curve.slice(1).map(([, g]) => g)).toEqual(collapse(mine).map((c) => c.to));
    expect(recall.curve.at(-1)![1]).toBe(recall.gear);
    // A short span starts later; a history that has wrapped starts at its oldest entry.
    expect(engineStatus(engine, { curveS: 5 }).scenes[0]!.points[0]!.curve[0]![0]).toBe(s.at - 5000);
    const small = rig({ historySize: 2 });
    for (let t = 0; t < 3; t++) small.second(true);
    const oldest = small.engine.regulator.changes()[0]!;
    expect(engineStatus(small.engine).scenes[0]!.points.map((p) => p.curve[0]![0])).toEqual([oldest.at, oldest.at]);
    engine.close();
    small.engine.close();
  });

  it('shows in shadow mode the gears requests get, and what the regulator computed beside them', () => {
    const { engine, second } = rig({ mode: 'shadow' });
    for (let t = 0; t < 5; t++) second(true);
    const feed = engineStatus(engine).scenes[0]!;
    for (const p of feed.points) {
      expect(p.gear).toBe(p.top); // shadow moves reach no request
      expect(p.curve).toEqual([[START, p.top]]);
    }
    expect(feed.points.some((p) => p.computed! < p.top)).toBe(true);
    expect(feed.changes.every((c) => !c.applied)).toBe(true);
    engine.close();
  });

  it('takes scenes by id (one not deployed here too; unknown ones are passed over, a repeated one shown once) and a number of changes', () => {
    const { engine, second } = rig();
    for (let t = 0; t < 5; t++) second(true);
    const s = engineStatus(engine, { scenes: ['ads', 'nope', 'feed', '__proto__', 'ads'], changes: 2 });
    expect(s.scenes.map((x) => [x.scene, x.hosted])).toEqual([['ads', false], ['feed', true]]);
    expect(s.scenes[1]!.changes).toHaveLength(2);
    expect(engineStatus(engine, { changes: 0 }).scenes[0]!.changes).toEqual([]);
    engine.close();
  });

  it('refuses a wrong option or engine with a UsageError that names it', () => {
    const { engine } = rig();
    const cases: [unknown, RegExp][] = [
      [{ scene: ['feed'] }, /unknown option "scene"|scene/],
      [{ scenes: 'feed' }, /scenes: expected an array/],
      [{ scenes: [1] }, /scenes: expected an array/],
      [{ changes: -1 }, /changes: expected an integer 0–1000/],
      [{ changes: 1.5 }, /changes/],
      [{ curveS: 0 }, /curveS: expected seconds 1–86400/],
      [{ curveS: NaN }, /curveS/],
      [null, /options must be an object/],
    ];
    for (const [options, message] of cases) {
      expect(() => engineStatus(engine, options as never)).toThrow(UsageError);
      expect(() => engineStatus(engine, options as never)).toThrow(message);
    }
    expect(() => engineStatus({} as never)).toThrow(/engine from createGearshift/);
    expect(() => statusPage(engine, { refreshS: -1 })).toThrow(/refreshS: expected seconds 0–3600/);
    expect(() => statusPage(engine, { refreshS: '5' as never })).toThrow(UsageError);
    expect(() => statusPage(engine, { details: 'no' as never })).toThrow(/details: expected true or false/);
    expect(() => engineStatus(engine, { details: false } as never)).toThrow(/details/); // statusPage's alone
    engine.close();
  });
});

describe('the last reload', () => {
  it('is shown with its release diff once one took; a refused one changes nothing', () => {
    const { clock, engine } = rig();
    expect(engineStatus(engine).lastReload).toBeNull();
    clock.advance(5000);
    const next = structuredClone(engine.config) as any;
    next.version = 'status-2';
    next.scenes.feed.rtBudgetMs = 120;
    const diff = engine.reload(next);
    const expected = { at: START + 5000, from: 'status-1', to: 'status-2', diff: diff.toString() };
    expect(engineStatus(engine).lastReload).toEqual(expected);
    expect(expected.diff).toMatch(/rtBudgetMs/);
    clock.advance(1000);
    expect(() => engine.reload({ ...next, version: 'status-3', scenes: {} })).toThrow();
    expect(engineStatus(engine).lastReload).toEqual(expected);
    expect(statusPage(engine)).toContain(`<summary>last reload 12:00:05Z: status-1 → status-2</summary><pre>${diff.toString().replace(/"/g, '&quot;')}</pre>`);
    engine.close();
  });
});

describe('the defaults', () => {
  it('are the ones the README gives', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Status page'));
    const defaultOf = (name: string) => Number(table.match(new RegExp(`^\\| \`${name}\` \\| (\\d+) \\|`, 'm'))![1]);
    const { clock, engine, second } = rig();
    clock.advance(700_000); // longer ago than the curve goes back
    for (let t = 0; t < 120; t++) second(t % 30 < 4);
    const s = engineStatus(engine);
    expect(engine.regulator.changes().filter((c) => c.scene === 'feed').length).toBeGreaterThan(defaultOf('changes'));
    expect(s.scenes[0]!.changes).toHaveLength(defaultOf('changes'));
    expect(s.scenes[0]!.points[0]!.curve[0]![0]).toBe(s.at - defaultOf('curveS') * 1000);
    expect(statusPage(engine)).toContain(`<meta http-equiv="refresh" content="${defaultOf('refreshS')}">`);
    engine.close();
  });
});

describe('statusPage', () => {
  it('is one page that loads nothing else and runs no script, with every config text escaped', () => {
    const { engine, second } = rig();
    for (let t = 0; t < 3; t++) second(true);
    const html = statusPage(engine);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
    expect(html).not.toMatch(/<script|src=/i);
    expect(html.match(/href="[^"]*"/g)).toEqual(['href="#scene-feed"', 'href="#scene-search"']); // links within the page only
    expect(html).not.toContain('<i>small</i>'); // a gear value from the config, not markup
    expect(html).toContain('<td>&lt;i&gt;small&lt;/i&gt;</td>'); // the gear it serves after the cut
    expect(html).toContain('<h2>feed ');
    expect(html).toContain('<polyline points="');
    expect(html).toMatch(/violated \(timeoutRate\)/);
    expect(statusPage(engine, { refreshS: 0 })).not.toContain('http-equiv="refresh"');
    expect(statusPage(engine, { scenes: [] })).toContain('No scene to show.');
    engine.close();
  });

  it('opens with a row per scene, linked to its section, the cut and shedding ones marked and counted', () => {
    const { engine, second } = rig();
    for (let t = 0; t < 1; t++) second(true);
    engine.regulator.scene('search')!.shedShare = 0.25; // as a tick sets it for a low-priority scene past its floor
    const html = statusPage(engine, { scenes: ['feed', 'search', 'ads'] });
    expect(html).toContain('<caption>3 scenes · 1 with a gear cut · 1 shedding · 0 exhausted</caption>');
    const rows = [...html.matchAll(/<tr( class="(\w+)")?><td><a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[4], m[2] ?? '', m[3]]);
    expect(rows).toEqual([['feed', 'cut', '#scene-feed'], ['search', 'shed', '#scene-search'], ['ads', '', '#scene-ads']]);
    for (const [, , href] of rows) expect(html).toContain(`<section id="${href!.slice(1)}"`);
    const feedRow = html.slice(html.indexOf('<td><a href="#scene-feed">'), html.indexOf('</tr>', html.indexOf('<td><a href="#scene-feed">')));
    expect(feedRow).toMatch(/<td class="n">100<\/td><td class="n">200\.0<\/td><td class="n">10\.0%<\/td>/); // budget, req/s, timeouts
    expect(feedRow).toMatch(/<td class="n">[12] of 2<\/td>/);
    expect(html.slice(html.indexOf('<td><a href="#scene-ads">'))).toMatch(/^[^\n]*?not deployed here<\/span><\/td><\/tr>/);
    // One scene: its section says it all.
    expect(statusPage(engine, { scenes: ['feed'] })).not.toContain('<caption>1 scene');
    engine.close();
  });

  it('without details is the summary alone, each scene linked to ?scene= with its id encoded', () => {
    const clock = new ManualClock(0, START);
    const odd = 'a:b.c_d-9'; // a scene id's characters outside letters and digits; ':' is percent-encoded
    const engine = createGearshift({ clock, config: { version: 'v', scenes: { [odd]: { versions: { v: { stage: 'base' } } }, plain: { versions: { v: { stage: 'base' } } } } } });
    const html = statusPage(engine, { details: false });
    expect(html).not.toContain('<section');
    expect(html).toContain('<caption>2 scenes · 0 with a gear cut · 0 shedding · 0 exhausted</caption>');
    const hrefs = html.match(/href="[^"]*"/g)!;
    expect(hrefs).toEqual([`href="?scene=${encodeURIComponent(odd)}"`, 'href="?scene=plain"']);
    expect(new URL(hrefs[0]!.slice(6, -1), 'http://x/gearshift').searchParams.get('scene')).toBe(odd);
    expect(html).toContain(`>${odd}</a>`);
    // with details, the same id is the section's anchor, as the link's fragment has it
    const full = statusPage(engine);
    expect(full).toContain(`<a href="#scene-${encodeURIComponent(odd)}">`);
    expect(full).toContain(`<section id="scene-${encodeURIComponent(odd)}">`);
    engine.close();
  });
});

describe('gear curves', () => {
  const change = (at: number, from: number, to: number, applied = true): GearChange =>
    ({ at, scene: 's', point: 'p', from, to, fromGear: from, toGear: to, reason: 'violated', allowance: 1, applied, mode: 'auto' }) as GearChange;

  it('keep the gear each tick ended on, leave out moves not applied, and show a move the history lacks at the next', () => {
    const history = [change(1000, 3, 2), change(1000, 2, 1), change(2000, 1, 0, false), change(3000, 1, 2), change(5000, 0, 1)];
    // the silent move from 2 to 0 between 3000 and 5000 shows as a step at 5000
    expect(gearCurve(history, 's', 'p', 1, 0)).toEqual([[0, 3], [1000, 1], [3000, 2], [5000, 1]]);
    expect(gearCurve(history, 's', 'p', 1, 4000)).toEqual([[4000, 0], [5000, 1]]);
    expect(gearCurve(history, 's', 'other', 2, 0)).toEqual([[0, 2]]);
  });

  it('are drawn as steps, gear 0 at the bottom, the last gear held to now', () => {
    expect(curvePoints([[0, 2], [50, 0]], 0, 100, 2, 100, 12)).toBe('0.0,1.0 50.0,1.0 50.0,11.0 100.0,11.0');
    expect(curvePoints([[0, 0]], 0, 100, 0, 100, 12)).toBe('0.0,11.0 100.0,11.0'); // a point of one gear
  });
});

/** The changes as the curve keeps them: the last of each tick. */
function collapse(changes: readonly GearChange[]): GearChange[] {
  const out: GearChange[] = [];
  for (const c of changes) {
    if (out.length > 0 && out.at(-1)!.at === c.at) out[out.length - 1] = c;
    else out.push(c);
  }
  return out.filter((c, i) => i === 0 || c.to !== out[i - 1]!.to);
}

describe('out of gears', () => {
  it('marks a scene exhausted once it is at its floor with a goal still violated, and only then', () => {
    const { engine, second } = rig();
    second(true);
    const cut = engineStatus(engine, { scenes: ['feed'] }).scenes[0]!;
    expect([cut.degraded, cut.atFloor, cut.exhausted]).toEqual([true, false, false]); // cut, with gears left
    for (let t = 0; t < 10; t++) second(true);
    const floor = engineStatus(engine, { scenes: ['feed', 'search'] });
    expect(floor.scenes[0]!.points.every((p) => p.gear === p.floor)).toBe(true);
    expect([floor.scenes[0]!.atFloor, floor.scenes[0]!.exhausted]).toEqual([true, true]);
    expect([floor.scenes[1]!.atFloor, floor.scenes[1]!.exhausted]).toEqual([false, false]); // search: at its top
    const html = statusPage(engine);
    expect(html).toContain('· 1 exhausted</caption>');
    expect(html).toContain('<span class="bad">exhausted: at its floor, a goal violated</span>');
    // the timeouts stop: still at the floor (the dwell), no longer exhausted
    second(false);
    for (let t = 0; t < 4; t++) second(false);
    const calm = engineStatus(engine, { scenes: ['feed'] }).scenes[0]!;
    expect(calm.goals[0]!.status).not.toBe('violated');
    expect(calm.exhausted).toBe(false);
    engine.close();
  });
});
