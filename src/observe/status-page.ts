/**
 * `engineStatus` as one self-contained HTML page for an operator's browser: no script, no request for anything else
 * (its Content-Security-Policy allows only its own inline style), every name and gear value escaped. Serve it from a
 * route of your own, behind whatever guards your other internal pages.
 */
import type { JsonValue } from '../config/shape.js';
import type { Gearshift } from '../engine.js';
import { checkEngine } from '../engine-arg.js';
import { shown, UsageError } from '../errors.js';
import { curvePoints } from './gear-curve.js';
import { checkOptions, type EngineStatus, type GoalStatusEntry, type PointStatus, type SceneStatus, type StatusOptions, statusOf, type TrafficStatus } from './status.js';

export interface StatusPageOptions extends StatusOptions {
  /** The page reloads itself every this many seconds (0: never; at most 3,600). Default 5. */
  refreshS?: number | undefined;
  /**
   * Each shown scene's section below the summary, linked from it (true); or the summary alone, each scene linked to
   * `?scene=<id>` for a route that shows that scene alone (false). Default true.
   */
  details?: boolean | undefined;
}

const CURVE_W = 240;
const CURVE_H = 28;

/** The engine's state now as an HTML page (serve it with `content-type: text/html; charset=utf-8`). */
export function statusPage(engine: Gearshift, options: StatusPageOptions = {}): string {
  checkEngine(engine, 'statusPage(engine, options)');
  const checked = checkOptions(options, 'statusPage', ['refreshS', 'details']);
  const { refreshS = 5, details = true } = options;
  if (typeof refreshS !== 'number' || !(refreshS >= 0 && refreshS <= 3600)) throw new UsageError(`statusPage: refreshS: expected seconds 0–3600, got ${shown(refreshS)}`);
  if (typeof details !== 'boolean') throw new UsageError(`statusPage: details: expected true or false, got ${shown(details)}`);
  const s = statusOf(engine, checked);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
${refreshS > 0 ? `<meta http-equiv="refresh" content="${refreshS}">\n` : ''}<title>gearshift · ${esc(s.configVersion)}</title>
<style>${STYLE}</style></head><body>
${header(s)}
${s.scenes.length === 0 ? '<p class="dim">No scene to show.</p>' : details && s.scenes.length === 1 ? '' : overview(s.scenes, details)}
${details ? s.scenes.map((sc) => scene(sc, s.at)).join('\n') : ''}
</body></html>
`;
}

const STYLE = [
  'body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#222}',
  'h1{font-size:1.3rem;margin:0}h2{font-size:1.1rem;margin:0 0 .3rem}h2 small{font-weight:normal;color:#666}',
  'section{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}',
  'section.cut{border-left:6px solid #d98c00}section.shed{border-left:6px solid #c0392b}',
  'tr.cut td:first-child{border-left:4px solid #d98c00}tr.shed td:first-child{border-left:4px solid #c0392b}',
  'table{border-collapse:collapse;margin:.3rem 0}td,th{padding:.1rem .6rem;text-align:left}th{color:#555;font-weight:600}',
  'td.n{text-align:right;font-variant-numeric:tabular-nums}.dim{color:#888}.bad{color:#c0392b;font-weight:600}',
  'caption{text-align:left;color:#555;font-style:italic}svg{background:#f6f6f6}polyline{fill:none;stroke:#2c6fbb;stroke-width:1.5}',
].join('');

function header(s: EngineStatus): string {
  const p = s.process;
  const facts = [
    `config <code>${esc(s.configVersion)}</code>`,
    `up ${duration(s.at - s.startedAt)}`,
    `mode <b>${esc(s.mode)}</b>`,
    ...(s.goalSet !== null ? [`goal set <b>${esc(s.goalSet)}</b>`] : []),
    ...(s.fastRecovery ? ['<b>fast recovery</b>'] : []),
    s.tickAt === null ? 'no tick yet' : `last tick ${((s.at - s.tickAt) / 1000).toFixed(1)} s ago`,
    `event-loop utilisation ${fixed(p.eventLoopUtilization, 2)}`,
    `CPU ${fixed(p.cpu, 2)}`,
    `event-loop delay p99 ${fixed(p.eventLoopDelayP99Ms, 1)} ms`,
  ];
  const reload = s.lastReload;
  const release = reload === null ? '' : `<details><summary>last reload ${clock(reload.at)}: ${esc(reload.from)} → ${esc(reload.to)}</summary><pre>${esc(reload.diff)}</pre></details>`;
  return `<header><h1>gearshift</h1><p>${facts.join(' · ')} · at ${clock(s.at)}</p>${release}${p.goals.length > 0 ? goals(p.goals, 'process goals') : ''}</header>`;
}

/**
 * One row per scene, so that an operator of hundreds finds the few that are cut or shedding without scrolling through
 * every section: each links to its section (`details`) or to `?scene=<id>`.
 */
function overview(scenes: readonly SceneStatus[], details: boolean): string {
  let [cut, shedding, exhausted] = [0, 0, 0];
  const rows = scenes.map((sc) => {
    const cls = stateClass(sc);
    if (sc.degraded) cut++;
    if (sheds(sc)) shedding++;
    if (sc.exhausted) exhausted++;
    const href = details ? `#${anchor(sc.scene)}` : `?scene=${encodeURIComponent(sc.scene)}`;
    const below = sc.points.filter((p) => p.gear < p.top).length;
    return `<tr${cls ? ` class="${cls}"` : ''}><td><a href="${esc(href)}">${esc(sc.scene)}</a></td><td>${sc.priority}</td><td class="n">${sc.rtBudgetMs}</td>${trafficCells(sc.traffic ?? NO_TRAFFIC)}<td class="n">${sc.points.length === 0 ? '–' : `${below} of ${sc.points.length}`}</td><td class="n">${fixed(sc.value, 2)}</td><td>${flags(sc).join(' · ')}</td></tr>`;
  });
  const caption = `${scenes.length} scene${scenes.length === 1 ? '' : 's'} · ${cut} with a gear cut · ${shedding} shedding · ${exhausted} exhausted`;
  return `<table><caption>${caption}</caption><tr><th>scene</th><th>priority</th><th>budget ms</th><th>req/s</th><th>timeouts</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>points cut</th><th>value</th><th></th></tr>${rows.join('')}</table>`;
}

