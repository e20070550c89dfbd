// Starting and asking the bench servers of bench/http-server.mjs, shared by the benches that run them natively.
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));

/** Whether `taskset` can pin processes here (Linux with util-linux). */
export const taskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/** A command that runs node with `args` pinned to `core` (unpinned without taskset). */
export const pinned = (core, args) => (taskset ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args]);

/** Starts one server of bench/http-server.mjs on `core`; resolves once it reports its port. */
export function startServer(kind, core = 0, env = process.env) {
  const [cmd, args] = pinned(core, [here('./http-server.mjs'), kind]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ kind, child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

/** A server's answer to `cmd`: `cpu` (process.cpuUsage() and its request count) or `alloc` (its allocation deltas). */
export const ask = (server, cmd = 'cpu') =>
  new Promise((resolve) => {
    server.child.once('message', resolve);
    server.child.send({ cmd });
  });

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
