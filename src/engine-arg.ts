/**
 * The engine argument of the adapters, the gateway and `prometheusText`. Checked by shape (it routes), not by class:
 * the engine may come from the other build (ESM or CommonJS) of this package. Anything else is the usual slip of
 * passing an adapter (a middleware, a listener) where its engine belongs, and gets an error that says so.
 */
import type { Gearshift } from './engine.js';
import { UsageError } from './errors.js';

export function checkEngine(engine: unknown, where: string): asserts engine is Gearshift {
  if (engine === null || typeof engine !== 'object' || typeof (engine as Gearshift).route !== 'function') {
    throw new UsageError(`${where}: the first argument must be an engine from createGearshift()`);
  }
}
