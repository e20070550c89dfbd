/**
 * A tiny schema language: each shape validates a JSON value with precise paths, describes itself as JSON Schema,
 * and carries its TypeScript type, so the types, the validator and the published schema come from one source.
 * (A 150-line module instead of a dependency: the config needs only these few forms, and every error must carry a path.)
 */
import { type ConfigIssue, isPlainObject, kindOf as kind } from '../errors.js';
import { keysOf, UnreadableField } from './document.js';

export interface Shape<T> {
  /** Phantom: the TypeScript type this shape accepts. */
  readonly _type?: T;
  check(value: unknown, path: string, issues: ConfigIssue[]): void;
  schema(): Record<string, unknown>;
}
export type Infer<S> = S extends Shape<infer T> ? T : never;

/** Keys that could reach an object's prototype if a consumer ever copies the document naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_STRING = 256;
/** Items in one array of a JSON value (a param): bounds the work and the issues a hostile document can cause. */
const MAX_JSON_ITEMS = 100_000;

export const join = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$-]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

/**
 * What reading a document threw (document.ts), as the issue of a refused config: at the unreadable field's path under
 * `base`, with the code callers branch on, not a stray error from inside the validator.
 */
export function unreadable(e: unknown, base: string): ConfigIssue {
  const path = e instanceof UnreadableField ? e.keys.reduce<string>((at, k) => join(at, k), base) : base;
  return { path, message: `could not be read: ${e instanceof Error ? e.message : String(e)}` };
}

/**
 * A UTF-16 surrogate that is not half of a pair: a string holding one has no UTF-8 form. TextEncoder writes it as
 * U+FFFD and `encodeURIComponent` throws, so a config version holding one broke every propagation header.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

export function str(o: { min?: number; max?: number; pattern?: RegExp; description?: string } = {}): Shape<string> {
  const max = o.max ?? MAX_STRING;
  const min = o.min ?? 0;
  return {
    check(v, path, issues) {
      if (typeof v !== 'string') return void issues.push({ path, message: `expected a string, got ${kind(v)}` });
      if (v.length > max) issues.push({ path, message: `expected at most ${max} characters, got ${v.length}` });
      else if (v.length < min) issues.push({ path, message: `expected at least ${min} character${min === 1 ? '' : 's'}` });
      else if (o.pattern && !o.pattern.test(v)) issues.push({ path, message: `expected a string matching ${o.pattern}, got ${JSON.stringify(v)}` });
      else if (LONE_SURROGATE.test(v)) issues.push({ path, message: 'expected well-formed Unicode: the string holds a lone surrogate, which has no UTF-8 form' });
    },
    schema: () => ({ type: 'string', minLength: min || undefined, maxLength: max, pattern: o.pattern?.source, description: o.description }),
  };
}

export function num(o: { min?: number; max?: number; integer?: boolean; description?: string } = {}): Shape<number> {
  return {
    check(v, path, issues) {
      if (typeof v !== 'number') return void issues.push({ path, message: `expected a number, got ${kind(v)}` });
      if (!Number.isFinite(v)) return void issues.push({ path, message: `expected a finite number, got ${v}` });
      if (o.integer && !Number.isInteger(v)) issues.push({ path, message: `expected an integer, got ${v}` });
      if (o.min !== undefined && v < o.min) issues.push({ path, message: `expected a number >= ${o.min}, got ${v}` });
      if (o.max !== undefined && v > o.max) issues.push({ path, message: `expected a number <= ${o.max}, got ${v}` });
    },
    schema: () => ({ type: o.integer ? 'integer' : 'number', minimum: o.min, maximum: o.max, description: o.description }),
  };
}

export function bool(description?: string): Shape<boolean> {
  return {
    check: (v, path, issues) => void (typeof v !== 'boolean' && issues.push({ path, message: `expected true or false, got ${kind(v)}` })),
    schema: () => ({ type: 'boolean', description }),
  };
}

export function oneOf<const T extends readonly (string | number)[]>(values: T, description?: string): Shape<T[number]> {
  return {
    check(v, path, issues) {
      if (!values.includes(v as string | number)) issues.push({ path, message: `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v) ?? kind(v)}` });
    },
    schema: () => ({ enum: [...values], description }),
  };
}

export function arr<T>(item: Shape<T>, o: { min?: number; max?: number; description?: string } = {}): Shape<readonly T[]> {
  const max = o.max ?? 10_000;
  return {
    check(v, path, issues) {
      if (!Array.isArray(v)) return void issues.push({ path, message: `expected an array, got ${kind(v)}` });
      if (v.length > max) return void issues.push({ path, message: `expected at most ${max} items, got ${v.length}` });
      if (o.min !== undefined && v.length < o.min) issues.push({ path, message: `expected at least ${o.min} item${o.min === 1 ? '' : 's'}` });
      for (let i = 0; i < v.length; i++) item.check(v[i], join(path, i), issues); // a hole reads as undefined: refused
    },
    schema: () => ({ type: 'array', items: item.schema(), minItems: o.min, maxItems: max, description: o.description }),
  };
}

function plainObject(v: unknown, path: string, issues: ConfigIssue[]): v is Record<string, unknown> {
  if (!isPlainObject(v)) {
    issues.push({ path, message: `expected ${v !== null && typeof v === 'object' && !Array.isArray(v) ? 'a plain object { … }' : 'an object'}, got ${kind(v)}` });
    return false;
  }
  for (const k of keysOf(v)) {
    if (FORBIDDEN_KEYS.has(k)) issues.push({ path: join(path, k), message: `the key ${JSON.stringify(k)} is not allowed (prototype pollution)` });
  }
  return true;
}

/** A map from names to values (`scenes`, `versions`, a whitelist): keys are validated like strings. */
export function rec<T>(value: Shape<T>, o: { key?: Shape<string>; max?: number; description?: string } = {}): Shape<Record<string, T>> {
  const key = o.key ?? str({ min: 1 });
  const max = o.max ?? 1_000_000;
  return {
    check(v, path, issues) {
      if (!plainObject(v, path, issues)) return;
      const keys = keysOf(v);
      if (keys.length > max) return void issues.push({ path, message: `expected at most ${max} entries, got ${keys.length}` });
      const scratch: ConfigIssue[] = [];
      for (const k of keys) {
        if (FORBIDDEN_KEYS.has(k)) continue;
        // Checked without a path first: a record may hold a million entries, and a path is a string built per entry.
        // Only an entry with an issue is checked again, with its path.
        key.check(k, '', scratch);
        value.check(v[k], '', scratch);
        if (scratch.length === 0) continue;
        scratch.length = 0;
        const at = join(path, k);
        const before = issues.length;
        key.check(k, at, issues);
        for (let i = before; i < issues.length; i++) issues[i] = { path: at, message: `key: ${issues[i]!.message}` };
        value.check(v[k], at, issues);
      }
    },
    schema: () => ({ type: 'object', additionalProperties: value.schema(), propertyNames: key.schema(), maxProperties: max, description: o.description }),
  };
}

