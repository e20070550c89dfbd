/**
 * Schedules: second-precision daily times and absolute timestamps in the configured IANA zone. A daily rule fires
 * when local time of day crosses it between two ticks (a DST gap still crosses it; a repeated hour cannot fire it
 * twice the same day). State-like effects (mode, caps, pins, goal set) are replayed on start so that a restart at
 * 20:05 is in the state the 20:01 rule left; actions (templates, fast recovery) are not replayed, save a template
 * the mode has held since (RuleKeeper.replay).
 */
import { canonicalJson } from '../config/canonical-json.js';
import type { GearSet, RegulatorMode, ScheduleRule } from '../config/schema-regulate.js';
import { DAY_MS, instantOfWall, localMs, parseAbsolute, parseDaily } from '../config/time-of-day.js';

export interface DueRule {
  readonly rule: ScheduleRule;
  readonly index: number;
  /** The instant it was due. */
  readonly at: number;
}

interface Compiled {
  readonly rule: ScheduleRule;
  readonly index: number;
  readonly daily: number | undefined;
  readonly once: number | undefined;
}

export class Scheduler {
  private readonly rules: Compiled[];
  /** Local day (days since epoch, local calendar) each daily rule last fired on. */
  private readonly firedDay: Map<number, number> = new Map();

  constructor(rules: readonly ScheduleRule[], private readonly timeZone: string) {
    this.rules = rules.map((rule, index) => {
      const daily = parseDaily(rule.at);
      return { rule, index, daily: daily === undefined ? undefined : daily * 1000, once: daily === undefined ? parseAbsolute(rule.at, timeZone) : undefined };
    });
  }

  /**
   * Keeps what `before` fired today for every rule this one has unchanged (the same content, in the same zone).
   * Without it a reload inside the autumn's repeated hour forgot that a rule had fired, and the repeat fired it
   * again. A rule the reload changed is a new rule and may fire.
   */
  carryFrom(before: Scheduler): void {
    if (before.timeZone !== this.timeZone) return;
    const fired = new Map<string, number[]>();
    for (const c of before.rules) {
      const day = before.firedDay.get(c.index);
      if (day === undefined) continue;
      const key = canonicalJson(c.rule);
      fired.set(key, [...(fired.get(key) ?? []), day]);
    }
    for (const c of this.rules) {
      const days = fired.get(canonicalJson(c.rule));
      const day = days?.shift(); // identical rules pair off in order
      if (day !== undefined) this.firedDay.set(c.index, day);
    }
  }

  get size(): number {
    return this.rules.length;
  }

  /** Rules due in (from, to], in time order. */
  due(from: number, to: number): DueRule[] {
    if (this.rules.length === 0 || !(to > from)) return [];
    const spans = this.localSpans(from, to);
    const out: DueRule[] = [];
    for (const c of this.rules) {
      if (c.once !== undefined) {
        if (c.once > from && c.once <= to) out.push({ rule: c.rule, index: c.index, at: c.once });
      } else if (c.daily !== undefined) {
        for (const span of spans) {
          const k = Math.floor((span.from - c.daily) / DAY_MS) + 1;
          const local = k * DAY_MS + c.daily;
          if (local > span.to || this.firedDay.get(c.index) === k) continue;
          this.firedDay.set(c.index, k);
          out.push({ rule: c.rule, index: c.index, at: span.at(local) });
          break;
        }
      }
    }
    return out.sort((a, b) => a.at - b.at || a.index - b.index);
  }

  /**
   * The local times (from, to] covers, as spans on which local time only moves forward, each with the instant of a
   * local time in it. Usually one. When the clocks went back inside it (the autumn change), two: up to the change,
   * and after it. With only its ends, such an interval seemed to cross only the local times between them, and a
   * daily rule due before the change but after the interval's end, in local time, fired on the repeat instead
   * (an hour late; found by test/fuzz-schedule.test.ts at Lord Howe, whose clocks go back half an hour).
   */
  private localSpans(from: number, to: number): { from: number; to: number; at: (local: number) => number }[] {
    const l0 = localMs(from, this.timeZone);
    const l1 = localMs(to, this.timeZone);
    const before = l0 - from;
    // The same offset, or a later one (a spring gap: its skipped times count as crossed): one span.
    if (l1 - to >= before) return l1 > l0 ? [{ from: l0, to: l1, at: (local: number) => to - (l1 - local) }] : [];
    // The clocks went back: find the change to the millisecond, the last instant still on the offset `from` had.
    const offset = (t: number) => localMs(t, this.timeZone) - t;
    let lo = from;
    let hi = to;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offset(mid) === before) lo = mid;
      else hi = mid;
    }
    return [
      { from: l0, to: lo + before, at: (local: number) => from + (local - l0) },
      { from: hi + offset(hi), to: l1, at: (local: number) => to - (l1 - local) },
    ].filter((s) => s.to > s.from);
  }

  /** The last occurrence of every rule within the day before `now`, in time order: the state to resume in. */
  replay(now: number): DueRule[] {
    const l1 = localMs(now, this.timeZone);
    const out: DueRule[] = [];
    for (const c of this.rules) {
      if (c.once !== undefined) {
        if (c.once <= now) out.push({ rule: c.rule, index: c.index, at: c.once });
      } else if (c.daily !== undefined) {
        // The instant of its last local occurrence, at that day's offset: a clock change since then does not shift it
        // (it shifted the reported `at` by the change until the fourteenth session). Never after now.
        const k = Math.floor((l1 - c.daily) / DAY_MS);
        out.push({ rule: c.rule, index: c.index, at: Math.min(now, instantOfWall(k * DAY_MS + c.daily, this.timeZone)) });
      }
    }
    return out.sort((a, b) => a.at - b.at || a.index - b.index);
  }
}

/** What a run of rules leaves in force (undefined: none of them sets it). */
export interface RuleState {
  readonly caps: GearSet | undefined;
  readonly fixed: GearSet | undefined;
  /** A goal set name, or null for the configured goals. */
  readonly goals: string | null | undefined;
  readonly mode: RegulatorMode;
  /** A template whose gears are the state: the mode has held every gear since a rule applied it (`fixed`, `frozen`). */
  readonly template: string | undefined;
}

/** The state the rules `due` leave, in time order, starting in `mode`: what a start (or a restore) replays. */
export function ruleState(due: readonly DueRule[], mode: RegulatorMode): RuleState {
  let [caps, fixed, goals, template]: [GearSet | undefined, GearSet | undefined, string | null | undefined, string | undefined] = [undefined, undefined, undefined, undefined];
  for (const { rule } of due) {
    if (rule.goals !== undefined) goals = rule.goals === 'default' ? null : rule.goals;
    if (rule.caps) caps = rule.caps;
    if (rule.fixed) fixed = rule.fixed;
    if (rule.template !== undefined) template = rule.template;
    if (rule.mode) mode = rule.mode;
    if (mode === 'auto' || mode === 'shadow') template = undefined;
  }
  return { caps, fixed, goals, mode, template };
}
