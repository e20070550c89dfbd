/**
 * A Decision is the one object the router allocates per request: which scene, version and stage, why, and the
 * bucket it came from. Layer arms and params are derived on demand from the unit hash and the compiled tables the
 * decision was made with, so a request that never reads a param pays nothing for layers, and a config swap never
 * changes a decision already handed out.
 */
import { brand } from '../brand.js';
import type { Stage } from '../config/schema.js';
import type { JsonValue } from '../config/shape.js';
import { bucketOf } from './hash.js';
import type { CompiledLayer, CompiledScene, CompiledVersion } from './tables.js';

/** Why the request got its version (or was rejected). Stable strings: safe to log, count and alert on. */
export const Reason = {
  /** A trusted explicit-version hint named this version. */
  Explicit: 'explicit',
  /** Trusted load-test traffic, sent to the scene's `lt` version. */
  LoadTest: 'load_test',
  /** The unit is pinned to this version by the scene's whitelist. */
  Whitelist: 'whitelist',
  /** The unit's bucket in the code-experiment split. */
  Split: 'split',
  /** No usable unit id: the scene's base version, and in every layer that applies to it the first arm with traffic. */
  NoUnit: 'no_unit',
  /** Rejected: the scene id is not a non-empty string of at most 256 characters. */
  InvalidScene: 'invalid_scene',
  /** Rejected: no such scene in the config. */
  UnknownScene: 'unknown_scene',
  /** Rejected: the scene exists but this process does not host it. */
  NotDeployed: 'not_deployed',
  /** Rejected: trusted load-test traffic for a scene without an `lt` version (never served by base or up instead). */
  NoLoadTestVersion: 'no_lt_version',
  /** Rejected by the regulator's last resort (every gear at its floor, a goal still violated): 503 + Retry-After. */
  Shed: 'shed',
  /**
   * Rejected: load-test traffic whose signed marker has expired. The `lt` version needs a current token, and the
   * production versions must never take a load test.
   */
  ExpiredLoadTest: 'expired_load_test',
  /**
   * Rejected: the request had waited past its scene's RT budget before it was read (a trusted proxy's
   * `X-Request-Start`, with `requestStart.late: 'reject'`). Its caller has given up; recorded as a timeout.
   */
  Late: 'late',
} as const;
export type ReasonCode = (typeof Reason)[keyof typeof Reason];
export const REASONS: readonly ReasonCode[] = Object.values(Reason);
/** reason → its index in REASONS, as a frozen object with constant keys (cheaper than a Map on the hot path). */
export const REASON_ORDINAL: Readonly<Record<ReasonCode, number>> = Object.freeze(Object.fromEntries(REASONS.map((r, i) => [r, i])) as Record<ReasonCode, number>);

/** Hints the router ignored, as bits of `Decision.ignored`. */
export const Ignored = {
  /** An explicit version arrived without trust. */
  UntrustedVersion: 1,
  /** A trusted explicit version names no version of this scene (or an `lt` version outside load-test traffic). */
  UnknownVersion: 2,
  /** A load-test marker arrived without trust: routed as ordinary traffic. */
  UntrustedLoadTest: 4,
  /** The unit id was not a string of 1–256 characters: routed as if absent. */
  InvalidUnit: 8,
} as const;
export const IGNORED_NAMES: Readonly<Record<number, string>> = {
  1: 'untrusted_version',
  2: 'unknown_version',
  4: 'untrusted_load_test',
  8: 'invalid_unit',
};

/**
 * The live gears of the decision's scene, as the regulator publishes them (see regulate/live.ts). An interface here so
 * that the router does not depend on the regulator.
 */
export interface GearReader {
  gear(point: string): JsonValue | undefined;
  gearIndex(point: string): number;
  gearFor(point: string, score: number): JsonValue | undefined;
  readonly retryAfterS: number;
}

/** Set in `unitLo` when the unit does not choose layer arms (see there). */
const NO_ARMS = 0x10000;

