/**
 * The hash the scene table is probed with. Scene ids are few and fixed by the config, so instead of hashing every
 * character of a fresh request string, a key made of the length and five sampled characters (first, second, middle,
 * second-to-last, last) is enough to tell them apart; the table still confirms with `===`, so a collision costs a
 * probe, never a wrong scene. When a config's ids would cluster under the sample (say `scene_a_01` … `scene_z_01`
 * differing only in unsampled places), compile falls back to the full murmur3 hash.
 */
import { hash32 } from './hash.js';

export type SceneKey = (id: string) => number;

export function sampledKey(id: string): number {
  const n = id.length;
  let h = Math.imul(n, 0x9e3779b1);
  h = Math.imul(h ^ id.charCodeAt(0), 0x85ebca6b);
  h = Math.imul(h ^ id.charCodeAt(n > 1 ? 1 : 0), 0xc2b2ae35);
  h = Math.imul(h ^ id.charCodeAt(n >> 1), 0x27d4eb2f);
  h = Math.imul(h ^ id.charCodeAt(n > 1 ? n - 2 : 0), 0x165667b1);
  h = Math.imul(h ^ id.charCodeAt(n - 1), 0x9e3779b1);
  return h ^ (h >>> 15);
}

export const fullKey: SceneKey = (id) => hash32(id, 0);

/** The sampled key unless too many of these ids share one (then every probe could walk a long run). */
export function chooseSceneKey(ids: readonly string[]): SceneKey {
  const seen = new Map<number, number>();
  for (const id of ids) {
    const k = sampledKey(id);
    const n = (seen.get(k) ?? 0) + 1;
    if (n > 2) return fullKey;
    seen.set(k, n);
  }
  return sampledKey;
}
