/**
 * Config of the regulator: per scene its regulation points (gears) and goals; top level the regulator's own settings,
 * templates and schedules. Owned by the regulator part; merged into the document by schema.ts.
 * Every optional field carries its default here, so the published JSON Schema documents the defaults too.
 */
import { arr, bool, type Infer, json, num, obj, oneOf, opt, rec, req, str } from './shape.js';

const pointName = (description: string) => str({ min: 1, max: 128, description });
const gearIndex = (description: string) => num({ min: 0, max: 63, integer: true, description });
const band = opt(num({ min: 0, max: 0.9 }), 0.25, 'relative width of the convergence band below the target: in band when target·(1−band) ≤ measured ≤ target; above is a violation, below is headroom');
const minSamples = opt(num({ min: 1, max: 1_000_000, integer: true }), undefined, 'samples a window must hold before this goal may act; default 20 for RT goals, 1 for process goals (each sample is a period\'s average)');

/** A goal on a value that should stay at or below `target` (an RT, a rate, a utilisation). */
export const goalShape = obj({ target: req(num({ min: 0 }), 'the limit to hold'), band, minSamples }, 'a limit the regulator holds');

const pointShape = obj(
  {
    gears: req(arr(json(), { min: 1, max: 64 }), 'the gear values, cheapest first (a recall depth, a model name): index 0 is gear 0'),
    cost: opt(arr(num({ min: 0 }), { min: 1, max: 64 }), undefined, 'relative cost of serving at each gear (same length as gears, non-decreasing); default 1, 2, 3, …'),
    value: opt(arr(num({ min: 0 }), { min: 1, max: 64 }), undefined, 'business value of each gear, in units comparable across points and scenes (non-decreasing); default equal to cost'),
    boost: opt(num({ min: 0, max: 63, integer: true }), 0, 'the last `boost` gears are above the normal top: used only while the tidal boost is engaged'),
    floor: opt(gearIndex('lowest gear the regulator may choose'), 0),
    default: opt(gearIndex('gear at start; default the normal top')),
  },
  'a regulation point: a place in the request path whose compute can be dialled',
);
export const pointsShape = rec(pointShape, { key: pointName('point name'), max: 1000, description: 'regulation points of the scene' });

/** Names that config refers to elsewhere (a schedule's `template` and `goals`, `regulator.zone`): as long as those may be. */
const refName = (description: string) => str({ min: 1, max: 128, description });

const timeoutRateShape = obj({ target: req(num({ min: 0.0001, max: 0.5 }), 'the timeout rate to hold (0.01 = 1%)'), band, minSamples: opt(num({ min: 1, max: 1_000_000, integer: true }), undefined, 'samples a window must hold before this goal may act; default 1/target (100 for 1%)') });
const TIMEOUT_RATE = 'share of responses slower than the scene RT budget. Regulated through the matching quantile (p99 for 1%) against the budget, which is graded where the rate itself is mostly zero';
const sceneGoalFields = {
  timeoutRate: opt(timeoutRateShape, { target: 0.01, band: 0.25 }, TIMEOUT_RATE),
  meanRtMs: opt(goalShape, undefined, 'mean response time (ms)'),
  p99RtMs: opt(goalShape, undefined, 'p99 response time (ms)'),
};
/** A zone's or a goal set's overrides: what it leaves out is the scene's own (so no default of its own). */
const sceneGoalSet = obj({ ...sceneGoalFields, timeoutRate: opt(timeoutRateShape, undefined, `${TIMEOUT_RATE}; default: the scene's`) }, 'scene goals');
export const sceneGoalsShape = obj(
  { ...sceneGoalFields, zones: opt(rec(sceneGoalSet, { key: refName('zone name'), max: 100 }), undefined, 'per-zone overrides, picked by regulator.zone') },
  'goals the regulator holds for this scene',
);

