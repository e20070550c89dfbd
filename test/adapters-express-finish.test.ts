// The process-wide finish subscription of gearshift/express: taken with the first asynchronous response, held while
// an engine that took it is open, dropped when the last such engine closes. In a file of its own: the subscription
// is per process, and the other Express tests leave engines open.
import { channel } from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { get, observedEngine, portOf, waitFor } from './adapters-helpers.js';

const finish = channel('http.server.response.finish');
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An Express app whose handler answers after its middleware chain has returned; counts `close` listeners it sees. */
async function asyncApp() {
  const obs = observedEngine();
  const closeListeners: number[] = [];
  const app = express();
  app.use(gearshift(obs.engine));
  app.get('/', (_req, res) => {
    setTimeout(() => {
      closeListeners.push(res.listenerCount('close'));
      res.send('later');
    }, 2);
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return { ...obs, port: portOf(server), closeListeners };
}

const headers = { 'x-gearshift-scene': 'feed', 'x-gearshift-unit': 'bob' };

describe('the finish subscription of gearshift/express', () => {
  it('is taken with the first asynchronous response and dropped when the last engine holding it closes', async () => {
    expect(finish.hasSubscribers).toBe(false);
    const a = await asyncApp();
    const b = await asyncApp();
    expect(finish.hasSubscribers).toBe(false); // nothing yet: no response has been watched

    await get(a.port, '/', headers);
    await get(b.port, '/', headers);
    await waitFor(() => a.recorded().length === 1 && b.recorded().length === 1);
    expect(finish.hasSubscribers).toBe(true);
    expect([...a.closeListeners, ...b.closeListeners]).toEqual([0, 0]); // parked on the socket, recorded at finish

    a.engine.close();
    expect(finish.hasSubscribers).toBe(true); // b still holds it
    await get(b.port, '/', headers);
    await waitFor(() => b.recorded().length === 2);
    expect(b.closeListeners).toEqual([0, 0]);

    b.engine.close();
    expect(finish.hasSubscribers).toBe(false);

    // A closed engine still routes and records: its middleware now listens on each response instead.
    await get(a.port, '/', headers);
    await waitFor(() => a.recorded().length === 2);
    expect(a.closeListeners).toEqual([0, 1]);
    expect(finish.hasSubscribers).toBe(false);
    expect(a.recorded().map((c) => c.outcome)).toEqual(['success', 'success']);
  });

  it('is never taken for an engine closed before its first response', async () => {
    const c = await asyncApp();
    c.engine.close();
    await get(c.port, '/', headers);
    await waitFor(() => c.recorded().length === 1);
    expect(finish.hasSubscribers).toBe(false);
    expect(c.closeListeners).toEqual([1]);
  });
});
