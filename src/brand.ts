/**
 * Recognising the package's own objects across its two builds. An app may load the engine as ESM while a CommonJS
 * dependency requires an adapter; each build has its own classes, so `instanceof` would refuse a decision or a
 * Trust made by the other. A registered symbol (`Symbol.for`) is the same in both, so a mark under it is what is
 * checked instead.
 */

/** Marks every instance of `cls` under `gearshift.<name>` and returns the check for the mark. */
export function brand<T extends object>(cls: abstract new (...args: never[]) => T, name: string): (x: unknown) => x is T {
  const mark = Symbol.for(`gearshift.${name}`);
  Object.defineProperty(cls.prototype, mark, { value: true });
  return (x: unknown): x is T => typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[mark] === true;
}
