/**
 * Every error gearshift throws is a GearshiftError with a stable `code`, so callers can branch on the code
 * rather than on message text (which may improve between releases).
 */
export class GearshiftError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /**
   * `instanceof` across the package's two builds too: an app that imports gearshift as ESM while a CommonJS
   * dependency requires it has two sets of these classes, and an error thrown by one is still an instance of the
   * other's class of the same name (each class marks its prototype under a registered symbol, below). A class of
   * your own that extends one of these is matched the ordinary way.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true;
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[errorMark(this.name)] === true;
  }
}

const errorMark = (name: string): symbol => Symbol.for(`gearshift.error.${name}`);

/** One problem found in a config document: where it is (a JSON path like `scenes.feed.split.up`) and what was expected. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** A config document was refused. The previous config, if any, keeps serving. */
export class ConfigError extends GearshiftError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const shown = issues.slice(0, 10).map((i) => `  ${i.path || '(root)'}: ${i.message}`);
    if (issues.length > 10) shown.push(`  … and ${issues.length - 10} more`);
    super('GEARSHIFT_CONFIG_INVALID', `invalid gearshift config (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${shown.join('\n')}`);
    this.issues = issues;
  }
}

/**
 * Whether `x` is a plain object: an object literal, `JSON.parse` output or `Object.create(null)`, from any realm.
 * Records (a whitelist, trust keys, gear sets, rejection overrides) are read with `Object.entries`, which sees none
 * of a `Map`'s entries nor a class instance's accessors: accepting those would run on an empty record without a word.
 */
export const isPlainObject = (x: unknown): x is Record<string, unknown> => {
  if (x === null || typeof x !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === null || Object.getPrototypeOf(proto) === null;
};

/**
 * Refuses an options object's keys beyond `known`, naming the first with its place (`at`: '' or a prefix such as
 * 'trust.'): a misspelt option (`missingscene: 'reject'`, `trust: { key }`) was silently ignored until the twentieth
 * session, and ran on its default, as the config document's unknown fields never did.
 */
export function refuseUnknownKeys(o: Record<string, unknown>, known: readonly string[], at: string): void {
  for (const key of Object.keys(o)) if (!known.includes(key)) throw new UsageError(`${at}${key}: unknown option (expected one of: ${known.join(', ')})`);
}

/** What a value is, for an error message: `null`, `array`, the class of an object that is not plain (`Map`), or its type. */
export const kindOf = (x: unknown): string =>
  x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x === 'object' && !isPlainObject(x) ? ((x as object).constructor?.name || 'object') + ' instance' : typeof x;

/** A bad argument as a UsageError message quotes it: short strings and numbers as they are, anything else by its kind. */
export const shown = (x: unknown): string =>
  typeof x === 'string' ? JSON.stringify(x.slice(0, 60)) : typeof x === 'number' || typeof x === 'boolean' ? String(x) : Array.isArray(x) ? 'an array' : kindOf(x);

/** A non-empty string option, or a UsageError naming it (`what`) and what it should be (`expected`). */
export function nonEmptyString(x: unknown, what: string, expected: string): string {
  if (typeof x !== 'string' || x.length === 0) throw new UsageError(`${what}: expected ${expected}, got ${shown(x)}`);
  return x;
}

/** An API was called with an argument it cannot use (a programming error, not bad traffic). */
export class UsageError extends GearshiftError {
  constructor(message: string) {
    super('GEARSHIFT_USAGE', message);
  }
}

/**
 * Code of the host's that gearshift calls (an event listener, a signal source) threw. gearshift carries on without it;
 * `source` names what threw (`a "change" listener`), `cause` is what it threw.
 */
export class ListenerError extends GearshiftError {
  constructor(
    readonly source: string,
    cause: unknown,
  ) {
    super('GEARSHIFT_LISTENER', `${source} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Host-given times disagree with the engine's clock: a start, or a start plus RT, was `ms` past its now (`ahead`),
 * or a start plus RT was `ms` before it, more than the scene's RT budget (`short`). Never thrown: each kind is
 * written once per engine as a process warning (README, Sensing).
 */
export class HostTimeError extends GearshiftError {
  constructor(
    readonly kind: 'ahead' | 'short',
    readonly ms: number,
  ) {
    const what =
      kind === 'ahead'
        ? `a host-given time (a start, or a start plus RT) was ${Math.round(ms)} ms past the engine's clock's now (replaced by now, counted in engine.sensing.aheadOfClock)`
        : `a completed request ended ${Math.round(ms)} ms before the engine's clock's now by its start and RT, more than the scene's RT budget (counted in engine.sensing.shortOfClock)`;
    super(
      'GEARSHIFT_HOST_TIME',
      `${what}: the host's RT or start is in another unit or on another clock (ns, µs or s given as ms, a start ` +
        `from Date.now() against the engine's monotonic clock), or the host measures another span than route() to ` +
        `complete(). The RT is recorded as given`,
    );
  }
}

/** The engine was used after `close()`. */
export class ClosedError extends GearshiftError {
  constructor(what: string) {
    super('GEARSHIFT_CLOSED', `${what}: the gearshift engine is closed`);
  }
}

// The marks `instanceof` reads across builds: a subclass's prototype inherits its parents' marks.
for (const cls of [GearshiftError, ConfigError, UsageError, ListenerError, HostTimeError, ClosedError]) {
  Object.defineProperty(cls.prototype, errorMark(cls.name), { value: true });
}
