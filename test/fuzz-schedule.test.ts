/**
 * Daily schedule rules against a model, across clock changes (seeded fuzz): zones with whole-hour, half-hour and no
 * changes, a day and a half around a change, rule times bunched near it, and ticks from half a second to an hour
 * apart, off the whole second. The model knows a zone only by its UTC offsets (read with another Intl field than
 * the scheduler's, and pieced together by bisection), and says when each rule is due on each local day: the first
 * instant local time reaches it (for a time the clocks skip, the instant they jump). Each rule must fire exactly once
 * per local day, in the tick that holds that instant, and never otherwise.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/regulate/schedule.js';
import { FUZZ_SEED, fuzzCases, replay, Rng } from './fuzz.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** A year of clock changes in each: forward and back by an hour, by half an hour (Lord Howe), and none. */
const ZONES = ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Shanghai', 'UTC'];

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
/** The zone's UTC offset (ms) at an instant, from `longOffset` ("GMT-04:00"): not the fields the scheduler reads. */
function offsetAt(zone: string, t: number): number {
  let f = offsetFormats.get(zone);
  if (!f) offsetFormats.set(zone, (f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })));
  const name = f.formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')!.value;
  const m = /GMT([+-])(\d\d):(\d\d)/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * HOUR + Number(m[3]) * 60_000) : 0;
}

/** The offsets over [start, end) as pieces [from, to) of one offset each; changes found to the millisecond. */
function pieces(zone: string, start: number, end: number): { from: number; to: number; offset: number }[] {
  const out = [{ from: start, to: end, offset: offsetAt(zone, start) }];
  for (let t = start + HOUR / 4; t < end + HOUR / 4; t += HOUR / 4) {
    const at = Math.min(t, end - 1);
    const o = offsetAt(zone, at);
    const last = out[out.length - 1]!;
    if (o === last.offset) continue;
    let lo = Math.max(last.from, at - HOUR / 4);
    let hi = at;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(zone, mid) === last.offset) lo = mid;
      else hi = mid;
    }
    last.to = hi;
    out.push({ from: hi, to: end, offset: o });
  }
  return out;
}

/** When a daily rule at `seconds` past local midnight is due on each local day, per the offset pieces. */
function dueInstants(ps: ReturnType<typeof pieces>, seconds: number): number[] {
  const out: number[] = [];
  const first = Math.floor((ps[0]!.from + ps[0]!.offset) / DAY) - 1;
  const last = Math.floor((ps[ps.length - 1]!.to + ps[ps.length - 1]!.offset) / DAY) + 1;
  for (let day = first; day <= last; day++) {
    const target = day * DAY + seconds * 1000; // that local wall time, as ms of a UTC calendar
    for (const p of ps) {
      if (target < p.from + p.offset) {
        out.push(p.from); // skipped by a jump forward: due when the clocks jump (or when the span starts)
        break;
      }
      if (target < p.to + p.offset) {
        out.push(target - p.offset);
        break;
      }
    }
  }
  return out.filter((t) => t > ps[0]!.from && t < ps[ps.length - 1]!.to);
}

/** A day and a half around one clock change of the zone in 2026 (or around a random day where it has none). */
function windowNear(zone: string, r: Rng): [number, number] {
  const year = Date.UTC(2026, 0, 1);
  const changes: number[] = [];
  let before = offsetAt(zone, year);
  for (let t = year; t < year + 365 * DAY; t += 6 * HOUR) {
    const o = offsetAt(zone, t);
    if (o !== before) changes.push(t);
    before = o;
  }
  const centre = changes.length > 0 ? r.pick(changes) : year + r.int(365) * DAY;
  const start = centre - 18 * HOUR - r.int(12 * HOUR) + 0.5;
  return [start, start + 36 * HOUR];
}

describe('daily schedule rules across clock changes (seeded fuzz)', () => {
  it('fire once per local day, in the tick that holds the instant they are due', () => {
    const r = new Rng(FUZZ_SEED + 6);
    for (let c = 0, n = fuzzCases(12); c < n; c++) {
      const zone = r.pick(ZONES);
      const [start, end] = windowNear(zone, r);
      const ps = pieces(zone, start, end);
      // Rule times bunched around the changes' local times (whole seconds, as the config has them), and a few anywhere.
      const seconds = Array.from({ length: 4 }, () => {
        const p = r.pick(ps);
        const near = r.chance(0.75) ? ((((p.from + p.offset) % DAY) + DAY) % DAY) / 1000 + r.int(7201) - 3600 : r.int(86400);
        return ((Math.round(near) % 86400) + 86400) % 86400;
      });
      const hms = (s: number) => [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((x) => String(x).padStart(2, '0')).join(':');
      const rules = seconds.map((s) => ({ at: hms(s), mode: 'auto' as const }));
      const scheduler = new Scheduler(rules, zone);
      const fired: number[][] = rules.map(() => []);
      const ticks: number[] = [start];
      for (let t = start; t < end; ) {
        t = Math.min(end, t + r.pick([500, 1000, 5300.5, 60_000, 599_999.5, HOUR + 0.5, r.int(HOUR)]) || 1);
        for (const d of scheduler.due(ticks[ticks.length - 1]!, t)) fired[d.index]!.push(t);
        ticks.push(t);
      }
      const tickOf = (instant: number) => ticks.find((t) => t >= instant)!; // the tick (from, to] holding it
      rules.forEach((rule, i) => {
        const want = dueInstants(ps, seconds[i]!).filter((t) => t > start).map(tickOf);
        const where = `${replay('schedule', c)}: ${zone}, rule ${rule.at}, window ${new Date(start).toISOString()} – ${new Date(end).toISOString()}, changes at ${ps.slice(1).map((p) => new Date(p.from).toISOString()).join(', ') || 'none'}`;
        expect(fired[i]!.map((t) => new Date(t).toISOString()), where).toEqual(want.map((t) => new Date(t).toISOString()));
      });
    }
  });
});
