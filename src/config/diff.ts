/**
 * The release diff: what changed between two config documents, path by path, in words a reviewer reads.
 * Arrays of named things (layers, arms, split entries) are matched by name, so reordering or inserting one entry
 * reads as that entry, not as every later index changing.
 */
import { isPlainObject, shown, UsageError } from '../errors.js';
import { keysOf } from './document.js';
import { join } from './shape.js';

export interface ConfigChange {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const identity = (v: unknown): string | undefined =>
  isObject(v) ? (typeof v.name === 'string' ? v.name : typeof v.version === 'string' ? v.version : undefined) : undefined;

function keyed(list: unknown[]): Map<string, unknown> | null {
  const out = new Map<string, unknown>();
  for (const item of list) {
    const id = identity(item);
    if (id === undefined || out.has(id)) return null;
    out.set(id, item);
  }
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: ConfigChange[]): void {
  if (Object.is(a, b)) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    const ka = keyed(a);
    const kb = keyed(b);
    if (ka && kb) {
      for (const [id, v] of ka) walk(v, kb.get(id), `${path}[${JSON.stringify(id)}]`, out);
      for (const [id, v] of kb) if (!ka.has(id)) out.push({ path: `${path}[${JSON.stringify(id)}]`, kind: 'added', after: v });
      const orderA = [...ka.keys()].filter((k) => kb.has(k));
      const orderB = [...kb.keys()].filter((k) => ka.has(k));
      if (orderA.join('\0') !== orderB.join('\0')) out.push({ path, kind: 'changed', before: orderA, after: orderB });
      return;
    }
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) if (!Object.is(a[i], b[i])) walk(a[i], b[i], join(path, i), out);
    return;
  }
  if (isObject(a) && isObject(b)) {
    // A path is built only where something differs: a whitelist of a million equal entries builds none.
    for (const k of keysOf(a)) {
      const after = Object.hasOwn(b, k) ? b[k] : undefined;
      if (!Object.is(a[k], after)) walk(a[k], after, join(path, k), out);
    }
    for (const k of keysOf(b)) if (!Object.hasOwn(a, k)) walk(undefined, b[k], join(path, k), out);
    return;
  }
  if (a === undefined) out.push({ path, kind: 'added', after: b });
  else if (b === undefined) out.push({ path, kind: 'removed', before: a });
  else out.push({ path, kind: 'changed', before: a, after: b });
}

export function diffConfigs(before: unknown, after: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(before, after, '', out);
  return out;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export function formatChange(c: ConfigChange): string {
  if (!isPlainObject(c) || typeof c.path !== 'string') throw new UsageError(`formatChange(change): expected a change from diffConfigs, got ${shown(c)}`);
  const path = c.path || '(root)';
  if (c.kind === 'added') return `+ ${path}: ${show(c.after)}`;
  if (c.kind === 'removed') return `- ${path}: ${show(c.before)}`;
  return `~ ${path}: ${show(c.before)} → ${show(c.after)}`;
}
