/**
 * The discrete-event simulation: a virtual clock, a seeded RNG, open-loop Poisson arrivals, a FIFO multi-server queue
 * (server free times in a min-heap), completions landing in one-second sensing slots, and the controller's timer
 * ticking on the same virtual clock. Records a per-second trace the metrics are computed from.
 */
import { ManualClock } from '../clock.js';
import { validateConfig } from '../config/validate.js';
import { shown, UsageError } from '../errors.js';
import { DEFAULT_PROCESS_GOALS } from '../regulate/goals.js';
import { costOf, valueOf } from '../regulate/points.js';
import { compilePoints, type Point } from '../regulate/points.js';
import { type ControllerKind, makeController } from './controllers.js';
import { MinHeap } from './heap.js';
import { simConfig } from './model.js';
import { Rng } from './rng.js';
import { checkScenario, type Scenario } from './scenario.js';
import { SlotWindow } from './window.js';

/** One second of the run, all business scenes together. */
export interface Second {
  offered: number;
  rejected: number;
  completed: number;
  timeouts: number;
  /** Responses within budget. */
  good: number;
  /** Value of good responses, and what they would have been worth at full gear. */
  value: number;
  fullValue: number;
  rts: number[];
  /** Controller state at the tick ending this second. */
  degraded: boolean;
  boosted: boolean;
  changes: number;
  /** Goals of every scene inside or below their band (the regulator's own view; none/shedder: undefined). */
  inBand?: boolean;
  /** First scene: cost allowance, smoothed pressure of its first goal, and cost of its gears (regulator's view). */
  allowance?: number;
  /** Busy share of the servers in this second (the event-loop utilisation of the model). */
  elu: number;
  pressure?: number;
  cost?: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly controller: ControllerKind;
  readonly seconds: Second[];
  /** Budget of the first scene, the timeout target and band of its timeout goal. */
  readonly budgetMs: number;
  readonly target: number;
  readonly band: number;
  /** The process ELU goal, if any. */
  readonly elu?: { readonly target: number; readonly band: number };
}

const emptySecond = (): Second => ({ offered: 0, rejected: 0, completed: 0, timeouts: 0, good: 0, value: 0, fullValue: 0, rts: [], elu: 0, degraded: false, boosted: false, changes: 0 });