/** A section's id: the scene id percent-encoded, which a browser matches to the link's fragment as it is. */
const anchor = (scene: string): string => `scene-${encodeURIComponent(scene)}`;

/** Whether the scene refuses some of its traffic, its own or its load tests. */
const sheds = (sc: SceneStatus): boolean => sc.shedShare > 0 || sc.shedLoadTest;

/** `shed` while the scene sheds or is out of gears, `cut` while a point is below its top, '' otherwise. */
const stateClass = (sc: SceneStatus): string => (sheds(sc) || sc.exhausted ? 'shed' : sc.degraded ? 'cut' : '');

/** What is out of the ordinary about a scene: out of gears, shedding, a boost, not being deployed here. */
const flags = (sc: SceneStatus): string[] => [
  ...(sc.exhausted ? ['<span class="bad">exhausted: at its floor, a goal violated</span>'] : sc.atFloor && sc.points.length > 0 ? ['at its floor'] : []),
  ...(sc.shedShare > 0 ? [`<span class="bad">shedding ${percent(sc.shedShare)}</span>`] : []),
  ...(sc.shedLoadTest ? ['<span class="bad">shedding load tests</span>'] : []),
  ...(sc.boosted ? ['<b>boosted</b>'] : []),
  ...(!sc.hosted ? ['<span class="dim">not deployed here</span>'] : []),
];

function scene(sc: SceneStatus, now: number): string {
  const t = sc.traffic;
  const facts = [
    t ? `${fixed(t.rate, 1)} req/s` : 'no requests yet',
    ...(t ? [`timeouts ${percent(t.timeoutRatio)}`, `errors ${percent(t.errorRatio)}`, `p99 ${fixed(t.p99Ms, 1)} ms`] : []),
    ...(sc.value !== null ? [`value ${fixed(sc.value, 2)}`, `cost ${fixed(sc.cost, 2)}`] : []),
    ...flags(sc),
  ];
  const cls = stateClass(sc);
  return `<section id="${esc(anchor(sc.scene))}"${cls ? ` class="${cls}"` : ''}><h2>${esc(sc.scene)} <small>budget ${sc.rtBudgetMs} ms · priority ${sc.priority}</small></h2>
<p>${facts.join(' · ')}</p>
${versions(sc.versions)}
${sc.points.length > 0 ? points(sc.points, now) : ''}
${sc.goals.length > 0 ? goals(sc.goals, 'goals') : ''}
${sc.changes.length > 0 ? changes(sc) : ''}
</section>`;
}

