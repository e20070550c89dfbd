/**
 * The discrete-event simulation: a virtual clock, seeded RNG streams, open-loop Poisson arrivals, a FIFO multi-server
 * queue (server free times in a min-heap), completions landing in one-second sensing slots, and the controller's timer
 * ticking on the same virtual clock. Records a per-second trace the metrics are computed from.
 */
import { ManualClock } from '../clock.js';
import { validateConfig } from '../config/validate.js';
import { UsageError } from '../errors.js';
import { DEFAULT_PROCESS_GOALS } from '../regulate/goals.js';
import { compilePoints, costOf, type Point, valueOf } from '../regulate/points.js';
import { Arrivals } from './arrivals.js';
import { scenarioCalls } from './calls.js';
import { type ControllerKind, makeController } from './controllers.js';
import { MinHeap } from './heap.js';
import { simConfig } from './model.js';
import { Rng, streamSeed } from './rng.js';
import { checkScenario, type Scenario } from './scenario.js';
import { Stalls } from './stalls.js';
import { emptySecond, type RunResult, type Second, tickState } from './trace.js';
import { SlotWindow } from './window.js';

export type { LoadTestCounts, RunResult, Second } from './trace.js';

/** Every response time is kept for the metrics: past this many requests a run would exhaust memory, not finish. */
const MAX_REQUESTS = 20_000_000;

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
  const calls = scenarioCalls(sc);
  const seed = sc.seed ?? 42;
  const noise = sc.noise ?? 0.5;
  const endMs = sc.durationS * 1000;
  const servers = new MinHeap();
  for (let i = 0; i < sc.servers; i++) servers.push(0);

  const scenes = sc.scenes.map((s) => {
    const points: Point[] = compilePoints(s.id, s.config, 0);
    const top = Int32Array.from(points, (p) => p.top);
    // A scene without points (plain routing), or whose top costs nothing, is served at baseMs and full value: 0/0
    // made every service time NaN, and every request of it vanished.
    const topCost = costOf(points, top);
    const topValue = valueOf(points, top);
    return {
      s, points, top, budget: budgets.get(s.id)!, topCost: topCost > 0 ? topCost : NaN, topValue: topValue > 0 ? topValue : NaN,
      arrivals: new Arrivals(seed, s.id, calls.rate, endMs),
      // The same request gets the same draws under every controller: they are drawn at arrival, whatever happens to it.
      loadTest: new Rng(streamSeed(seed, `load-test/${s.id}`)),
      noise: new Rng(streamSeed(seed, `noise/${s.id}`)),
    };
  });
  const seconds: Second[] = Array.from({ length: sc.durationS }, emptySecond);
  const busy = new Float64Array(sc.durationS);
  // A stall keeps every server busy: the event loop's utilisation reads 1 through it.
  const stalls = new Stalls(sc.stalls ?? []);
  stalls.eachSlot((at, ms) => {
    window.recordBusy(at, ms * sc.servers);
    const k = at / 1000;
    if (k < busy.length) busy[k] = busy[k]! + ms * sc.servers;
  });
  let requests = 0;
  let inFlight = 0;

  /** Offers every arrival before `until` (ms), scene by scene merged in time order. */
  const arrive = (until: number): void => {
    for (;;) {
      let x = scenes[0]!;
      for (const y of scenes) if (y.arrivals.next < x.arrivals.next) x = y;
      const a = x.arrivals.next;
      if (!(a < until)) return;
      const t = a / 1000;
      if (++requests > MAX_REQUESTS) throw new UsageError(`runScenario: scenario.rate: more than ${MAX_REQUESTS.toLocaleString('en')} requests offered by t = ${t.toFixed(3)} s; lower the rate or shorten durationS`);
      x.arrivals.advance();
      const loadTest = calls.loadTestShare !== null && x.loadTest.next() < calls.loadTestShare(x.s.id, t);
      const size = x.noise.lognormal1(noise);
      const sec = seconds[Math.floor(t)]!;
      sec.offered++;
      if (loadTest) sec.loadTest!.offered++;
      if (ctl.reject(x.s.id, loadTest)) {
        sec.rejected++;
        if (loadTest) sec.loadTest!.rejected++;
        continue;
      }
      const live = ctl.live(x.s.id);
      const gears = live ? live.gears : x.top;
      let work = 0;
      for (let i = 0; i < x.points.length; i++) work += x.points[i]!.cost[gears[i]!]! * calls.slowdown(x.s.id, x.points[i]!.name, t);
      const value = live ? valueOf(x.points, live.gears) : x.topValue;
      const serviceMs = x.s.baseMs * (Number.isNaN(x.topCost) ? 1 : work / x.topCost) * size;
      const start = stalls.start(Math.max(a, servers.pop()));
      const abandoned = start - a >= x.budget;
      const done = abandoned ? start : stalls.end(start, start + serviceMs);
      servers.push(done);
      const rt = done - a;
      const worked = abandoned ? 0 : serviceMs;
      window.recordBusy(done, worked);
      if (!loadTest) window.recordRt(x.s.id, done, rt);
      if (done >= endMs) {
        inFlight++;
        continue;
      }
      const k = Math.floor(done / 1000);
      busy[k] = busy[k]! + worked;
      const out = seconds[k]!;
      out.completed++;
      if (loadTest) out.loadTest!.completed++;
      out.rts.push(rt);
      if (rt > x.budget) out.timeouts++;
      else {
        out.good++;
        out.value += Number.isNaN(x.topValue) ? 1 : value / x.topValue;
        out.fullValue += 1;
      }
    }
  };

  const period = ctl.periodMs;
  let lastChanges = 0;
  for (let tickAt = period; ; tickAt += period) {
    arrive(Math.min(tickAt, endMs));
    if (tickAt > endMs) break;
    clock.set(tickAt);
    window.now = tickAt;
    window.queueDelayMs = Math.max(0, servers.peek() - tickAt);
    const report = ctl.tick();
    window.prune();
    const k = Math.floor((tickAt - 1) / 1000);
    const n = ctl.changes();
    seconds[k]!.changes += n - lastChanges;
    lastChanges = n;
    // The state holds until the next tick: every second that ends before it carries it (with a period over 1 s,
    // only the second a tick fell in did, and the others read undegraded).
    const state = tickState(report, kind === 'shedder' && ctl.reject(sc.scenes[0]!.id, false));
    const last = Math.min(seconds.length, Math.max(k + 1, Math.floor((tickAt + period - 1) / 1000)));
    for (let j = k; j < last; j++) Object.assign(seconds[j]!, state);
  }
  ctl.close();
  // The second's own utilisation, read from the whole run (not only at the ticks that fell in it).
  for (let k = 0; k < seconds.length; k++) seconds[k]!.elu = Math.min(1, busy[k]! / (sc.servers * 1000));
  const tg = sc.scenes[0]!.config.goals?.timeoutRate;
  const elu = (sc.regulator?.goals ?? DEFAULT_PROCESS_GOALS).elu;
  return { scenario: sc.name, controller: kind, seconds, inFlight, budgetMs: budget0, target: tg?.target ?? 0.01, band: tg?.band ?? 0.25, ...(elu ? { elu: { target: elu.target, band: elu.band ?? 0.25 } } : {}) };
}
