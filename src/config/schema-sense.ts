/**
 * Config of the sensing layer (rolling windows, process-load sampling). Owned by the sensing part; merged into the
 * document by schema.ts as the top-level `sense` field. The defaults live here, next to the shapes that document
 * them, and `resolveSense` fills them in: the sensing code only ever sees complete settings.
 */
import { ConfigError, type ConfigIssue, UsageError } from '../errors.js';
import { readDocument } from './document.js';
import { bool, type Infer, num, obj, oneOf, opt, unreadable } from './shape.js';

/**
 * The settings resolveSense made (and the defaults): the only ones a Sensing accepts, since nothing checks them
 * after. Marked under a registered symbol, so that settings resolved by the package's other build (ESM and CJS in
 * one process) are accepted too; until the nineteenth session a module-private WeakSet refused them.
 */
const RESOLVED = Symbol.for('gearshift.resolvedSense');
export const isResolvedSense = (o: unknown): o is ResolvedSense => typeof o === 'object' && o !== null && Object.isFrozen(o) && Object.hasOwn(o, RESOLVED);

/** Frozen, as every resolved setting is: a Sensing trusts them unchecked, so nothing may change them afterwards. */
const frozen = (r: ResolvedSense): ResolvedSense => {
  for (const part of [r.rt, r.outcomes, r.process.eventLoopDelay, r.process.eventLoopUtilization, r.process.cpu, r.process]) Object.freeze(part);
  Object.defineProperty(r, RESOLVED, { value: true });
  return Object.freeze(r);
};

export const SENSE_DEFAULTS: ResolvedSense = frozen({
  rt: { slots: 10, slotMs: 1000, precisionBits: 3, maxMs: 60_000 },
  outcomes: { slots: 10, slotMs: 1000 },
  process: {
    enabled: true,
    eventLoopDelay: { sampled: false, periodMs: 1000, samples: 10, resolutionMs: 20 },
    eventLoopUtilization: { periodMs: 1000, samples: 10 },
    cpu: { periodMs: 1000, samples: 10 },
  },
  retiredSeries: 1000,
});

const D = SENSE_DEFAULTS;
/** When the event-loop delay monitor runs: `auto` only while a process goal needs it. */
export const EVENT_LOOP_DELAY_SAMPLING = ['auto', 'always', 'never'] as const;
const slots = (d: number) => opt(num({ integer: true, min: 1, max: 3600 }), d, 'number of slots in the ring');
const slotMs = (d: number) => opt(num({ min: 10, max: 3_600_000 }), d, 'length of one slot (ms); the window is slots × slotMs');
const periodMs = (d: number) => opt(num({ min: 10, max: 3_600_000 }), d, 'sampling period (ms); each sample covers one period, never the time since start');
const samples = (d: number) => opt(num({ integer: true, min: 1, max: 3600 }), d, 'samples kept; the window is samples × periodMs');

const rtShape = obj(
  {
    slots: slots(D.rt.slots),
    slotMs: slotMs(D.rt.slotMs),
    precisionBits: opt(
      num({ integer: true, min: 1, max: 8 }),
      D.rt.precisionBits,
      'histogram sub-buckets per octave = 2^bits; relative error of a percentile <= 1/2^(bits+1) (3: 6.25%, 4: 3.1%); memory doubles per bit (README, Sensing)',
    ),
    maxMs: opt(num({ min: 1, max: 2_000_000 }), D.rt.maxMs, 'largest RT the histogram resolves; slower responses land in the top bucket (max stays exact)'),
  },
  'response-time window: an HDR-layout histogram, count, sum and max per slot',
);

const outcomesShape = obj({ slots: slots(D.outcomes.slots), slotMs: slotMs(D.outcomes.slotMs) }, 'outcome-counter window (requests, success, error, timeout…)');

const samplerShape = (d: { periodMs: number; samples: number }, description: string) =>
  obj({ periodMs: periodMs(d.periodMs), samples: samples(d.samples) }, description);

