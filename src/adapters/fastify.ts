/**
 * `gearshift/fastify`: a Fastify 5 plugin (wrapped with fastify-plugin, so its decorations reach your routes).
 *
 *   await app.register(gearshiftPlugin, { engine, scene: { param: 'scene' } });
 *   app.get('/s/:scene', async (request) => ({ version: request.gearshift?.version, depth: request.gearshift?.param('depth') }));
 *
 * It decorates `request.gearshift` (the Decision), `request.gearshiftSignal` (an AbortSignal created on first read:
 * aborts when the scene's RT budget is used up or the client goes away) and `request.gearshiftRemainingMs`.
 * Its `onRequest` hook is an instance hook, so it reaches every route of the instance it is registered on (declared
 * before or after). Per route, `config: { gearshift: false }` leaves the route alone and
 * `config: { gearshift: { scene: 'feed' } }` fixes its scene.
 *
 * Outcomes are recorded once per request: when the hook chain returns if the handler has ended the response by then,
 * else right after the handler's `end()` or when the connection closes first (response-watch.ts). 5xx → error, closed
 * by the client before it finished → client abort, cut by the server (a failed stream, a socket timeout) → error; the
 * engine turns any answer slower than the budget into a timeout.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Gearshift } from '../engine.js';
import { UsageError } from '../errors.js';
import type { RoutedDecision } from '../route/decision.js';
import { type AdapterOptions, AdapterCore, type HostAccess, PLAIN_RESPONSE } from './core.js';
import { isServerError, Outcome } from './outcome.js';
import type { Trust, TrustCounts } from './trust.js';
import type { RequestStart } from './request-start.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The gearshift decision (null when the request named no scene and `missingScene` is `skip`). Always served in a
     * route handler; `onSend` and `onResponse` hooks see rejections too. `ok` narrows it.
     */
    gearshift: RoutedDecision | null;
    /** AbortSignal of this request: RT budget used up (`TimeoutError`) or client gone (`AbortError`). Lazy. */
    readonly gearshiftSignal: AbortSignal;
    /** Milliseconds left of the request's RT budget (Infinity without a decision). */
    readonly gearshiftRemainingMs: number;
  }
  interface FastifyContextConfig {
    /** `false`: gearshift leaves this route alone. `{ scene }`: the route's fixed scene. */
    gearshift?: false | { scene: string };
  }
  interface FastifyInstance {
    /** The gearshift adapter of this instance: its trust settings and counts. */
    readonly gearshiftAdapter: { readonly trust: Trust; trustCounts(): TrustCounts; readonly requestStart: RequestStart | null };
  }
}

export interface FastifyGearshiftOptions extends AdapterOptions<FastifyRequest> {
  /** The engine from `createGearshift()`. */
  engine: Gearshift;
}

const FASTIFY_HOST: HostAccess<FastifyRequest> = {
  params: (req) => req.params as Record<string, string | undefined> | undefined,
  socket: (req) => req.raw.socket,
  ...PLAIN_RESPONSE,
};

/** Fastify's own `register` options, which reach the plugin's options object too. */
const FASTIFY_REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers'];