interface Field<T, Optional extends boolean> {
  shape: Shape<T>;
  optional: Optional;
  default?: unknown;
  description?: string;
}
export const req = <T>(shape: Shape<T>, description?: string): Field<T, false> => ({ shape, optional: false, description });
export const opt = <T>(shape: Shape<T>, dflt?: T, description?: string): Field<T, true> => ({ shape, optional: true, default: dflt, description });

type Fields = Record<string, Field<unknown, boolean>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ObjType<F extends Fields> = Simplify<
  { [K in keyof F as F[K] extends Field<unknown, false> ? K : never]: F[K] extends Field<infer T, boolean> ? T : never } & {
    [K in keyof F as F[K] extends Field<unknown, true> ? K : never]?: F[K] extends Field<infer T, boolean> ? T : never;
  }
>;

/** An object with known fields; unknown fields are refused (a typo in a config must not be silently ignored). */
export function obj<F extends Fields>(fields: F, description?: string): Shape<ObjType<F>> {
  return {
    check(v, path, issues) {
      if (!plainObject(v, path, issues)) return;
      for (const k of keysOf(v)) {
        if (!Object.hasOwn(fields, k) && !FORBIDDEN_KEYS.has(k)) {
          issues.push({ path: join(path, k), message: `unknown field (expected one of: ${Object.keys(fields).join(', ')})` });
        }
      }
      for (const [k, f] of Object.entries(fields)) {
        const present = Object.hasOwn(v, k) && v[k] !== undefined;
        if (present) f.shape.check(v[k], join(path, k), issues);
        else if (!f.optional) issues.push({ path: join(path, k), message: 'required field is missing' });
      }
    },
    schema: () => ({
      type: 'object',
      description,
      additionalProperties: false,
      required: Object.entries(fields).filter(([, f]) => !f.optional).map(([k]) => k),
      properties: Object.fromEntries(
        Object.entries(fields).map(([k, f]) => [k, { ...f.shape.schema(), default: f.default, description: f.description ?? f.shape.schema().description }]),
      ),
    }),
  };
}

/** Accepts the first alternative that fits; reports the issues of the closest one otherwise. */
export function anyOf<A, B>(a: Shape<A>, b: Shape<B>, description?: string): Shape<A | B> {
  return {
    check(v, path, issues) {
      const ia: ConfigIssue[] = [];
      a.check(v, path, ia);
      if (ia.length === 0) return;
      const ib: ConfigIssue[] = [];
      b.check(v, path, ib);
      if (ib.length === 0) return;
      issues.push(...(ia.length <= ib.length ? ia : ib));
    },
    schema: () => ({ anyOf: [a.schema(), b.schema()], description }),
  };
}

/** Any JSON value (a param, a gear value): finite numbers, bounded strings and depth, no prototype keys. */
export function json(o: { maxDepth?: number; description?: string } = {}): Shape<JsonValue> {
  const maxDepth = o.maxDepth ?? 8;
  const s = str({ max: 4096 });
  const walk = (v: unknown, path: string, issues: ConfigIssue[], depth: number): void => {
    if (depth > maxDepth) return void issues.push({ path, message: `expected JSON nested at most ${maxDepth} deep` });
    if (v === null || typeof v === 'boolean') return;
    if (typeof v === 'number') return num().check(v, path, issues);
    if (typeof v === 'string') return s.check(v, path, issues);
    if (Array.isArray(v)) {
      if (v.length > MAX_JSON_ITEMS) return void issues.push({ path, message: `expected at most ${MAX_JSON_ITEMS} items, got ${v.length}` });
      for (let i = 0; i < v.length; i++) walk(v[i], join(path, i), issues, depth + 1); // a hole reads as undefined: refused
      return;
    }
    if (typeof v !== 'object') return void issues.push({ path, message: `expected a JSON value, got ${kind(v)}` });
    if (!plainObject(v, path, issues)) return;
    for (const k of keysOf(v)) {
      if (FORBIDDEN_KEYS.has(k)) continue;
      const at = join(path, k);
      const before = issues.length;
      s.check(k, at, issues); // a key is a string like any other: well-formed Unicode, bounded
      for (let i = before; i < issues.length; i++) issues[i] = { path: at, message: `key: ${issues[i]!.message}` };
      walk(v[k], at, issues, depth + 1);
    }
  };
  return { check: (v, path, issues) => walk(v, path, issues, 0), schema: () => ({ description: o.description }) };
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
