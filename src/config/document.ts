/**
 * Reading a config document once. `readDocument` copies the plain objects and arrays of what the caller handed in
 * into frozen ones, reading every field once, and keeps the key list of every object it made. Validation, compilation
 * and the release diff then work on one immutable document: a getter cannot answer one thing to the check and
 * another to the compiler, and the caller's later edits reach nothing.
 *
 * The key lists are the point for large documents. On V8 an object with a million keys (a whitelist) is a dictionary:
 * one `Object.keys` of it costs ~0.7 s, `Object.entries` ~2.6 s, `structuredClone` ~2.5 s (`npm run bench:reload`).
 * Enumerated once here, it is not enumerated again by each later pass, which is what made a reload of a
 * 1,000,000-entry whitelist hold the event loop for ~18 s.
 */
import { isPlainObject } from '../errors.js';

/** The own keys of every object readDocument made: frozen, so its keys never change. */
const KEYS = new WeakMap<object, readonly string[]>();

/** The own enumerable keys of `o`: remembered for an object readDocument made, else `Object.keys`. */
export const keysOf = (o: object): readonly string[] => KEYS.get(o) ?? Object.keys(o);

/** Whether `o` was made by readDocument (and is therefore frozen, with every object inside it). */
export const isRead = (o: unknown): boolean => o !== null && typeof o === 'object' && KEYS.has(o);

/** A field whose read threw (a getter, a Proxy): the keys that lead to it, and what it threw. */
export class UnreadableField extends Error {
  constructor(
    readonly keys: (string | number)[],
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * No config is nested this deep (its schema stops at about 15 levels, JSON params included): below it, values are
 * kept as they are, for validation to refuse, and a cyclic or absurdly deep input cannot exhaust the stack here.
 */
const MAX_DEPTH = 64;
/** Longer than any array a config may hold (JSON params stop at 100,000 items): kept as is, for validation to refuse. */
const MAX_ITEMS = 100_000;

/**
 * A frozen copy of the plain objects and arrays in `doc`; anything else (a Map, a Date, a function) is kept as is, so
 * that validation refuses it by its path. Throws UnreadableField when reading a field throws.
 */
export function readDocument(doc: unknown, depth = 0): unknown {
  if (doc === null || typeof doc !== 'object' || depth > MAX_DEPTH) return doc;
  let keys: string[];
  try {
    if (Array.isArray(doc)) return readArray(doc, depth);
    if (!isPlainObject(doc)) return doc;
    keys = Object.keys(doc);
  } catch (e) {
    throw e instanceof UnreadableField ? e : new UnreadableField([], e); // a Proxy whose traps throw
  }
  const out: Record<string, unknown> = Object.getPrototypeOf(doc) === null ? Object.create(null) : {};
  for (const k of keys) {
    let v: unknown;
    try {
      v = readDocument((doc as Record<string, unknown>)[k], depth + 1);
    } catch (e) {
      throw at(k, e);
    }
    // `__proto__` is an own key in parsed JSON; assigned, it would set the copy's prototype. Kept as data, for
    // validation to refuse by name.
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  KEYS.set(out, keys);
  return Object.freeze(out);
}

function readArray(doc: unknown[], depth: number): readonly unknown[] {
  if (doc.length > MAX_ITEMS) return doc;
  const out = new Array<unknown>(doc.length);
  for (let i = 0; i < doc.length; i++) {
    try {
      out[i] = readDocument(doc[i], depth + 1);
    } catch (e) {
      throw at(i, e);
    }
  }
  return Object.freeze(out);
}

/** A throw while reading the field `key`, as an UnreadableField whose path starts there. */
function at(key: string | number, e: unknown): UnreadableField {
  const err = e instanceof UnreadableField ? e : new UnreadableField([], e);
  err.keys.unshift(key);
  return err;
}
