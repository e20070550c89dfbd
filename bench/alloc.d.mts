/** Young-generation bytes `fn(n)` allocates per call (see alloc.mjs); shared with the unit tests. */
export function bytesPerCall(fn: (n: number) => void, n?: number): number;
