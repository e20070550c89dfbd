/** Shared by the adapter tests: an engine whose completions are observable, and a raw HTTP client on loopback. */
import { type Agent, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGearshift, type Gearshift } from '../src/engine.js';
import type { Decision } from '../src/route/decision.js';
import { OUTCOME_NAMES } from '../src/sense/outcome.js';
import { afterEach } from 'vitest';

export const KEY = 'test-key-0123456789-0123456789-abcdef';

export const adapterConfig = (deployedHere: '*' | string[] = '*') => ({
  version: 'cfg-1',
  deployedHere,
  scenes: {
    feed: {
      rtBudgetMs: 200,
      versions: { main: { stage: 'base' as const }, canary: { stage: 'up' as const }, wip: { stage: 'dev' as const }, soak: { stage: 'lt' as const } },
      whitelist: { alice: 'wip' },
      split: [
        { version: 'canary', weight: 50 },
        { version: 'main', weight: 50 },
      ],
      params: { depth: 100 },
    },
    search: { rtBudgetMs: 50, versions: { v1: { stage: 'base' as const } } },
    elsewhere: { versions: { v1: { stage: 'base' as const } } },
  },
});

export interface Completion {
  decision: Decision;
  outcome: string;
  rtMs: number | undefined;
  recorded: boolean;
}

/** An engine whose `complete` calls are logged (and still recorded by sensing). */
export function observedEngine(deployedHere: '*' | string[] = ['feed', 'search']): { engine: Gearshift; completions: Completion[]; recorded: () => Completion[] } {
  const engine = createGearshift({ config: adapterConfig(deployedHere) });
  const completions: Completion[] = [];
  const orig = engine.complete.bind(engine);
  engine.complete = ((decision: Decision, outcome: unknown, rtMs?: number) => {
    const recorded = orig(decision, outcome as never, rtMs);
    completions.push({ decision, outcome: typeof outcome === 'number' ? OUTCOME_NAMES[outcome]! : String(outcome), rtMs, recorded });
    return recorded;
  }) as Gearshift['complete'];
  return { engine, completions, recorded: () => completions.filter((c) => c.recorded) };
}

export const portOf = (server: Server): number => (server.address() as AddressInfo).port;

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with node:http (full control over headers; no keep-alive). */
/** A GET over a new connection, or over `agent`'s (keep-alive). */
export function get(port: number, path: string, headers: Record<string, string> = {}, agent: Agent | false = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends a request and destroys the connection after `afterMs`, before the answer. */
/**
 * Sends a request and goes away `afterMs` later, once `reached()` holds too (the server has routed it): on a busy
 * machine a fixed delay alone let the client leave before the server saw the request, and nothing was recorded.
 */
export function abortAfter(port: number, path: string, headers: Record<string, string>, afterMs: number, reached: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.end();
    const leave = () => {
      req.destroy();
      resolve();
    };
    setTimeout(() => void waitFor(reached).then(leave, leave), afterMs);
  });
}

/** Polls until `pred` holds or `ms` passed. */
export async function waitFor(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lists for the servers, Fastify apps and engines a test file starts, closed after each test. */
export function closedAfterEach(): { servers: Server[]; apps: { close(): Promise<unknown> }[]; engines: Gearshift[] } {
  const made = { servers: [] as Server[], apps: [] as { close(): Promise<unknown> }[], engines: [] as Gearshift[] };
  afterEach(async () => {
    await closeAll(made.servers, made.apps);
    for (const e of made.engines.splice(0)) e.close();
  });
  return made;
}

/** Closes (and forgets) the servers and Fastify apps a test started: open connections first, so nothing waits on keep-alive. */
export async function closeAll(servers: Server[], apps: { close(): Promise<unknown> }[] = []): Promise<void> {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(apps.splice(0).map((a) => a.close()));
}
