import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** `npm run demo`, shortened: it runs against the built package, ends by itself and prints its summary. */
describe('demo', () => {
  it('runs the phases, turns gears down under the peak and prints a summary', async () => {
    const t = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['examples/demo.mjs', '--quick', '--plain'], { encoding: 'utf8', timeout: 60_000 });
    expect(Date.now() - t).toBeLessThan(60_000);
    for (const phase of ['normal', '2x peak', 'back']) expect(stdout).toContain(`phase: ${phase}`);
    expect(stdout).toMatch(/versions served/);
    expect(stdout).toMatch(/refactor \d+%/); // the code experiment is visible
    const summary = stdout.slice(stdout.indexOf('Summary'));
    for (const scene of ['feed', 'search', 'ads']) expect(summary).toMatch(new RegExp(`2x peak\\s+${scene}\\s+\\d+`));
    const downs = Number(/(\d+) down/.exec(summary)?.[1]);
    expect(downs).toBeGreaterThan(0);
    // The status page, live while it ran and saved at the end, with the gear curves of the run.
    expect(stdout).toMatch(/status page while the demo runs: http:\/\/127\.0\.0\.1:\d+\/gearshift\/status/);
    const page = readFileSync(/The status page at the end .*: (.+)$/m.exec(summary)![1]!, 'utf8');
    for (const scene of ['feed', 'search', 'ads']) expect(page).toContain(`<h2>${scene} `);
    expect(page.match(/<polyline /g)).toHaveLength(4); // recall, rank, candidates, creatives
  }, 70_000);
});
