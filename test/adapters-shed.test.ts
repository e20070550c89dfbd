import Fastify from 'fastify';
import express from 'express';
import type { Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gearshift } from '../src/adapters/express.js';
import { gearshiftPlugin } from '../src/adapters/fastify.js';
import { createGateway } from '../src/adapters/gateway.js';
import { createGearshift } from '../src/engine.js';
import { get, portOf } from './adapters-helpers.js';

/**
 * Shedding is the regulator's last resort; here its published state is set by hand (every request of `feed` shed,
 * Retry-After 7 s) to check what the adapters make of a shed decision: 503, Retry-After, recorded as shed, no handler.
 */
function shedding() {
  const engine = createGearshift({
    config: { scenes: { feed: { priority: 'low', versions: { main: { stage: 'base' } }, points: { depth: { gears: [1, 2, 3] } } } } },
  });
  const live = engine.regulator.scene('feed')!;
  live.shedShare = 1;
  live.retryAfterS = 7;
  return engine;
}

describe('shed decisions in the adapters', () => {
  it('Fastify: 503 with Retry-After, handler not run, recorded as shed', async () => {
    const engine = shedding();
    const app = Fastify();
    let ran = 0;
    await app.register(gearshiftPlugin, { engine });
    app.get('/', async () => ++ran);
    const r = await app.inject({ url: '/', headers: { 'x-gearshift-scene': 'feed' } });
    expect([r.statusCode, r.headers['retry-after'], r.json().error, ran]).toEqual([503, '7', 'shed', 0]);
    expect(engine.stats('feed')!.shed).toBe(1);
    await app.close();
    engine.close();
  });

  it('Express: 503 with Retry-After', async () => {
    const engine = shedding();
    const app = express();
    app.use(gearshift(engine));
    app.get('/', (_req, res) => res.send('served'));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const r = await get(portOf(server), '/', { 'x-gearshift-scene': 'feed' });
    expect([r.status, r.headers['retry-after'], JSON.parse(r.body).error]).toEqual([503, '7', 'shed']);
    await new Promise((res) => server.close(res));
    expect(engine.stats('feed')!.shed).toBe(1);
    engine.close();
  });

  it('gateway: the prebuilt shed response', () => {
    const engine = shedding();
    const gw = createGateway(engine);
    const { decision } = gw.begin('feed', 'u');
    expect(decision.reason).toBe('shed');
    const r = gw.rejection(decision);
    expect([r.status, r.headers['retry-after']]).toEqual([503, '7']);
    // the regulator's hint changes: the next shed response carries the new value, not the one cached first
    engine.regulator.scene('feed')!.retryAfterS = 3;
    expect(gw.rejection(gw.begin('feed', 'u').decision).headers['retry-after']).toBe('3');
    engine.close();
  });
});