function versions(vs: SceneStatus['versions']): string {
  const rows = vs.map((v) => `<tr><td>${esc(v.version)}</td><td>${esc(v.stage)}</td><td class="n">${v.splitPercent === null ? '–' : `${v.splitPercent}%`}</td>${trafficCells(v)}</tr>`);
  return `<table><tr><th>version</th><th>stage</th><th>split</th><th>req/s</th><th>timeouts</th><th>errors</th><th>p50 ms</th><th>p99 ms</th></tr>${rows.join('')}</table>`;
}

const NO_TRAFFIC: TrafficStatus = { requests: 0, rate: 0, timeoutRatio: null, errorRatio: null, p50Ms: null, p99Ms: null, shed: 0, rejected: 0 };

const trafficCells = (t: TrafficStatus): string =>
  [fixed(t.rate, 1), percent(t.timeoutRatio), percent(t.errorRatio), fixed(t.p50Ms, 1), fixed(t.p99Ms, 1)].map((x) => `<td class="n">${x}</td>`).join('');

function points(ps: readonly PointStatus[], now: number): string {
  const rows = ps.map((p) => {
    const shadow = p.computed !== undefined ? ` <span class="dim">(computed ${p.computed})</span>` : '';
    const curve = `<svg width="${CURVE_W}" height="${CURVE_H}" role="img" aria-label="gear of ${esc(p.point)} over time"><polyline points="${curvePoints(p.curve, p.curve[0]![0], now, p.boostTop, CURVE_W, CURVE_H)}"/></svg>`;
    return `<tr><td>${esc(p.point)}</td><td>${gearValue(p.value)}</td><td class="n${p.gear < p.top ? ' bad' : ''}">${p.gear} / ${p.top}${p.boostTop > p.top ? ` (+${p.boostTop - p.top})` : ''}${shadow}</td><td>${curve}</td></tr>`;
  });
  const span = duration(now - ps[0]!.curve[0]![0]);
  return `<table><tr><th>point</th><th>gear</th><th>index / top</th><th>gear over the last ${span}</th></tr>${rows.join('')}</table>`;
}

function goals(gs: readonly GoalStatusEntry[], caption: string): string {
  const rows = gs.map((g) => `<tr><td>${esc(g.goal)}</td><td${g.status === 'violated' ? ' class="bad"' : ''}>${esc(g.status)}</td><td class="n">${reading(g.measured)}</td><td class="n">${g.target}</td><td class="n">−${+(g.band * 100).toFixed(1)}%</td><td class="n">${fixed(g.pressure, 2)}</td></tr>`);
  return `<table><caption>${caption}</caption><tr><th>goal</th><th>status</th><th>measured</th><th>target</th><th>band below it</th><th>pressure</th></tr>${rows.join('')}</table>`;
}

function changes(sc: SceneStatus): string {
  const items = sc.changes.map((c) => `<li>${clock(c.at)} ${esc(c.point)} ${c.from} → ${c.to} <span class="dim">${esc(c.reason)}${c.goal ? ` (${esc(c.goal)})` : ''}${c.applied ? '' : ', not applied'}</span></li>`);
  return `<details><summary>last ${sc.changes.length} gear change${sc.changes.length === 1 ? '' : 's'}</summary><ol>${items.join('')}</ol></details>`;
}

/** A gear's value from the config as text: a string as it is, anything else as JSON (both escaped). */
const gearValue = (v: JsonValue | undefined): string => esc(typeof v === 'string' ? v : JSON.stringify(v) ?? '');

/** A goal's reading, to three significant digits below 1 (a timeout rate of 0.0123) and two decimals above. */
const reading = (x: number | null): string => (x === null ? '–' : x === 0 || Math.abs(x) >= 1 ? x.toFixed(x === 0 ? 0 : 2) : x.toPrecision(3));
const fixed = (x: number | null | undefined, digits: number): string => (x === null || x === undefined ? '–' : x.toFixed(digits));
const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`);
/** A length of time, in its largest unit. */
const duration = (ms: number): string => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);
/** Wall-clock ms as the UTC time of day. */
const clock = (at: number): string => `${new Date(at).toISOString().slice(11, 19)}Z`;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text safe in an element and in a double-quoted attribute. */
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
