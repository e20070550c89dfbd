/**
 * The traffic-unit router: scene → code version, in a fixed precedence, from immutable tables that a reload swaps
 * atomically. Per request it keys the scene id (sampled characters) and hashes the unit id once (no Map look-up on
 * fresh strings), reads two typed tables, counts the outcome and allocates only the Decision.
 */
import { Decision, Ignored, Reason, REASON_ORDINAL, REASONS, type ReasonCode, type RejectedDecision, type RoutedDecision, type ServedDecision } from './decision.js';
import { bucketOf, hash32 } from './hash.js';
import type { CompiledScene, CompiledVersion, RouteTables } from './tables.js';

/** What the caller knows about a request beyond scene and unit. Adapters decide `trusted` (signature, proxy range). */
export interface RouteHints {
  /** Explicit version wanted (verification of `dev` versions). Honoured only when `trusted`. */
  version?: string | null | undefined;
  /** Load-test traffic marker. Honoured only when `trusted`. */
  loadTest?: boolean | undefined;
  /** The hints come from a trusted source. Without it they are ignored, and the decision says so. */
  trusted?: boolean | undefined;
  /**
   * The request carries an authentic load-test marker that has expired (a signed token past its expiry): it is
   * refused with `expired_load_test`, whatever else it says. Such a request is a load test whose authority lapsed:
   * serving it as ordinary traffic would put the load test's load on the production versions.
   */
  expiredLoadTest?: boolean | undefined;
}

export const MAX_ID_LENGTH = 256;
const usableUnit = (unit: unknown): unit is string => typeof unit === 'string' && unit.length > 0 && unit.length <= MAX_ID_LENGTH;
/** A unit id that was given but cannot be used (not a string of 1–256 characters) is ignored, and the decision says so. */
const invalidUnitBit = (unit: unknown): number => (unit === undefined || unit === null || unit === '' || usableUnit(unit) ? 0 : Ignored.InvalidUnit);
/** Each reason's counter slot, resolved once here so the hot path indexes an array instead of a keyed property. */
const ORDINAL = REASON_ORDINAL;

/** Per-reason and per-ignored-hint counts since the router was created. */
export interface RouteCounts {
  readonly decisions: number;
  readonly byReason: Readonly<Record<ReasonCode, number>>;
  readonly ignored: Readonly<Record<'untrustedVersion' | 'unknownVersion' | 'untrustedLoadTest' | 'invalidUnit', number>>;
}

export class Router {
  private current: RouteTables;
  private readonly reasonCounts = new Float64Array(REASONS.length);
  private readonly ignoredCounts = new Float64Array(4);

  constructor(tables: RouteTables) {
    this.current = tables;
  }

  get tables(): RouteTables {
    return this.current;
  }

  /** Replaces the tables in one assignment: decisions already made keep the tables they were made with. */
  swap(tables: RouteTables): void {
    this.current = tables;
  }

  route(scene: unknown, unit?: unknown, hints?: RouteHints | null): RoutedDecision {
    const t = this.current;
    if (typeof scene !== 'string' || scene.length === 0 || scene.length > MAX_ID_LENGTH) {
      return this.reject(Reason.InvalidScene, ORDINAL.invalid_scene, typeof scene === 'string' && scene.length <= MAX_ID_LENGTH ? scene : null, null, t);
    }
    const si = t.scenes.get(scene, t.sceneKey(scene));
    if (si < 0) return this.reject(Reason.UnknownScene, ORDINAL.unknown_scene, scene, null, t);
    const s = t.sceneList[si]!;
    if (!s.deployed) return this.reject(Reason.NotDeployed, ORDINAL.not_deployed, s.id, s, t);
    // Hints are rare (verification and load-test traffic): kept out of the common path so that it stays small
    // enough for V8 to inline the whole of it, Decision constructor included.
    if (hints) return this.routeHinted(s, unit, hints, t);
    return this.routeUnit(s, unit, 0, t);
  }

