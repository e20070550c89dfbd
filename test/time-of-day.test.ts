import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/regulate/schedule.js';
import { parseAbsolute, parseDaily } from '../src/config/time-of-day.js';

const at = (a: string, zone = 'UTC') => {
  const t = parseAbsolute(a, zone);
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('absolute schedule times', () => {
  it('honours an explicit Z or ±HH:MM offset over the zone', () => {
    expect(at('2026-03-01T10:00:00Z', 'Asia/Kolkata')).toBe('2026-03-01T10:00:00.000Z');
    expect(at('2026-03-01T10:00:00+05:30', 'America/New_York')).toBe('2026-03-01T04:30:00.000Z');
    expect(at('2026-03-01T10:00:00-08:00')).toBe('2026-03-01T18:00:00.000Z');
  });

  it('refuses offsets and dates that do not exist', () => {
    for (const bad of ['2026-03-01T10:00:00+25:00', '2026-03-01T10:00:00+05:60', '2026-02-30T10:00:00', '2026-03-01T24:00:00Z', '2026-03-01 10:00:00']) {
      expect(at(bad), bad).toBeUndefined();
    }
  });

  it('reads the years 0–99 as written, not as 1900–1999 (as Date.UTC would)', () => {
    expect(at('0050-01-01T00:00:00Z')).toBe(new Date('0050-01-01T00:00:00Z').toISOString());
    expect(at('0099-12-31T23:59:59', 'UTC')).toBe(new Date('0099-12-31T23:59:59Z').toISOString());
    expect(at('0000-02-29T00:00:00Z')).toBe(new Date('0000-02-29T00:00:00Z').toISOString()); // year 0 is a leap year
  });

  it('reads a wall time in the zone', () => {
    expect(at('2026-03-01T10:00:00', 'Asia/Kolkata')).toBe('2026-03-01T04:30:00.000Z');
    expect(at('2026-07-01T12:00:00', 'Australia/Lord_Howe')).toBe('2026-07-01T01:30:00.000Z');
  });

  it.each([
    ['2026-03-08T02:30:00', 'America/New_York', '2026-03-08T07:30:00.000Z'], // 03:30 EDT
    ['2026-03-29T02:30:00', 'Europe/Berlin', '2026-03-29T01:30:00.000Z'], // 03:30 CEST
    ['2026-10-04T02:15:00', 'Australia/Lord_Howe', '2026-10-03T15:45:00.000Z'], // a half-hour jump: 02:45
  ])('puts %s in %s, which the clocks skip, as far after the jump as it is after the gap\'s start', (wall, zone, want) => {
    expect(at(wall, zone)).toBe(want);
  });

  it.each([
    ['2026-11-01T01:30:00', 'America/New_York', '2026-11-01T05:30:00.000Z'], // EDT, not EST (06:30Z)
    ['2026-10-25T02:30:00', 'Europe/Berlin', '2026-10-25T00:30:00.000Z'], // CEST, not CET (01:30Z)
    ['2026-04-05T01:45:00', 'Australia/Lord_Howe', '2026-04-04T14:45:00.000Z'],
  ])('puts %s in %s, which occurs twice, at its first occurrence', (wall, zone, want) => {
    expect(at(wall, zone)).toBe(want);
  });
});

describe('daily rules across the autumn clock change', () => {
  /** The instants a daily rule fires at, ticking every `stepMs` from `start` for `hours`. */
  function firings(zone: string, at: string, start: number, stepMs: number, hours = 3): string[] {
    const s = new Scheduler([{ at, mode: 'auto' }], zone);
    const out: string[] = [];
    for (let t = start + stepMs; t <= start + hours * 3_600_000; t += stepMs) for (const d of s.due(t - stepMs, t)) out.push(new Date(d.at).toISOString());
    return out;
  }

  // New York goes from 02:00 EDT back to 01:00 EST at 06:00Z; Lord Howe from 02:00 back to 01:30 at 15:00Z.
  it.each([
    ['America/New_York', '01:59:58', Date.UTC(2026, 10, 1, 4, 0, 2, 500), '2026-11-01T05:59:58.000Z'],
    ['America/New_York', '01:30:00', Date.UTC(2026, 10, 1, 4, 0, 2, 500), '2026-11-01T05:30:00.000Z'],
    ['Australia/Lord_Howe', '01:59:58', Date.UTC(2026, 3, 4, 13, 0, 2, 500), '2026-04-04T14:59:58.000Z'],
  ])('%s %s fires once, at its first occurrence, even when a tick spans the change', (zone, at, start, want) => {
    // Ticks 5 s apart, off the whole second: one of them runs from just before the change to just after it. Such a
    // tick's local time runs backwards; the rule due in its first part fired an hour late, on the repeat (found by
    // hand while writing the fuzz tests).
    expect(firings(zone, at, start, 5000)).toEqual([want]);
    expect(firings(zone, at, start, 1000)).toEqual([want]);
    expect(firings(zone, at, start, 3_600_000 + 500, 6)).toHaveLength(1); // ticks an hour apart: still once
  });

  it('replays a rule at the instant it last occurred, whatever the clocks did since', () => {
    const last = (zone: string, at: string, now: number) => new Date(new Scheduler([{ at, mode: 'auto' }], zone).replay(now)[0]!.at).toISOString();
    // 01:30 EDT on the autumn morning, read at 04:00 EST, and 01:30 EST on the spring morning, read at 08:00 EDT:
    // both were an hour off, computed at the offset in force when read.
    expect(last('America/New_York', '01:30:00', Date.UTC(2026, 10, 1, 9))).toBe('2026-11-01T05:30:00.000Z');
    expect(last('America/New_York', '01:30:00', Date.UTC(2026, 2, 8, 12))).toBe('2026-03-08T06:30:00.000Z');
    expect(last('America/New_York', '01:30:00', Date.UTC(2026, 5, 1, 12))).toBe('2026-06-01T05:30:00.000Z');
  });

  it('fires a rule due before the change in a tick that ends, in local time, before the rule', () => {
    // 14:10Z is 01:10 at Lord Howe (+11); 15:07:54Z is 01:37:54 (+10:30, after going back half an hour at 15:00Z).
    // The tick's local time moved forward overall, yet crossed 01:59:54 before the change (found by fuzz-schedule).
    const s = new Scheduler([{ at: '01:59:54', mode: 'auto' }], 'Australia/Lord_Howe');
    const due = s.due(Date.UTC(2026, 3, 4, 14, 10), Date.UTC(2026, 3, 4, 15, 7, 54, 470));
    expect(due.map((d) => new Date(d.at).toISOString())).toEqual(['2026-04-04T14:59:54.000Z']);
  });
});

describe('schedule windows', () => {
  it('takes a tick as (from, to]: a rule due at its end fires in it, one due at its start does not', () => {
    const t = Date.UTC(2026, 5, 1, 12);
    const s = new Scheduler([{ at: '2026-06-01T12:00:00Z', mode: 'auto' }], 'UTC');
    expect(s.due(t, t + 1000)).toEqual([]);
    expect(s.due(t - 1000, t).map((d) => d.at)).toEqual([t]);
  });

  it('replays a one-off rule due at the very instant of the start', () => {
    // Consistent with due(): a rule at the end of a tick has happened, so the state at that instant includes it.
    const t = Date.UTC(2026, 5, 1, 12);
    expect(new Scheduler([{ at: '2026-06-01T12:00:00Z', mode: 'auto' }], 'UTC').replay(t).map((d) => d.at)).toEqual([t]);
  });

  it('never replays a rule at an instant after now (a daily time the spring gap skipped today)', () => {
    // 2026-03-08 07:10Z is 03:10 EDT, just after New York skipped 02:00–03:00: 02:30 read at the old offset is 07:30Z.
    const now = Date.UTC(2026, 2, 8, 7, 10);
    expect(new Scheduler([{ at: '02:30:00', mode: 'auto' }], 'America/New_York').replay(now)[0]!.at).toBe(now);
  });

  it('reads daily times from 00:00:00 to 23:59:59 only', () => {
    expect(parseDaily('00:00:00')).toBe(0);
    expect(parseDaily('23:59:59')).toBe(86_399);
    for (const bad of ['24:00:00', '23:60:00', '23:59:60', '9:00:00']) expect(parseDaily(bad), bad).toBeUndefined();
  });
});
