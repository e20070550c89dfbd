/**
 * Config values in the arrays the hot path reads them from (a param's value per layer arm, a point's gears).
 *
 * Why not the arrays as they come: an array holding only numbers, one of them fractional, gets V8's double elements,
 * and a value read from it that leaves the reading function is boxed into a new 16-byte heap number. For
 * `decision.param('threshold')` that was one allocation per read, measured. An array that once held a non-number
 * keeps generic elements for good, and the numbers in it are the boxes they already were: reading one allocates
 * nothing. Not frozen either: an indexed read from a frozen array is a generic keyed load in optimised code.
 */
export function boxedValues<T>(values: readonly T[]): T[] {
  const out: T[] = [undefined as T]; // generic elements from the first store on; V8 never narrows them back
  out.pop();
  for (const v of values) out.push(v);
  return out;
}