const plugin: FastifyPluginCallback<FastifyGearshiftOptions> = (fastify: FastifyInstance, options, done) => {
  const { engine, ...rest } = options ?? ({} as FastifyGearshiftOptions);
  if (!engine) return done(new UsageError('gearshift/fastify: register(plugin, { engine }) needs the engine from createGearshift()'));
  // Registered twice where one registration reaches (the plugin skips encapsulation): Fastify's decorate would throw
  // out of avvio, past ready(), and end the process (until the twentieth session). One registration serves the whole
  // app; a route's own scene is its `config.gearshift`.
  if (fastify.hasRequestDecorator('gearshift')) {
    return done(new UsageError("gearshift/fastify: registered twice on one app: register it once, and give a route its own scene with config: { gearshift: { scene } }"));
  }
  let core: AdapterCore<FastifyRequest>;
  try {
    core = new AdapterCore<FastifyRequest>(engine, rest, FASTIFY_HOST, FASTIFY_REGISTER_KEYS);
  } catch (err) {
    return done(err as Error);
  }
  /** The core of a route with `config: { gearshift: { scene } }` (one per scene, made on first use), or null if malformed. */
  const fixedCores = new Map<string, AdapterCore<FastifyRequest>>();
  const coreOfRoute = (cfg: unknown): AdapterCore<FastifyRequest> | null => {
    const scene = (cfg as { scene?: unknown } | null)?.scene;
    if (typeof scene !== 'string' || scene.length === 0) return null;
    let c = fixedCores.get(scene);
    if (!c) fixedCores.set(scene, (c = new AdapterCore<FastifyRequest>(engine, { ...rest, trust: core.trust, requestStart: core.requestStart ?? false, scene: { value: scene } }, FASTIFY_HOST, FASTIFY_REGISTER_KEYS)));
    return c;
  };

  // A malformed route config is refused when the route is declared, with its method and path. Routes declared before
  // the plugin are not seen here: the request hook answers theirs with a 500 naming the same fault.
  fastify.addHook('onRoute', (route) => {
    const cfg = (route.config as { gearshift?: unknown } | undefined)?.gearshift;
    if (cfg !== undefined && cfg !== false && coreOfRoute(cfg) === null) throw new UsageError(`route ${String(route.method)} ${route.url}: ${BAD_ROUTE_CONFIG}`);
  });
  fastify.decorateRequest('gearshift', null);
  fastify.decorateRequest('gearshiftSignal', {
    getter(this: FastifyRequest): AbortSignal {
      const d = this.gearshift;
      if (!d) return new AbortController().signal;
      return core.signal(d, (d.response as ServerResponse | null) ?? undefined);
    },
  });
  fastify.decorateRequest('gearshiftRemainingMs', {
    getter(this: FastifyRequest): number {
      return this.gearshift ? core.remainingMs(this.gearshift) : Infinity;
    },
  });
  fastify.decorate('gearshiftAdapter', { trust: core.trust, trustCounts: () => core.trust.counts(), requestStart: core.requestStart });

  // A thrown server error counts as one even when an error handler answers it 200 (a fallback). Fastify runs
  // `onError` hooks only for errors, before the error handler, so this costs a request that succeeds nothing.
  fastify.addHook('onError', function gearshiftOnError(request, _reply, error, done) {
    const d = request.gearshift;
    if (d && d.ok && isServerError(error) && request.raw.aborted !== true) core.complete(d, Outcome.Error);
    done();
  });

  // One instance hook (it reaches routes declared before and after the plugin loads), in one function: the route's
  // own `config.gearshift` is read per request from the route context (three property reads, no allocation), and the
  // common case, a route without one, goes straight on (a second hook function per case cost a call per request).
  fastify.addHook('onRequest', function gearshiftOnRequest(request, reply, next) {
    const cfg = routeConfigOf(request);
    let c = core;
    if (cfg !== undefined) {
      if (cfg === false) return next();
      const fixed = coreOfRoute(cfg);
      if (fixed === null) return next(new UsageError(`route ${request.method} ${request.url}: ${BAD_ROUTE_CONFIG}`));
      c = fixed;
    }
    const d = c.decide(request, request.raw.headers);
    request.gearshift = d;
    if (d === null) return next();
    if (!d.ok) {
      const r = c.rejections.of(d);
      c.complete(d, r.outcome);
      reply.code(r.status).headers(r.headersFor(d)).send(r.body);
      return; // the reply is sent: the chain stops here
    }
    if (c.debugHeaders) c.writeDebugHeaders(d, (k, v) => reply.header(k, v));
    d.response = reply.raw;
    next(); // returns once the rest of the chain has run as far as it runs synchronously
    if (c.recordIfEnded(d, reply.raw)) return;
    // A hijacked reply is ended by the handler itself, which may hold the raw `end` already (`reply.raw.end(await
    // x)` reads it before the await): shadowing it now would be too late, so Node's finish report records it.
    if (reply.sent) c.watchFinish(d, reply.raw, request.raw.socket);
    else c.watchEnd(d, reply.raw);
  });
  done();
};

const BAD_ROUTE_CONFIG = 'config.gearshift must be false or { scene: string }';

/** The symbol under which Fastify keeps a request's route context (found once, by its description). */
let kContext: symbol | null | undefined;
function routeConfigOf(request: FastifyRequest): unknown {
  if (kContext === undefined) kContext = Object.getOwnPropertySymbols(request).find((s) => s.description === 'fastify.context') ?? null;
  const config = kContext !== null ? (request as unknown as Record<symbol, { config?: { gearshift?: unknown } } | undefined>)[kContext]?.config : request.routeOptions.config;
  return (config as { gearshift?: unknown } | undefined)?.gearshift;
}

/** The plugin: `app.register(gearshiftPlugin, { engine, ...options })`. */
export const gearshiftPlugin = fp(plugin, { name: 'gearshift', fastify: '5.x' });
export default gearshiftPlugin;
export { createTrust, Trust, type TrustCounts, type TrustOptions, type TrustRefusal, type SignableHint, type SignedHint, type ProxyRanges } from './trust.js';
export { propagate, propagationHeaders, type PropagateOptions } from './propagate.js';
export type { AdapterOptions, SceneSource, UnitSource, HintHeaders } from './core.js';
export type { RejectionOverrides, RejectionReason, RejectionSpec } from './reject.js';
export { RequestStart, type RequestStartCounts, type RequestStartOptions } from './request-start.js';
export type { ProxyOffset } from './proxy-clock.js';
