/**
 * Config of the sensing layer (rolling windows, process-load sampling). Owned by the sensing part; merged into the
 * document by schema.ts as the top-level `sense` field.
 */
import { obj } from './shape.js';

export const senseShape = obj({}, 'rolling windows and process-load sampling');