export function runScenario(sc: Scenario, kind: ControllerKind): RunResult {
  checkScenario(sc, kind);
  // Validated for every controller (one that never reads the regulator's part still runs the scenes), once: the
  // regulator takes a validated config as it is.
  const config = validateConfig(simConfig(sc.scenes, sc.regulator));
  const clock = new ManualClock(0, sc.startWall ?? Date.UTC(2026, 0, 1));
  const budgets = new Map(sc.scenes.map((s) => [s.id, s.config.rtBudgetMs ?? 200]));
  const window = new SlotWindow(1000, sc.servers, budgets);
  const budget0 = sc.scenes[0]!.config.rtBudgetMs ?? 200;
  const ctl = makeController(kind, config, clock, window, budget0 / 2);
  const rng = new Rng(sc.seed ?? 42);
  const noise = sc.noise ?? 0.5;
  const servers = new MinHeap();
  for (let i = 0; i < sc.servers; i++) servers.push(0);

  const scenes = sc.scenes.map((s) => {
    const points: Point[] = compilePoints(s.id, s.config, 0);
    const top = Int32Array.from(points, (p) => p.top);
    return { s, points, budget: budgets.get(s.id)!, topCost: costOf(points, top), topValue: valueOf(points, top), next: 0 };
  });
  const seconds: Second[] = Array.from({ length: sc.durationS }, emptySecond);
  const tg = sc.scenes[0]!.config.goals?.timeoutRate;
  const period = ctl.periodMs;
  let lastChanges = 0;

  /** The scenario's arrival rate, checked: a NaN would send the simulation's clock to NaN, and fail far from here. */
  const rateOf = (scene: string, t: number): number => {
    const r = sc.rate(scene, t);
    if (typeof r !== 'number' || !(r >= 0 && r < Infinity)) throw new UsageError(`runScenario: scenario.rate(${JSON.stringify(scene)}, ${t}): expected requests/s ≥ 0, got ${shown(r)}`);
    return r;
  };
  for (const x of scenes) x.next = rng.exp(1000 / Math.max(1e-9, rateOf(x.s.id, 0)));
  for (let tickAt = period; tickAt <= sc.durationS * 1000; tickAt += period) {
    // Arrivals up to this tick, scene by scene merged in time order.
    for (;;) {
      let x = scenes[0]!;
      for (const y of scenes) if (y.next < x.next) x = y;
      const a = x.next;
      if (a >= tickAt) break;
      const t = a / 1000;
      const rate = rateOf(x.s.id, t);
      x.next = a + (rate > 0 ? rng.exp(1000 / rate) : 1000);
      if (rate <= 0) continue;
      const sec = seconds[Math.floor(t)]!;
      const loadTest = sc.loadTestShare ? rng.next() < sc.loadTestShare(x.s.id, t) : false;
      if (!loadTest) sec.offered++;
      if (ctl.reject(x.s.id, loadTest)) {
        if (!loadTest) sec.rejected++;
        continue;
      }
      const live = ctl.live(x.s.id);
      let work = 0;
      let value = x.topValue;
      if (live) {
        for (let i = 0; i < x.points.length; i++) work += x.points[i]!.cost[live.gears[i]!]! * (sc.slowdown?.(x.s.id, x.points[i]!.name, t) ?? 1);
        value = valueOf(x.points, live.gears);
      } else for (const p of x.points) work += p.cost[p.top]! * (sc.slowdown?.(x.s.id, p.name, t) ?? 1);
      const serviceMs = x.s.baseMs * (work / x.topCost) * rng.lognormal1(noise);
      const start = Math.max(a, servers.pop());
      const abandoned = start - a >= x.budget;
      const done = abandoned ? start : start + serviceMs;
      servers.push(done);
      const rt = done - a;
      if (!loadTest) window.record(x.s.id, done, rt, abandoned ? 0 : serviceMs);
      const out = seconds[Math.floor(done / 1000)];
      if (out && !loadTest) {
        out.completed++;
        out.rts.push(rt);
        if (rt > x.budget) out.timeouts++;
        else {
          out.good++;
          out.value += value / x.topValue;
          out.fullValue += 1;
        }
      }
    }
    clock.set(tickAt);
    window.now = tickAt;
    window.queueDelayMs = Math.max(0, servers.peek() - tickAt);
    const report = ctl.tick();
    window.prune();
    const sec = seconds[Math.floor((tickAt - 1) / 1000)];
    if (sec) {
      sec.elu = window.process().elu ?? 0;
      const n = ctl.changes();
      sec.changes += n - lastChanges;
      lastChanges = n;
      if (report) {
        sec.degraded = report.scenes.some((r) => r.degraded || r.shedShare > 0 || r.shedLoadTest);
        sec.boosted = report.scenes.some((r) => r.boosted);
        const first = report.scenes[0];
        if (first) [sec.allowance, sec.pressure, sec.cost] = [first.allowance, first.goals[0]?.pressure ?? NaN, first.cost];
        // In band as the regulator sees it: nothing violated, and the binding goal (some goal) in its band unless at the top.
        const pv = report.process.some((g) => g.status === 'violated');
        const pb = report.process.some((g) => g.status === 'in_band');
        sec.inBand = !pv && report.scenes.every((r) => r.goals.every((g) => g.status !== 'violated') && (r.atTop || pb || r.goals.some((g) => g.status === 'in_band')));
      } else if (kind === 'shedder') sec.degraded = ctl.reject(sc.scenes[0]!.id, false);
    }
  }
  ctl.close();
  const elu = (sc.regulator?.goals ?? DEFAULT_PROCESS_GOALS).elu;
  return { scenario: sc.name, controller: kind, seconds, budgetMs: budget0, target: tg?.target ?? 0.01, band: tg?.band ?? 0.25, ...(elu ? { elu: { target: elu.target, band: elu.band ?? 0.25 } } : {}) };
}