export class Decision {
  // Mutable request state, declared here so every Decision has the same shape (one hidden class on the hot path).
  /** When the request started (ms on the engine's clock): stamped by `engine.route`, or given by the host. */
  startedAt = 0;
  /** Served below the top gear: set by the regulator part or the host; a good answer then counts as degraded. */
  degraded = false;
  /** @internal Set by `engine.complete`: a request is recorded once. */
  completed = false;
  /** @internal the scene's live gears, set by `engine.route` (null without a regulator or for unknown scenes). */
  gears: GearReader | null = null;
  /** @internal the request's AbortSignal, created by an adapter only when a handler asks for it. */
  signal: AbortSignal | null = null;
  /**
   * @internal the host's response, kept by an adapter whose request does not lead to it (Fastify's), for the signal:
   * the raw request closes as soon as its body has been read, the response only when the exchange ends.
   */
  response: object | null = null;

  /** The scene id (the configured one; for rejections, the requested id if it was a usable string, else null). */
  readonly scene: string | null;
  readonly reason: ReasonCode;
  /** The unit's bucket (0–9999) in the scene's code split, or -1 when the split was not consulted. */
  readonly bucket: number;
  readonly configVersion: string;
  /** Bits of `Ignored`: hints present on the request that did not influence it. */
  readonly ignored: number;
  /** True for trusted load-test traffic: sensing keeps it apart from business figures. */
  readonly loadTest: boolean;
  /** @internal the compiled version this decision was made with (null for rejections) */
  readonly compiled: CompiledVersion | null;
  /** @internal the compiled scene, also for rejections of a known scene */
  readonly compiledScene: CompiledScene | null;
  // The unit hash in two 16-bit halves: a uint32 does not fit V8's 31-bit small integers, and a field holding one
  // would be boxed, i.e. a second allocation per request. Bit 16 of `unitLo` says the unit does not pick layer arms
  // (none was given, or the decision was shed): an integer test, where a boolean field took V8's generic truth test
  // on every param read.
  private readonly unitHi: number;
  private readonly unitLo: number;

  constructor(
    scene: string | null,
    reason: ReasonCode,
    bucket: number,
    configVersion: string,
    ignored: number,
    loadTest: boolean,
    unitHash: number,
    hasUnit: boolean,
    compiled: CompiledVersion | null,
    compiledScene: CompiledScene | null,
  ) {
    this.scene = scene;
    this.reason = reason;
    this.bucket = bucket;
    this.configVersion = configVersion;
    this.ignored = ignored;
    this.loadTest = loadTest;
    this.compiled = compiled;
    this.compiledScene = compiledScene;
    this.unitHi = unitHash >>> 16;
    this.unitLo = hasUnit ? unitHash & 0xffff : (unitHash & 0xffff) | NO_ARMS;
  }

  /** The version name, or null when rejected (read from the compiled version: one source). */
  get version(): string | null {
    return this.compiled === null ? null : this.compiled.name;
  }

  get stage(): Stage | null {
    return this.compiled === null ? null : this.compiled.stage;
  }

  /** murmur3 of the unit id (0 without one): with the layer seeds, it gives every layer's arm. */
  get unitHash(): number {
    return ((this.unitHi << 16) | (this.unitLo & 0xffff)) >>> 0;
  }

  /** False for rejections: the request must not be served by any version. */
  get ok(): boolean {
    return this.compiled !== null;
  }

  /** The scene's RT budget in ms (0 when the scene is unknown). */
  get rtBudgetMs(): number {
    return this.compiledScene?.rtBudgetMs ?? 0;
  }

  /**
   * The current gear of a regulation point of this scene (its configured value: a depth, a model name), read live
   * from the regulator; undefined for a point the scene does not have. Pass the point name as a literal.
   */
  gear<T extends JsonValue = JsonValue>(point: string): T | undefined {
    return this.gears?.gear(point) as T | undefined;
  }

  /** The current gear index of a point (0 = cheapest), or −1 for an unknown point. */
  gearIndex(point: string): number {
    return this.gears === null ? -1 : this.gears.gearIndex(point);
  }

  /**
   * DCAF: the gear for a request worth `score` (1 = an average request): the gear maximising value·score − λ·cost
   * within the regulator's allowance, so that requests worth more get richer gears.
   */
  gearFor<T extends JsonValue = JsonValue>(point: string, score: number): T | undefined {
    return this.gears?.gearFor(point, score) as T | undefined;
  }

  /** Retry-After hint (s) of a shed decision; 0 otherwise. */
  get retryAfterSec(): number {
    return this.reason === Reason.Shed ? (this.gears?.retryAfterS ?? 0) : 0;
  }

