// Bytes of young-generation heap a call allocates, for the benches' "no allocation" budgets. V8 exposes no allocation
// counter, so this reads new-space usage around `n` calls and keeps the smallest positive growth over 15 tries: a
// scavenge in between shows as a drop and is skipped. Accurate to a fraction of a byte per call for n = 20,000.
import v8 from 'node:v8';

/** Bytes in use in V8's young generation now. */
export const youngBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;

export function bytesPerCall(fn, n = 20_000) {
  const young = youngBytes;
  let best = Infinity;
  for (let round = 0; round < 15; round++) {
    const before = young();
    fn(n);
    const after = young();
    if (after >= before) best = Math.min(best, (after - before) / n);
  }
  return best;
}
