/**
 * Config values in the arrays the hot path reads them from (a param's value per layer arm, a point's gears).
 *
 * Why not the arrays as they come: an array holding only numbers, one of them fractional, gets V8's double elements,
 * and a value read from it that leaves the reading function is boxed into a new 16-byte heap number. For
 * `decision.param('threshold')` that was one allocation per read, measured. An array that once held a non-number
 * keeps generic elements for good, and the numbers in it are the boxes they already were: reading one allocates
 * nothing. Not frozen either: an indexed read from a frozen array is a generic keyed load in optimised code.
 *
 * Strings are stored internalized (V8's table of unique strings, where literals and property names live), so that a
 * handler's `decision.param('model') === 'large'` compares two pointers. A string parsed from a document is not
 * internalized, and `===` against a literal then compared the characters in a call on every read.
 */
export function boxedValues<T>(values: readonly T[]): T[] {
  const out: T[] = [undefined as T]; // generic elements from the first store on; V8 never narrows them back
  out.pop();
  for (const v of values) out.push(typeof v === 'string' ? (internalized(v) as T) : v);
  return out;
}

/** The same string from V8's unique-string table: a property key is always internalized, and keys hand it back. */
export function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}
