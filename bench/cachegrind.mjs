// Counting a node process's instructions with `valgrind --tool=cachegrind`, shared by the *-icount benches.
//
// V8's randomness is fixed (hash and random seeds; --predictable: single-threaded, no concurrent compiler or GC
// threads), so two runs of the same work count the same to within a few instructions per call.
import { spawn } from 'node:child_process';

/** valgrind and node arguments, up to the script node runs. */
export const CACHEGRIND_ARGS = [
  '--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
  process.execPath, '--predictable', '--predictable-gc-schedule', '--no-memory-reducer', '--hash-seed=42', '--random-seed=42',
];

/** The total from cachegrind's summary on stderr, or undefined when there is none. */
export function instructionsIn(stderr) {
  const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  return match ? Number(match[1].replaceAll(',', '')) : undefined;
}

/** Instructions of one run of `script args…` to its exit; `what` names it in an error. */
export function countRun(what, script, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', [...CACHEGRIND_ARGS, script, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => {
      const n = instructionsIn(stderr);
      if (code !== 0 || n === undefined) reject(new Error(`${what}: worker exited ${code}:\n${stderr.slice(-2000)}`));
      else resolve(n);
    });
  });
}