const processGoalFields = {
  eventLoopDelayMs: opt(goalShape, undefined, 'event-loop delay p99 (ms)'),
  elu: opt(goalShape, undefined, 'event-loop utilisation (0–1)'),
  cpu: opt(goalShape, undefined, 'process CPU share (0–1 per core)'),
};
const processGoalSet = obj(processGoalFields, 'process goals');
export const processGoalsShape = obj(
  { ...processGoalFields, zones: opt(rec(processGoalSet, { key: refName('zone name'), max: 100 }), undefined, 'per-zone overrides') },
  'process-wide goals, regulated across scenes: the lowest marginal benefit anywhere goes first',
);

export const MODES = ['auto', 'fixed', 'frozen', 'shadow'] as const;
export type RegulatorMode = (typeof MODES)[number];

/** template → scene → point → gear index. */
const gearSetShape = rec(rec(gearIndex('gear index'), { key: pointName('point'), max: 1000 }), { max: 100_000 });

const ruleShape = obj(
  {
    at: req(str({ min: 8, max: 40 }), '"HH:MM:SS" every day, or "YYYY-MM-DDTHH:MM:SS" once; both in regulator.timeZone (an explicit Z or ±HH:MM offset wins)'),
    name: opt(str({ max: 128 }), undefined, 'label for events and history'),
    template: opt(str({ min: 1, max: 128 }), undefined, 'apply this template'),
    caps: opt(gearSetShape, undefined, 'replace the caps (max gear per point); {} clears them'),
    fixed: opt(gearSetShape, undefined, 'replace the pinned gears; {} clears them'),
    goals: opt(str({ min: 1, max: 128 }), undefined, 'switch to this goal set ("default" for the configured goals)'),
    mode: opt(oneOf(MODES), undefined, 'switch mode'),
    fastRecovery: opt(bool(), undefined, 'start (true) or end (false) a fast-recovery window'),
  },
  'a timed rule: at `at`, apply what it names',
);

/** Without `regulator.goals`, hold event-loop utilisation at 85%: the one saturation signal every Node service has. */
export const DEFAULT_PROCESS_GOALS = Object.freeze({ elu: Object.freeze({ target: 0.85, band: 0.25, minSamples: 1 }) });

