/**
 * Config of the regulator: per scene its regulation points (gears) and goals; top level the regulator's own settings,
 * templates and schedules. Owned by the regulator part; merged into the document by schema.ts.
 */
import { obj, rec, str } from './shape.js';

/** Per scene: `points` (regulation points and their gears). */
export const pointsShape = rec(obj({}), { key: str({ min: 1, max: 128 }), max: 1000, description: 'regulation points of the scene' });
/** Per scene: `goals` it holds. */
export const sceneGoalsShape = obj({}, 'goals the regulator holds for this scene');
/** Top level: `regulator`. */
export const regulatorShape = obj({}, 'the gear regulator: period, process goals, templates, schedules');
