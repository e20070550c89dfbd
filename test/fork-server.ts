/** Shared by the end-to-end tests: a server script in a child process that sends `{ port }` once it listens. */
import { type ChildProcess, fork } from 'node:child_process';
import { afterEach } from 'vitest';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.connected) c.disconnect();
});

/** Forks `script` with `env` (over this process's), and resolves with its port; disconnected after each test. */
export async function forkServer(script: string, env: Record<string, string>): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(script, [], { env: { ...(process.env as Record<string, string>), ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { port, child };
}