export const regulatorShape = obj(
  {
    periodMs: opt(num({ min: 10, max: 600_000 }), 1000, 'control period (ms): one tick per period, on an unref\'d timer'),
    mode: opt(oneOf(MODES), 'auto', 'auto: feedback control; fixed: operator-pinned gears (templates, fixed); frozen: hold everything; shadow: compute and report every move, apply none'),
    zone: opt(str({ min: 1, max: 128 }), undefined, 'zone / data-centre label that picks goal overrides'),
    timeZone: opt(str({ min: 1, max: 64 }), 'UTC', 'IANA time zone of schedules'),
    goals: opt(processGoalsShape, DEFAULT_PROCESS_GOALS, 'process-wide goals; {} for none'),
    goalSets: opt(
      rec(obj({ scenes: opt(rec(sceneGoalSet, { max: 100_000 })), process: opt(processGoalSet) }), { key: refName('goal set name'), max: 100 }),
      undefined,
      'named goal sets a schedule can switch to; each replaces the goals it names',
    ),
    control: opt(
      obj({
        kp: opt(num({ min: 0, max: 10 }), 0.15, 'proportional gain (cost fraction per unit of relative error increment)'),
        ki: opt(num({ min: 0, max: 10 }), 0.12, 'integral gain (cost fraction per unit of relative error per tick)'),
        kd: opt(num({ min: 0, max: 10 }), 0, 'derivative gain; 0 by default: see the README, Regulation'),
        smoothing: opt(num({ min: 0.05, max: 1 }), 0.6, 'EWMA weight of the newest measurement'),
        maxError: opt(num({ min: 0.1, max: 100 }), 2, 'clamp of the relative error, so one wild window cannot slam the gears'),
        maxDownPerTick: opt(num({ min: 0.001, max: 1 }), 0.2, 'largest cut of the cost allowance per tick (down fast)'),
        maxUpPerTick: opt(num({ min: 0.001, max: 1 }), 0.04, 'largest raise of the cost allowance per tick (up carefully)'),
        hysteresis: opt(num({ min: 0, max: 1 }), 0.05, 'extra relative margin to reverse direction'),
        dwellMs: opt(num({ min: 0, max: 3_600_000 }), 5000, 'after a cut, no raise for this long; doubled after each failed probe'),
        maxDwellMs: opt(num({ min: 0, max: 3_600_000 }), 60_000, 'ceiling of the backed-off dwell'),
      }),
      {},
      'the control law',
    ),
    fastRecovery: opt(
      obj({
        durationMs: opt(num({ min: 0, max: 86_400_000 }), 180_000, 'length of a fast-recovery window'),
        maxUpPerTick: opt(num({ min: 0.001, max: 1 }), 0.25, 'raise rate inside the window'),
      }),
      {},
      'fast recovery after a peak',
    ),
    transients: opt(
      obj({
        giveBack: opt(bool(), true, 'give a cut made for a transient (a stall) back in one move at the first clean reading'),
        maxSlower: opt(num({ min: 1, max: 100 }), 1.5, 'how much slower for its cost than the calm readings a scene\'s clean reading may run for its cut to be given back'),
      }),
      {},
      'cuts made for a transient (a stall of the whole process)',
    ),
    boost: opt(
      obj({
        enabled: opt(bool(), true, 'allow boost gears at all'),
        holdMs: opt(num({ min: 0, max: 86_400_000 }), 120_000, 'how long every goal must show headroom before boost engages'),
        maxCost: opt(num({ min: 1, max: 10 }), 1.2, 'cost ceiling while boosted, relative to the normal top (1.2 = +20%)'),
      }),
      {},
      'tidal boost: spend idle capacity on richer gears',
    ),
    shedding: opt(
      obj({
        enabled: opt(bool(), true, 'allow shedding as the last resort'),
        priorities: opt(arr(oneOf(['low', 'normal', 'high'] as const), { max: 3 }), ['low'], 'scene priorities whose traffic may be shed (load-test traffic always goes first)'),
        step: opt(num({ min: 0.001, max: 1 }), 0.1, 'change of the shed share per tick'),
        maxShare: opt(num({ min: 0, max: 1 }), 0.9, 'largest share of a scene\'s traffic to shed'),
        retryAfterS: opt(num({ min: 0, max: 3600, integer: true }), 2, 'Retry-After hint of a shed response (s)'),
      }),
      {},
      'shedding: only when every point is at its floor and a goal is still violated',
    ),
    dcaf: opt(obj({ extraGears: opt(num({ min: 0, max: 63, integer: true }), 1, 'how many gears above the regulated gear a high-value request may take') }), {}, 'per-request value'),
    templates: opt(rec(gearSetShape, { key: refName('template name'), max: 1000 }), {}, 'named gear sets: template → scene → point → gear index'),
    schedules: opt(arr(ruleShape, { max: 10_000 }), [], 'timed rules, applied in order of time'),
    historySize: opt(num({ min: 0, max: 1_000_000, integer: true }), 1000, 'gear changes kept in history'),
  },
  'the gear regulator: period, process goals, templates, schedules',
);

export type GoalConfig = Infer<typeof goalShape>;
export type PointConfig = Infer<typeof pointShape>;
export type SceneGoalsConfig = Infer<typeof sceneGoalsShape>;
export type ProcessGoalsConfig = Infer<typeof processGoalsShape>;
export type RegulatorConfig = Infer<typeof regulatorShape>;
export type ScheduleRule = Infer<typeof ruleShape>;
export type GearSet = Infer<typeof gearSetShape>;