  /** Whitelist, then the split, then base when there is no usable unit id. */
  private routeUnit(s: CompiledScene, unit: unknown, ignored: number, t: RouteTables): ServedDecision {
    if (!usableUnit(unit)) return this.decide(s, s.base, Reason.NoUnit, ORDINAL.no_unit, -1, ignored | invalidUnitBit(unit), false, 0, false, t);
    const u = hash32(unit, 0);
    if (s.whitelist.size > 0) {
      const pinned = s.whitelist.get(unit, u);
      if (pinned >= 0) return this.decide(s, s.versions[pinned]!, Reason.Whitelist, ORDINAL.whitelist, -1, ignored, false, u, true, t);
    }
    const bucket = bucketOf(s.salt, u);
    return this.decide(s, s.versions[s.split.ownerOf(bucket)]!, Reason.Split, ORDINAL.split, bucket, ignored, false, u, true, t);
  }

  /** Explicit version and load-test markers, honoured only when trusted; anything else routes as ordinary traffic. */
  private routeHinted(s: CompiledScene, unit: unknown, hints: RouteHints, t: RouteTables): RoutedDecision {
    const hasUnit = usableUnit(unit);
    let ignored = invalidUnitBit(unit);
    if (hints.expiredLoadTest === true) return this.reject(Reason.ExpiredLoadTest, ORDINAL.expired_load_test, s.id, s, t, ignored, true);
    let loadTest = false;
    const trusted = hints.trusted === true;
    if (hints.loadTest === true) {
      if (trusted) loadTest = true;
      else ignored |= Ignored.UntrustedLoadTest;
    }
    const wanted = hints.version;
    if (typeof wanted === 'string' && wanted.length > 0) {
      if (!trusted) ignored |= Ignored.UntrustedVersion;
      else {
        const v = wanted.length <= MAX_ID_LENGTH ? s.byName.get(wanted) : undefined;
        if (v !== undefined && (v.stage !== 'lt' || loadTest)) return this.decide(s, v, Reason.Explicit, ORDINAL.explicit, -1, ignored, loadTest, hasUnit ? hash32(unit, 0) : 0, hasUnit, t);
        ignored |= Ignored.UnknownVersion;
      }
    }
    if (!loadTest) return this.routeUnit(s, unit, ignored, t);
    // Still load-test traffic: sensing counts its rejection with the load tests, never in the scene's business figures.
    if (s.lt === null) return this.reject(Reason.NoLoadTestVersion, ORDINAL.no_lt_version, s.id, s, t, ignored, true);
    return this.decide(s, s.lt, Reason.LoadTest, ORDINAL.load_test, -1, ignored, true, hasUnit ? hash32(unit, 0) : 0, hasUnit, t);
  }

  /** Moves one decision's count from one reason to another: the engine sheds after the router has decided. */
  recount(from: ReasonCode, to: ReasonCode): void {
    this.reasonCounts[REASON_ORDINAL[from]]!--;
    this.reasonCounts[REASON_ORDINAL[to]]!++;
  }

  counts(): RouteCounts {
    const byReason = Object.fromEntries(REASONS.map((r, i) => [r, this.reasonCounts[i]!])) as Record<ReasonCode, number>;
    const [untrustedVersion, unknownVersion, untrustedLoadTest, invalidUnit] = this.ignoredCounts;
    return {
      decisions: this.reasonCounts.reduce((a, b) => a + b, 0),
      byReason,
      ignored: { untrustedVersion: untrustedVersion!, unknownVersion: unknownVersion!, untrustedLoadTest: untrustedLoadTest!, invalidUnit: invalidUnit! },
    };
  }

  private decide(s: CompiledScene, v: CompiledVersion, reason: ReasonCode, ordinal: number, bucket: number, ignored: number, loadTest: boolean, u: number, hasUnit: boolean, t: RouteTables): ServedDecision {
    this.reasonCounts[ordinal]!++;
    if (ignored !== 0) this.countIgnored(ignored);
    // A version and the configured scene id: served (the type says so for `route`'s callers).
    return new Decision(s.id, reason, bucket, t.configVersion, ignored, loadTest, u, hasUnit, v, s) as ServedDecision;
  }

  private reject(reason: ReasonCode, ordinal: number, scene: string | null, s: CompiledScene | null, t: RouteTables, ignored = 0, loadTest = false): RejectedDecision {
    this.reasonCounts[ordinal]!++;
    if (ignored !== 0) this.countIgnored(ignored);
    return new Decision(scene, reason, -1, t.configVersion, ignored, loadTest, 0, false, null, s) as RejectedDecision;
  }

  private countIgnored(ignored: number): void {
    for (let bit = 0; bit < 4; bit++) if (ignored & (1 << bit)) this.ignoredCounts[bit]!++;
  }
}
