/** Young-generation bytes `fn(n)` allocates per call (see alloc.mjs); shared with the unit tests. */
export function bytesPerCall(fn: (n: number) => void, n?: number): number;
/** Bytes in use in V8's young generation now. */
export function youngBytes(): number;
