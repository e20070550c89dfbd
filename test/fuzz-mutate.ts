/**
 * Mutations of a JSON-like document for the fuzz tests (a config, a regulator snapshot): one field set to a hostile
 * value, removed, copied, nudged, replaced by another field's value, or one of its keys renamed.
 */
import { anyChar, type Rng } from './fuzz.js';

export type Path = (string | number)[];
export type Node = Record<string | number, unknown>;

/** Every path to a value in the document, containers included. */
function paths(doc: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (at.length > 0) out.push(at);
  if (doc === null || typeof doc !== 'object') return out;
  let keys: string[];
  try {
    // Into arrays and plain objects only: a String wrapper's characters or a typed array's bytes are not fields.
    const proto: unknown = Object.getPrototypeOf(doc);
    if (!Array.isArray(doc) && proto !== Object.prototype && proto !== null) return out;
    keys = Object.keys(doc);
  } catch {
    return out; // a hostile value put there by an earlier mutation
  }
  for (const k of keys) {
    let v: unknown;
    try {
      v = (doc as Node)[k];
    } catch {
      continue;
    }
    paths(v, [...at, Array.isArray(doc) ? Number(k) : k], out);
  }
  return out;
}
const parentOf = (doc: unknown, path: Path) => path.slice(0, -1).reduce<unknown>((o, k) => (o as Node)[k], doc) as Node;
const valueAt = (doc: unknown, path: Path) => path.reduce<unknown>((o, k) => (o as Node)[k], doc);

/** Values a document should never hold, or holds only in some places. */
export function hostile(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => r.pick([null, undefined, true, false, 0, -1, 0.5, 1e-9, 1e308, -0, NaN, Infinity, -Infinity, 2 ** 53, 101, 64, 65]),
    () => r.pick(['', ' ', 'base', 'dev', 'lt', 'up', 'auto', 'nope', '__proto__', 'constructor', 'main', 'canary', 'wip', 'soak', '25:00:00', '00:00:60', '2026-02-30T10:00:00', 'Mars/Olympus', 'low', 'high']),
    () => r.chars(r.length(5000), anyChar),
    () => r.pick([[], [1], ['main'], [null], new Array(3), {}, { x: 1 }, { __proto__: null }, JSON.parse('{"__proto__": {"polluted": 1}}')]),
    () => r.pick([10n, Symbol('s'), () => 1, new Map([['a', 'b']]), new Date(0), /re/, new Uint8Array(2), new String('base'), new Number(1), Promise.resolve(1)]),
    () => Object.defineProperty({}, 'k', { enumerable: true, get: () => { throw new Error('getter'); } }),
    () => new Proxy({}, { ownKeys: () => { throw new Error('ownKeys'); } }),
    () => { let deep: unknown = 1; for (let i = 0; i < 20; i++) deep = [deep]; return deep; },
  ])();
}

/** What one mutation did: the path it touched (for a copy or a rename, the new field's), and how. */
export interface Mutation {
  path: Path;
  what: string;
  /** The new key of a renamed field. */
  renamed?: string;
}

/** One mutation of `doc`, in place. */
export function mutateOnce(doc: unknown, r: Rng): Mutation {
  const all = paths(doc);
  const path = r.pick(all);
  const parent = parentOf(doc, path);
  const key = path[path.length - 1]!;
  const old = parent[key];
  switch (r.int(6)) {
    case 0: {
      const v = hostile(r);
      parent[key] = v;
      return { path, what: `set to ${shownValue(v)}` };
    }
    case 1:
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      return { path, what: 'removed' };
    case 2: {
      const name = r.pick(['extra', 'Version', '__proto__', 'constructor', key + 'x', r.chars(1 + r.int(8), anyChar)]);
      if (Array.isArray(parent)) {
        parent.push(structuredCloneOrSame(old));
        return { path: [...path.slice(0, -1), parent.length - 1], what: `repeated from ${String(key)}` };
      }
      Object.defineProperty(parent, name, { value: structuredCloneOrSame(old), enumerable: true, configurable: true, writable: true });
      return { path: [...path.slice(0, -1), name], what: `copied from ${String(key)}` };
    }
    case 3:
      if (typeof old === 'number') {
        parent[key] = r.pick([old * 10, -old, old + 0.001, old - 1, old + 1, Math.round(old / 2)]);
        return { path, what: `nudged ${old} → ${String(parent[key])}` };
      }
      parent[key] = typeof old === 'string' ? old + r.pick(['x', ' ', '\u0000', '/']) : hostile(r);
      return { path, what: 'changed' };
    case 4: {
      const other = r.pick(all);
      const v = structuredCloneOrSame(valueAt(doc, other)); // paths() read it: it does not throw
      parent[key] = v;
      return { path, what: `replaced by the value at ${other.join('.')}` };
    }
    default: {
      if (old !== null && typeof old === 'object' && !Array.isArray(old)) {
        try {
          const keys = Object.keys(old);
          if (keys.length > 0) {
            const k = r.pick(keys);
            const renamed = r.pick(['elsewhere', 'main', 'feed', k.toUpperCase(), `${k} `, 'a'.repeat(200)]);
            (old as Node)[renamed] = (old as Node)[k];
            if (renamed !== k) delete (old as Node)[k];
            return { path: [...path, k], what: `renamed to ${JSON.stringify(renamed)}`, renamed };
          }
        } catch {
          // a hostile value an earlier mutation put here: replace it instead
        }
      }
      parent[key] = hostile(r);
      return { path, what: 'replaced' };
    }
  }
}

function structuredCloneOrSame(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

export function shownValue(v: unknown): string {
  try {
    return typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function' ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 60);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

