/** Burns CPU for `ms` (a spin on the monotonic clock: the same cost on any machine, and really on the CPU). */
export function work(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 200; i++) x = (x * 1103515245 + 12345) | 0;
  return x;
}
