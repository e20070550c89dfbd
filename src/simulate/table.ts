/** The side-by-side table `npm run simulate` prints (and the README, Regulation, shows). */
import type { ControllerKind } from './controllers.js';
import type { Metrics } from './metrics.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const s = (x: number | null, never = 'never') => (x === null ? never : `${x}s`);

export const COLUMNS = ['controller', 'first move', 'converged', 'peak p99', 'timeouts', 'goodput', 'quality lost', 'recovery', 'changes/min', 'shed'] as const;

export function row(kind: ControllerKind, m: Metrics): string[] {
  return [
    kind,
    s(m.firstMoveS, '-'),
    s(m.convergedS),
    `${Math.round(m.peakP99Ms)}ms`,
    `${pct(m.timeoutRate)}${m.convergedS === null ? '*' : ''}`,
    pct(m.goodput),
    pct(m.qualityLost),
    s(m.recoveryS, '-'),
    m.changesPerMin.toFixed(1),
    pct(m.shedShare),
  ];
}

export function formatTable(title: string, rows: readonly string[][]): string {
  const all = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [`### ${title}`, '', line(all[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
