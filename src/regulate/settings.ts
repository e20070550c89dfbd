/**
 * The regulator's settings with their defaults filled in: what `regulator` in the config leaves out is one of these
 * numbers (the README's "Every option and its default" lists the same).
 */
import type { RegulatorConfig } from '../config/schema-regulate.js';
import type { AllowanceLimits } from './allowance.js';
import type { LawOptions } from './pid.js';
import type { StepContext } from './scene-loop.js';

export interface Settings {
  readonly periodMs: number;
  readonly law: LawOptions;
  readonly limits: AllowanceLimits;
  readonly fastMs: number;
  readonly fastMaxUp: number;
  readonly boost: StepContext['boost'];
  readonly shed: StepContext['shed'];
  readonly transients: StepContext['transients'];
}

export function settings(r: RegulatorConfig | undefined): Settings {
  const c = r?.control ?? {};
  return {
    periodMs: r?.periodMs ?? 1000,
    law: { kp: c.kp ?? 0.15, ki: c.ki ?? 0.12, kd: c.kd ?? 0, smoothing: c.smoothing ?? 0.6, maxError: c.maxError ?? 2, hysteresis: c.hysteresis ?? 0.05 },
    limits: { maxDown: c.maxDownPerTick ?? 0.2, maxUp: c.maxUpPerTick ?? 0.04, dwellMs: c.dwellMs ?? 5000, maxDwellMs: c.maxDwellMs ?? 60_000 },
    fastMs: r?.fastRecovery?.durationMs ?? 180_000,
    fastMaxUp: r?.fastRecovery?.maxUpPerTick ?? 0.25,
    boost: { enabled: r?.boost?.enabled ?? true, holdMs: r?.boost?.holdMs ?? 120_000, maxCost: r?.boost?.maxCost ?? 1.2 },
    shed: { enabled: r?.shedding?.enabled ?? true, step: r?.shedding?.step ?? 0.1, maxShare: r?.shedding?.maxShare ?? 0.9, retryAfterS: r?.shedding?.retryAfterS ?? 2 },
    transients: { giveBack: r?.transients?.giveBack ?? true, maxSlower: r?.transients?.maxSlower ?? 1.5 },
  };
}
