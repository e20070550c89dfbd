/**
 * The status page over configs whose free text is anything a config may hold: a config version, point names and gear
 * values of any characters a config takes (controls, quotes, angle brackets, astral ones). Whatever they hold, the page's only
 * markup is its own and the JSON document survives `JSON.stringify` whole.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { createGearshift } from '../src/engine.js';
import { engineStatus } from '../src/observe/status.js';
import { statusPage } from '../src/observe/status-page.js';
import { anyChar, FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';

/** The elements the page is made of: any other `<` in it came from the config. */
const OWN = /^<(\/?(html|head|meta|title|style|body|header|h1|h2|p|code|b|table|caption|tr|th|td|section|small|span|svg|polyline|details|summary|ol|li|pre|a)[ >/]|!doctype html>)/;
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

describe('the status page, fuzzed', () => {
  it('keeps config text as text, in the page and in the JSON', () => {
    const r = new Rng(FUZZ_SEED + 27);
    // Anything a config takes: it refuses a lone surrogate (no UTF-8 form), so one becomes a bracket, which is worse.
    const char = (x: Rng) => anyChar(x).replace(/^[\ud800-\udfff]$/, '<');
    const text = (min: number, max: number) => r.chars(min + r.int(max - min + 1), char);
    for (let i = 0; i < fuzzCases(40); i++) {
      const names = new Set<string>();
      while (names.size < 1 + r.int(3)) names.add(text(1, 20));
      const points = Object.fromEntries(
        [...names].map((n) => [n, { gears: Array.from({ length: 1 + r.int(4) }, () => (r.chance(0.7) ? text(0, 30) : { [text(1, 5)]: text(0, 10) })) }]),
      );
      const clock = new ManualClock(0, Date.UTC(2026, 10, 22));
      const version = text(1, 40);
      // A second scene, of any id a config takes, puts the summary and its links on the page.
      const other = r.chars(1, () => 'aZ9'[r.int(3)]!) + r.chars(r.int(30), () => 'aZ9_.:-'[r.int(7)]!);
      const engine = createGearshift({ clock, config: { version, scenes: { s: { rtBudgetMs: 50, versions: { v: { stage: 'base' } }, points, goals: { timeoutRate: { target: 0.01 } } }, [other]: { versions: { v: { stage: 'base' } } } } } });
      for (let t = 0; t < 1 + r.int(8); t++) {
        for (let k = 0; k < 50; k++) engine.complete(engine.route('s', `u${k}`), 'success', r.chance(0.5) ? 80 : 10);
        clock.advance(1000);
        engine.regulator.tick();
      }
      const where = replay('status page', i);
      const s = engineStatus(engine);
      expect(JSON.parse(JSON.stringify(s)), where).toEqual(s);
      const page = statusPage(engine);
      for (let at = page.indexOf('<'); at >= 0; at = page.indexOf('<', at + 1)) expect(page.slice(at, at + 16), where).toMatch(OWN);
      for (const n of names) expect(page, where).toContain(n.replace(/[&<>"']/g, (c) => ESCAPES[c]!));
      // every link is to a section of the page
      const links = [...page.matchAll(/href="#([^"]*)"/g)].map((m) => m[1]!);
      expect(links.sort(), where).toEqual([...page.matchAll(/<section id="([^"]*)"/g)].map((m) => m[1]!).sort());
      engine.close();
    }
  });
});
