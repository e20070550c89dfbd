// Shared by the benches of work that runs on the event loop (the regulator's tick, a scrape): how long a request
// arriving while it runs would wait.

/**
 * Runs `start` on a turn of the event loop and resolves with the longest gap (ms) between two turns until the promise
 * it returns settles: a probe re-arms a setImmediate on every turn.
 */
export function longestGap(start) {
  return new Promise((resolve) => {
    let last = performance.now();
    let longest = 0;
    let done = false;
    const probe = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      if (done) resolve(longest);
      else setImmediate(probe);
    };
    setImmediate(() => {
      last = performance.now();
      start().then(() => (done = true));
      probe();
    });
  });
}
