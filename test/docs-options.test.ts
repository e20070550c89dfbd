/**
 * The README stays true to the code: a durable check. It reads README.md and fails when
 * - a config field the schema knows (configJsonSchema) is not named in its README section, or a field with a default
 *   has no README table row giving that default, or the README's default is not the schema's;
 * - the code does not apply the default the schema (and so the README) states, where it can be observed;
 * - an adapter, gateway or trust option (their TypeScript option types) is not in the README's option tables, or the
 *   adapters' documented default header names are not the ones they read;
 * - an error class or code of src/errors.ts is missing from the README's Errors table (or the table names one that
 *   does not exist, or one that is never constructed);
 * - an exported name of an entry (src/index.ts and each subpath) is missing from the README's Exports table, or the
 *   table names something no entry exports;
 * - a regulator event or change reason is missing from the README.
 * Targeted checks, not a table parser: each looks for what it needs, in the section it belongs to.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { configJsonSchema } from '../src/config/schema.js';
import { resolveSense } from '../src/config/schema-sense.js';
import { createGearshift } from '../src/engine.js';
import { AdapterCore, PLAIN_RESPONSE } from '../src/adapters/core.js';
import { createGateway } from '../src/adapters/gateway.js';
import { createTrust } from '../src/adapters/trust.js';
import { Regulator } from '../src/regulate/regulator.js';
import { Ignored } from '../src/route/decision.js';
import { unitHash } from '../src/route/hash.js';

const ROOT = new URL('../', import.meta.url);
const README = readFileSync(new URL('README.md', ROOT), 'utf8');
const source = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** The text under a heading (matched at the start of the heading line), up to the next heading of its level or above. */
function section(heading: string): string {
  const lines = README.split('\n');
  const start = lines.findIndex((l) => /^#{2,4} /.test(l) && l.replace(/^#+ /, '').startsWith(heading));
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const level = lines[start]!.match(/^#+/)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.match(/^#+/)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Option tables: a row's first cell names one or more fields, its second cell gives their defaults, " / " apart.
// `….x` continues the previous row's parent, a bare `x` after the first name is its sibling, `a.{b,c}` is a.b and a.c,
// `<id>` is any key (`*` in the schema's paths), and the sense table's names are relative to `sense`.
interface Row {
  names: string[];
  defaults: string[];
}
const parentOf = (p: string) => p.slice(0, p.lastIndexOf('.'));
function rows(text: string, prefix = ''): Row[] {
  const out: Row[] = [];
  let previous = '';
  for (const line of text.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 2 || !cells[0]!.startsWith('`')) continue;
    const names: string[] = [];
    for (const [i, raw] of cells[0]!.split(' / ').entries()) {
      const t = raw.replace(/`/g, '').replace(/\s*\(.*\)$/, '').replace(/<[^>]+>/g, '*').trim();
      let full = t.startsWith('….') ? `${parentOf(previous)}${t.slice(1)}` : i > 0 && !t.includes('.') ? `${parentOf(names[0]!)}.${t}` : `${prefix}${t}`;
      const brace = full.match(/^(.*)\.\{(.*)\}$/);
      if (brace) for (const n of brace[2]!.split(',')) names.push(`${brace[1]}.${n.trim()}`);
      else names.push(full);
      full = names[names.length - 1]!;
    }
    previous = names[0]!;
    const defaults = cells[1]!.split(' / ').map((d) => d.trim());
    out.push({ names, defaults: defaults.length === names.length ? defaults : names.map(() => cells[1]!) });
  }
  return out;
}

/** A default as the README writes it: the first code span (`{ target: 0.01 }`, `['low']`, `"*"`), or the plain text. */
function readmeValue(cell: string): unknown {
  const code = cell.match(/`([^`]*)`/);
  const text = (code && cell.trim().startsWith('`') ? code[1]! : cell.replace(/\s*\(.*$/, '')).trim();
  const json = text.replace(/'/g, '"').replace(/([{,]\s*)([A-Za-z_]\w*)\s*:/g, '$1"$2":');
  try {
    return JSON.parse(json);
  } catch {
    return text;
  }
}
/** The README's value matches the schema's: equal scalars and arrays; an object may leave out what the text says elsewhere. */
function sameValue(readme: unknown, schema: unknown): boolean {
  if (schema !== null && typeof schema === 'object' && !Array.isArray(schema)) {
    return readme !== null && typeof readme === 'object' && !Array.isArray(readme) && Object.keys(readme).length > 0 === Object.keys(schema).length > 0 &&
      Object.entries(readme).every(([k, v]) => k in schema && sameValue(v, (schema as Record<string, unknown>)[k]));
  }
  return JSON.stringify(readme) === JSON.stringify(schema);
}

// ---------------------------------------------------------------------------------------------------------------
// The schema's fields, by path (`*` for a record's key, `[]` for an array's items).
interface Field {
  path: string;
  node: Record<string, any>;
}
/** Records whose values repeat shapes documented elsewhere (goal sets, zones, gear sets): their inner fields are not re-listed. */
const REPEATS = ['scenes.*.goals.zones.*', 'regulator.goals.zones.*', 'regulator.goalSets.*', 'regulator.templates.*', 'regulator.schedules[].caps.*', 'regulator.schedules[].fixed.*'];
function fields(): Field[] {
  const out: Field[] = [];
  const walk = (node: Record<string, any>, path: string) => {
    if (REPEATS.includes(path)) return;
    for (const [k, v] of Object.entries<Record<string, any>>(node.properties ?? {})) {
      const p = path ? `${path}.${k}` : k;
      out.push({ path: p, node: v });
      walk(v, p);
    }
    if (node.additionalProperties?.properties) walk(node.additionalProperties, `${path}.*`);
    if (node.items?.properties) walk(node.items, `${path}[]`);
  };
  walk(configJsonSchema(), '');
  return out;
}

const ROUTER = section('Router options');
const REGULATOR = [section('Every option and its default'), section('The model'), section('Schedules and templates')].join('\n');
const SENSE = section('Options (`sense`');
const sectionFor = (path: string) =>
  path.startsWith('sense') ? SENSE : path.startsWith('regulator') || /^scenes\.\*\.(points|goals|priority)/.test(path) ? REGULATOR : ROUTER;
const ROWS = [...rows(section('Router options')), ...rows(section('Every option and its default')), ...rows(SENSE, 'sense.')];
/** The goals' `band`: a default the README gives in prose ("band: 0.25") and in each goal's default, not in a row of its own. */
const IN_PROSE = (path: string) => path.endsWith('.band') || path === 'scenes.*.layers[].arms[].params'; // an arm's `params?` (none)

describe('config options in the README', () => {
  const all = fields();

  it('every field of the schema is named in its README section', () => {
    const missing = all.filter(({ path }) => {
      const name = path.slice(path.lastIndexOf('.') + 1).replace('[]', '');
      return !new RegExp(`\`[^\`]*\\b${name}\\b[^\`]*\``).test(sectionFor(path));
    });
    expect(missing.map((f) => f.path)).toEqual([]);
  });

  it('every field with a default has a README row giving that default', () => {
    const wrong: string[] = [];
    for (const { path, node } of all) {
      const d = node.default;
      if (d === undefined || IN_PROSE(path)) continue;
      if (node.properties && Object.keys(d).length === 0) continue; // a section whose fields have rows
      const row = ROWS.find((r) => r.names.includes(path));
      if (!row) wrong.push(`${path}: no README row (default ${JSON.stringify(d)})`);
      else {
        const cell = row.defaults[row.names.indexOf(path)]!;
        if (!sameValue(readmeValue(cell), d)) wrong.push(`${path}: README says ${cell}, the schema ${JSON.stringify(d)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no README row names a field the schema does not have', () => {
    const known = new Set([...all.map((f) => f.path), ...REPEATS]);
    expect(ROWS.flatMap((r) => r.names).filter((n) => !known.has(n))).toEqual([]);
  });

  it('the goals\' band default is the one the README gives in prose', () => {
    const bands = new Set(all.filter((f) => f.path.endsWith('.band')).map((f) => f.node.default));
    expect([...bands]).toEqual([0.25]);
    expect(REGULATOR).toMatch(/band: 0\.25/);
  });
});

describe('the code applies the schema\'s (and so the README\'s) defaults', () => {
  const defaults = new Map(fields().map((f) => [f.path, f.node.default]));
  const d = (path: string) => {
    expect(defaults.has(path), path).toBe(true);
    return defaults.get(path);
  };
  const get = (o: unknown, path: string) => path.split('.').reduce<any>((x, k) => x?.[k], o);

  it('sensing: resolveSense(undefined) holds every `sense` default', () => {
    const resolved = resolveSense(undefined);
    for (const [path, dflt] of defaults) {
      if (!path.startsWith('sense.') || dflt === undefined || path === 'sense.process.eventLoopDelay.sample') continue;
      expect(get(resolved, path.slice('sense.'.length)), path).toEqual(dflt);
    }
    // `sample: 'auto'` with no delay goal: the monitor is off.
    expect(d('sense.process.eventLoopDelay.sample')).toBe('auto');
    expect(resolved.process.eventLoopDelay.sampled).toBe(false);
  });

  it('routing: rtBudgetMs and deployedHere', () => {
    const e = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
    const decision = e.route('feed', 'u');
    expect(decision.rtBudgetMs).toBe(d('scenes.*.rtBudgetMs'));
    expect(d('deployedHere')).toBe('*');
    expect(decision.ok).toBe(true);
    e.close();
  });

  it('the regulator: period, mode, goals, shedding hint, DCAF and the control law', () => {
    const config = { scenes: { feed: { versions: { main: { stage: 'base' } }, points: { r: { gears: [1, 2, 3] } } } } } as const;
    const r = new Regulator({ config: config as never, clock: new ManualClock() });
    expect(r.periodMs).toBe(d('regulator.periodMs'));
    expect(r.mode).toBe(d('regulator.mode'));
    const report = r.tick();
    const goalOf = (g: { goal: string; target: number; band: number }) => [g.goal, { target: g.target, band: g.band }];
    expect(Object.fromEntries(report.scenes[0]!.goals.map(goalOf))).toEqual({ timeoutRate: d('scenes.*.goals.timeoutRate') });
    expect(Object.fromEntries(report.process.map(goalOf))).toMatchObject(
      Object.fromEntries(Object.entries(d('regulator.goals') as Record<string, { target: number; band: number }>).map(([k, g]) => [k, { target: g.target, band: g.band }])),
    );
    const live = r.scene('feed')!;
    expect(live.retryAfterS).toBe(d('regulator.shedding.retryAfterS'));
    expect(live.extraGears).toBe(d('regulator.dcaf.extraGears'));
    // The control law's settings have no public read: the regulator's private `s` (src/regulate/regulator.ts settings()).
    const s = (r as unknown as { s: any }).s;
    const law: Record<string, unknown> = {
      'control.kp': s.law.kp, 'control.ki': s.law.ki, 'control.kd': s.law.kd, 'control.smoothing': s.law.smoothing, 'control.maxError': s.law.maxError,
      'control.hysteresis': s.law.hysteresis, 'control.maxDownPerTick': s.limits.maxDown, 'control.maxUpPerTick': s.limits.maxUp,
      'control.dwellMs': s.limits.dwellMs, 'control.maxDwellMs': s.limits.maxDwellMs, 'fastRecovery.durationMs': s.fastMs,
      'fastRecovery.maxUpPerTick': s.fastMaxUp, 'boost.enabled': s.boost.enabled, 'boost.holdMs': s.boost.holdMs, 'boost.maxCost': s.boost.maxCost,
      'shedding.enabled': s.shed.enabled, 'shedding.step': s.shed.step, 'shedding.maxShare': s.shed.maxShare,
    };
    for (const [path, value] of Object.entries(law)) expect(value, path).toBe(d(`regulator.${path}`));
    r.close();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// TypeScript's view of the entries: exported names, option interfaces, the event map.
const ENTRIES = {
  gearshift: 'src/index.ts',
  'gearshift/express': 'src/adapters/express.ts',
  'gearshift/fastify': 'src/adapters/fastify.ts',
  'gearshift/http': 'src/adapters/http.ts',
  'gearshift/gateway': 'src/adapters/gateway.ts',
  'gearshift/simulate': 'src/simulate/index.ts',
} as const;
const program = ts.createProgram(Object.values(ENTRIES).map((f) => new URL(f, ROOT).pathname), {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true,
});
const checker = program.getTypeChecker();
const moduleOf = (file: string) => checker.getSymbolAtLocation(program.getSourceFile(new URL(file, ROOT).pathname)!)!;
const exportsOf = (file: string) => checker.getExportsOfModule(moduleOf(file));
const exportedNames = (file: string) => exportsOf(file).map((s) => s.name);
/** Property names of an exported interface or type of an entry. */
function propertiesOf(file: string, name: string): string[] {
  const sym = exportsOf(file).find((s) => s.name === name);
  if (!sym) throw new Error(`${file} does not export ${name}`);
  const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(target)).map((p) => p.name);
}

describe('exports', () => {
  const table = section('Exports');
  const tableRows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| entry') && !l.startsWith('|---'));
  const rowOf = (entry: string) => tableRows.filter((r) => r.startsWith(`| \`${entry}\``));
  const rootRows = tableRows.filter((r) => !r.startsWith('| `gearshift/') && !r.startsWith('| every adapter entry'));
  const everyAdapter = tableRows.filter((r) => r.startsWith('| every adapter entry'));
  /** Identifiers in code spans, leaving out what is in parentheses (a class's members, a call's parameters). */
  const named = (rs: string[]) => {
    let t = rs.join('\n');
    for (let before = ''; before !== t; ) [before, t] = [t, t.replace(/\([^()]*\)/g, '')];
    return new Set([...t.matchAll(/`([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));
  };
  const documentedFor = (entry: keyof typeof ENTRIES) =>
    entry === 'gearshift' ? rootRows : entry === 'gearshift/simulate' ? rowOf(entry) : [...rowOf(entry), ...everyAdapter];

  it.each(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[])('every export of %s is in the README\'s Exports table', (entry) => {
    const rs = documentedFor(entry);
    expect(rs.length, `no Exports row for ${entry}`).toBeGreaterThan(0);
    const doc = named(rs);
    const names = exportedNames(ENTRIES[entry]);
    expect(names.filter((n) => n !== 'default' && !doc.has(n))).toEqual([]);
    if (names.includes('default')) expect(rs.join('\n')).toMatch(/default export/);
  });

  it('every name in the Exports table is exported by an entry of its row', () => {
    const adapters = ['gearshift/express', 'gearshift/fastify', 'gearshift/http', 'gearshift/gateway'] as const;
    const groups: [string[], string[]][] = [
      [rootRows, exportedNames(ENTRIES.gearshift)],
      [everyAdapter, adapters.flatMap((a) => exportedNames(ENTRIES[a]))],
      ...(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]).filter((e) => e !== 'gearshift').map((e): [string[], string[]] => [rowOf(e), exportedNames(ENTRIES[e])]),
    ];
    const unknown = groups.flatMap(([rs, names]) => [...named(rs)].filter((n) => !names.includes(n) && !/^gearshift/.test(n)));
    expect(unknown).toEqual([]);
  });
});

describe('adapter, gateway and trust options', () => {
  const adapterTable = rows(section('Options (Express, Fastify, node:http)'));
  const gatewayTable = rows(section('Gateways and proxies'));
  const names = (rs: Row[]) => rs.flatMap((r) => r.names.map((n) => n.replace(/\s*\(.*$/, '')));

  it('every AdapterOptions and HttpOptions field (hints.* included) has a row', () => {
    const documented = names(adapterTable);
    const fieldsOf = [
      ...propertiesOf(ENTRIES['gearshift/http'], 'HttpOptions').filter((p) => p !== 'hints'),
      ...propertiesOf(ENTRIES['gearshift/http'], 'HintHeaders').map((p) => `hints.${p}`),
    ];
    expect(fieldsOf.filter((f) => !documented.includes(f))).toEqual([]);
    expect(propertiesOf(ENTRIES['gearshift/fastify'], 'FastifyGearshiftOptions').filter((p) => p !== 'hints' && !documented.includes(p) && !new RegExp(`\\{ ${p}, \\.\\.\\.options \\}`).test(README))).toEqual([]);
  });

  it('every GatewayOptions field (propagate.* included) has a row', () => {
    const documented = names(gatewayTable);
    const fieldsOf = [
      ...propertiesOf(ENTRIES['gearshift/gateway'], 'GatewayOptions').filter((p) => p !== 'propagate'),
      ...propertiesOf(ENTRIES['gearshift/gateway'], 'PropagateOptions').filter((p) => p !== 'trust').map((p) => `propagate.${p}`),
    ];
    expect(fieldsOf.filter((f) => !documented.includes(f))).toEqual([]);
  });

  it('every MetricsOptions and StatusPageOptions field has a row of its section, and no row names another', () => {
    for (const [heading, type] of [['Metrics (Prometheus)', 'MetricsOptions'], ['Status page', 'StatusPageOptions']] as const) {
      expect(names(rows(section(heading))).sort(), heading).toEqual(propertiesOf(ENTRIES.gearshift, type).sort());
    }
  });

  it('every TrustOptions field is in the `trust` rows, and maxTtlSec\'s default is the code\'s', () => {
    const trustRow = [...adapterTable, ...gatewayTable].filter((r) => r.names.includes('trust'));
    expect(trustRow.length).toBeGreaterThan(0);
    const cellText = section('Options (Express, Fastify, node:http)').split('\n').find((l) => l.startsWith('| `trust`'))!;
    expect(propertiesOf(ENTRIES['gearshift/gateway'], 'TrustOptions').filter((p) => !new RegExp(`\\b${p}\\b`).test(cellText))).toEqual([]);
    const ttl = section('Trust').match(/`maxTtlSec`\s+\(default (\d+) s\)/);
    expect(ttl, 'the Trust section gives maxTtlSec\'s default').not.toBeNull();
    expect(createTrust().maxTtlSec).toBe(Number(ttl![1]));
  });

  it('the adapters read the default headers and settings the README gives', () => {
    const dflt = (name: string) => readmeValue(adapterTable.find((r) => r.names.includes(name))!.defaults[0]!) as never;
    const scene = dflt('scene') as { header: string };
    const unit = dflt('unit') as { header: string };
    const e = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
    const core = new AdapterCore(e, {}, { params: () => undefined, socket: () => undefined, ...PLAIN_RESPONSE });
    const d = core.decide({}, { [scene.header]: 'feed', [unit.header]: 'u-1' })!;
    expect([d.scene, d.unitHash]).toEqual(['feed', unitHash('u-1')]);
    expect(dflt('missingScene')).toBe('skip');
    expect(core.decide({}, {})).toBeNull(); // skip: no decision
    expect(core.skipMissing).toBe(true);
    expect(core.debugHeaders).toBe(dflt('debugHeaders'));
    const v = core.decide({}, { [scene.header]: 'feed', [String(dflt('hints.version'))]: 'main' })!;
    expect(v.ignored & Ignored.UntrustedVersion).toBeTruthy();
    const lt = core.decide({}, { [scene.header]: 'feed', [String(dflt('hints.loadTest'))]: '1' })!;
    expect(lt.ignored & Ignored.UntrustedLoadTest).toBeTruthy();
    core.decide({}, { [scene.header]: 'feed', [String(dflt('hints.signed'))]: 'junk' });
    expect(core.trust.counts().refused.no_key).toBe(1);
    expect(dflt('hints.baggage')).toBe(true);
    const untrusted = core.trust.counts().untrusted;
    core.decide({}, { [scene.header]: 'feed', baggage: 'gearshift.version=main' });
    expect(core.trust.counts().untrusted).toBe(untrusted + 1); // baggage read (and, from this peer, not trusted)
    e.close();
  });

  it('the gateway propagates with the header and lifetime the README gives', () => {
    const header = readmeValue(gatewayTable.find((r) => r.names.includes('propagate.header'))!.defaults[0]!) as string;
    const ttl = Number(String(readmeValue(gatewayTable.find((r) => r.names.includes('propagate.ttlSec'))!.defaults[0]!)).split(' ')[0]);
    const e = createGearshift({ config: { scenes: { feed: { versions: { main: { stage: 'base' } } } } } });
    const gw = createGateway(e, { trust: { keys: ['k'.repeat(32)], now: () => 1_000_000 } });
    const token = gw.propagationHeaders(e.route('feed', 'u'))[header]!;
    expect(token, `no ${header} header`).toBeDefined();
    expect(Number(token.split(';')[1]) - 1000).toBe(ttl);
    e.close();
  });
});

describe('errors', () => {
  const table = section('Errors');
  const code = source('src/errors.ts');
  const classes = [...code.matchAll(/export class (\w+) extends (\w+)/g)].map((m) => m[1]!);
  const codeOf = Object.fromEntries([...code.matchAll(/export class (\w+) extends GearshiftError \{[\s\S]*?super\(\s*'(GEARSHIFT_\w+)'/g)].map((m) => [m[1]!, m[2]!]));

  it('every error class and its code is a row of the README\'s Errors table', () => {
    const rowsOf = Object.fromEntries(table.split('\n').filter((l) => l.startsWith('| `')).map((l) => [l.match(/^\| `(\w+)`/)![1]!, l]));
    expect(classes).toContain('GearshiftError');
    expect(Object.keys(rowsOf).sort()).toEqual([...classes].sort());
    for (const [cls, c] of Object.entries(codeOf)) expect(rowsOf[cls], cls).toContain(`\`${c}\``);
    expect(Object.keys(codeOf).sort()).toEqual(classes.filter((c) => c !== 'GearshiftError').sort());
  });

  it('every GEARSHIFT_ code the README names exists', () => {
    const known = new Set(Object.values(codeOf));
    expect([...new Set(README.match(/GEARSHIFT_[A-Z_]+/g))].filter((c) => !known.has(c) && !/^GEARSHIFT_(KEY|FUZZ|TIMERS|DIST|STALL)/.test(c))).toEqual([]);
  });

  it('every error class but the base is constructed somewhere (thrown or emitted)', () => {
    const files = ts.sys.readDirectory(new URL('src', ROOT).pathname, ['.ts']).filter((f) => !f.endsWith('/errors.ts'));
    const all = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(Object.keys(codeOf).filter((cls) => !all.includes(`new ${cls}(`))).toEqual([]);
  });
});

describe('regulator events', () => {
  const text = section('Events, history, state');
  it('every event of RegulatorEvents is named', () => {
    expect(propertiesOf(ENTRIES.gearshift, 'RegulatorEvents').filter((e) => !text.includes(`\`${e}\``))).toEqual([]);
  });
  it('every change reason is named', () => {
    const sym = exportsOf(ENTRIES.gearshift).find((s) => s.name === 'ChangeReason')!;
    const type = checker.getDeclaredTypeOfSymbol(sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym);
    const reasons = (type as ts.UnionType).types.map((t) => (t as ts.StringLiteralType).value);
    expect(reasons.length).toBeGreaterThan(5);
    expect(reasons.filter((r) => !text.includes(`\`${r}\``))).toEqual([]);
  });
});