const processShape = obj(
  {
    enabled: opt(bool('sample process load on unref\'d timers'), D.process.enabled),
    eventLoopDelay: opt(obj(
      {
        sample: opt(
          oneOf(EVENT_LOOP_DELAY_SAMPLING),
          'auto',
          'auto: only while a process goal (regulator.goals, its zones or a goal set) names eventLoopDelayMs, since the monitor costs CPU even idle; always; never',
        ),
        periodMs: periodMs(D.process.eventLoopDelay.periodMs),
        samples: samples(D.process.eventLoopDelay.samples),
        resolutionMs: opt(num({ integer: true, min: 1, max: 1000 }), D.process.eventLoopDelay.resolutionMs, 'monitorEventLoopDelay sampling interval (ms): delays are measured exactly, this sets how often; 10 ms costs ~5 ms CPU per second even idle, 20 ms ~3'),
      },
      'event-loop delay (mean and p99 per period)',
    )),
    eventLoopUtilization: opt(samplerShape(D.process.eventLoopUtilization, 'event-loop utilization per period (0–1)')),
    cpu: opt(samplerShape(D.process.cpu, 'process CPU time per period, as a share of one core')),
  },
  'process-load sampling',
);

export const senseShape = obj(
  {
    rt: opt(rtShape, undefined, 'response-time window'),
    outcomes: opt(outcomesShape, undefined, 'outcome-counter window'),
    process: opt(processShape, undefined, 'process-load sampling'),
    retiredSeries: opt(
      num({ integer: true, min: 0, max: 1_000_000 }),
      D.retiredSeries,
      'series of versions/scenes removed by a reload that stay readable (for one window at most); the oldest go first',
    ),
  },
  'rolling windows and process-load sampling',
);

export type SenseConfig = Infer<typeof senseShape>;

/** Every sensing setting, defaults filled in. */
export interface ResolvedSense {
  readonly rt: { readonly slots: number; readonly slotMs: number; readonly precisionBits: number; readonly maxMs: number };
  readonly outcomes: { readonly slots: number; readonly slotMs: number };
  readonly process: {
    readonly enabled: boolean;
    /** `sampled`: whether the monitor runs, `sample` resolved against the regulator's goals. */
    readonly eventLoopDelay: { readonly sampled: boolean; readonly periodMs: number; readonly samples: number; readonly resolutionMs: number };
    readonly eventLoopUtilization: { readonly periodMs: number; readonly samples: number };
    readonly cpu: { readonly periodMs: number; readonly samples: number };
  };
  readonly retiredSeries: number;
}

/** Defaults under the given fields; a field present but undefined keeps its default (the validator treats it as absent). */
function fill<T extends object>(dflt: T, given: Partial<T> | undefined): T {
  const out = { ...dflt };
  if (given) for (const k of Object.keys(dflt) as (keyof T)[]) if (given[k] !== undefined) out[k] = given[k] as T[keyof T];
  return out;
}

/**
 * @param eventLoopDelayGoal  a process goal of the config names `eventLoopDelayMs` (the engine asks the regulator's
 *                            goals), so `sample: 'auto'` turns the event-loop delay monitor on
 */
export function resolveSense(sense: SenseConfig | undefined, eventLoopDelayGoal = false): ResolvedSense {
  if (typeof eventLoopDelayGoal !== 'boolean') throw new UsageError(`resolveSense(sense, eventLoopDelayGoal): expected true or false, got ${String(eventLoopDelayGoal)}`);
  const c = checkedSense(sense);
  const p = c?.process;
  const sample = p?.eventLoopDelay?.sample ?? 'auto';
  const resolved: ResolvedSense = {
    rt: fill(D.rt, c?.rt),
    outcomes: fill(D.outcomes, c?.outcomes),
    process: {
      enabled: p?.enabled ?? D.process.enabled,
      eventLoopDelay: fill(D.process.eventLoopDelay, { ...p?.eventLoopDelay, sampled: sample === 'always' || (sample === 'auto' && eventLoopDelayGoal) }),
      eventLoopUtilization: fill(D.process.eventLoopUtilization, p?.eventLoopUtilization),
      cpu: fill(D.process.cpu, p?.cpu),
    },
    retiredSeries: c?.retiredSeries ?? D.retiredSeries,
  };
  return frozen(resolved);
}

/**
 * The `sense` section read once and checked as the config's validator checks it (the engine's was checked already;
 * this is for sensing without an engine): ConfigError with `sense.…` paths.
 */
function checkedSense(sense: unknown): SenseConfig | undefined {
  if (sense === undefined) return undefined;
  const issues: ConfigIssue[] = [];
  let read: unknown;
  try {
    read = readDocument(sense);
    senseShape.check(read, 'sense', issues);
  } catch (e) {
    issues.push(unreadable(e, 'sense'));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return read as SenseConfig;
}