  /** The value of a business param for this request: its layer arm's value, else the scene default, else undefined. */
  param<T extends JsonValue = JsonValue>(name: string): T | undefined {
    if (typeof name !== 'string') return undefined;
    const sameLength = this.compiled?.paramsByLength[name.length];
    if (sameLength === undefined) return undefined;
    for (let i = 0; i < sameLength.length; i++) {
      const src = sameLength[i]!;
      if (src.name === name) return src.values[src.layer === null ? 0 : this.armIndex(src.layer)] as T | undefined;
    }
    return undefined;
  }

  /**
   * Every business param this request gets, name → value, as `param(name)` reads each (allocates: for logging and
   * debugging, not the hot path). Empty for a rejection.
   */
  params(): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = Object.create(null);
    for (const sameLength of this.compiled?.paramsByLength ?? []) {
      for (const src of sameLength ?? []) {
        const value = src.values[src.layer === null ? 0 : this.armIndex(src.layer)];
        if (value !== undefined) out[src.name] = value;
      }
    }
    return out;
  }

  /** The arm this request got in a layer, or undefined if the layer does not apply to this version. */
  arm(layer: string): string | undefined {
    const layers = this.compiled?.layers;
    if (!layers) return undefined;
    for (let i = 0; i < layers.length; i++) if (layers[i]!.name === layer) return layers[i]!.arms[this.armIndex(layers[i]!)]!.name;
    return undefined;
  }

  /** Every applicable layer → arm (allocates: for logging and debugging, not the hot path). */
  arms(): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const layer of this.compiled?.layers ?? []) out[layer.name] = layer.arms[this.armIndex(layer)]!.name;
    return out;
  }

  /** One line a human can read: why this request got this version. */
  explain(): string {
    const ignored = Object.entries(IGNORED_NAMES).filter(([bit]) => this.ignored & Number(bit)).map(([, n]) => n);
    const where = this.ok ? `${this.scene}@${this.version} (${this.stage})` : `rejected ${this.scene === null ? '' : JSON.stringify(this.scene)}`.trim();
    const bucket = this.bucket >= 0 ? ` bucket=${this.bucket}` : '';
    const arms = Object.entries(this.arms()).map(([l, a]) => ` ${l}=${a}`).join('');
    return `${where}: ${this.reason}${bucket}${arms} config=${this.configVersion}${ignored.length ? ` ignored=${ignored.join(',')}` : ''}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      scene: this.scene, version: this.version, stage: this.stage, reason: this.reason, bucket: this.bucket,
      configVersion: this.configVersion, arms: this.arms(), loadTest: this.loadTest,
      ignored: Object.entries(IGNORED_NAMES).filter(([bit]) => this.ignored & Number(bit)).map(([, n]) => n),
    };
  }

  private armIndex(layer: CompiledLayer): number {
    const lo = this.unitLo;
    return lo > 0xffff ? layer.noUnitArm : layer.arm.ownerOf(bucketOf(layer.salt, (this.unitHi << 16) | lo));
  }
}

/**
 * Is `x` a decision made by a gearshift router of either build (not a copy, not a look-alike)? For adapters, which
 * may come from the other build. The engine itself checks with `instanceof`: it only ever sees decisions of its own
 * router, and on Fastify that costs 7 instructions per request where reading the mark costs 30.
 */
export const isDecision = brand(Decision, 'decision');

/**
 * A decision served by a version: `ok` is true, and scene, version and stage are set. Routing returns
 * `RoutedDecision`, which `if (d.ok)` narrows to this, so that TypeScript knows `d.version` is a string there.
 * Types only: every decision is a `Decision` at run time.
 */
export type ServedDecision = Decision & { readonly ok: true; readonly reason: ServedReason; readonly scene: string; readonly version: string; readonly stage: Stage };
/** A rejection (invalid, unknown or undeployed scene, no `lt` version, an expired load test, shed): no version may serve it. */
export type RejectedDecision = Decision & { readonly ok: false; readonly reason: RejectedReason; readonly version: null; readonly stage: null };
/** The reasons of a served decision; testing `reason` against one narrows as `ok` does. */
export type ServedReason = typeof Reason.Explicit | typeof Reason.LoadTest | typeof Reason.Whitelist | typeof Reason.Split | typeof Reason.NoUnit;
/** The reasons of a rejection. */
export type RejectedReason = Exclude<ReasonCode, ServedReason>;
/** What routing returns: test `ok` to tell a served decision from a rejection. */
export type RoutedDecision = ServedDecision | RejectedDecision;
