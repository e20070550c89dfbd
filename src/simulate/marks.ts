/**
 * Where a run is measured: `disturbAt`, `dropAt` and `phases`, in whole seconds. Checked by runScenario (before it
 * runs) and by metricsOf (for a trace of any origin) with the same rule: a fractional `disturbAt` used to end in a
 * TypeError inside metricsOf, and a `disturbAt` at or past the end in an empty measurement that read as a disaster
 * (0% goodput, 100% quality lost). A `dropAt` or a phase past the end is allowed: a scenario cut short
 * (`{ ...scenario, durationS: 90 }`) is measured up to its end, as if the load had not dropped yet.
 */
import { shown, UsageError } from '../errors.js';

export interface Marks {
  readonly disturbAt: unknown;
  readonly dropAt?: unknown;
  readonly phases?: unknown;
}

/** `where(field)` names the field in the caller's terms (`runScenario: scenario.dropAt`, `metricsOf: dropAt`). */
export function checkMarks(m: Marks, durationS: number, where: (field: string) => string): void {
  const fail = (field: keyof Marks, expected: string): never => {
    throw new UsageError(`${where(field)}: expected ${expected}, got ${shown(m[field])}`);
  };
  const whole = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
  if (!whole(m.disturbAt) || m.disturbAt >= durationS) fail('disturbAt', `whole seconds, 0 ≤ disturbAt < ${durationS} (the run's length)`);
  const d = m.disturbAt as number;
  if (m.dropAt !== undefined && !(whole(m.dropAt) && m.dropAt > d)) fail('dropAt', `seconds after disturbAt (${d}), whole`);
  if (m.phases !== undefined) {
    const p = m.phases;
    const ok = Array.isArray(p) && p.every((x, i) => whole(x) && x >= d && (i === 0 || x > (p[i - 1] as number)));
    if (!ok) fail('phases', `whole seconds from disturbAt (${d}) on, strictly increasing`);
  }
}
