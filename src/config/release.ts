/** The readable result of a config reload: what changed in the document and how many units changed version. */
import { type ConfigChange, formatChange } from './diff.js';

export interface SplitMove {
  readonly scene: string;
  readonly buckets: number;
  readonly flows: Readonly<Record<string, number>>;
}

export class ReleaseDiff {
  constructor(
    readonly from: string,
    readonly to: string,
    readonly changes: readonly ConfigChange[],
    readonly moves: readonly SplitMove[],
  ) {}

  get empty(): boolean {
    return this.changes.length === 0;
  }

  toString(): string {
    const lines = [`config ${this.from} → ${this.to}: ${this.changes.length} change${this.changes.length === 1 ? '' : 's'}`];
    for (const c of this.changes) lines.push(`  ${formatChange(c)}`);
    for (const m of this.moves) {
      const flows = Object.entries(m.flows).map(([k, n]) => `${k} ${(n / 100).toFixed(2)}%`).join(', ');
      lines.push(`  scene ${m.scene}: ${(m.buckets / 100).toFixed(2)}% of units change version (${flows})`);
    }
    return lines.join('\n');
  }
}
