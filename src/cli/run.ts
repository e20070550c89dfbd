/**
 * The `gearshift` command: a config review without a running service. A CI job checks a config change before it
 * ships (`check`), shows what a reload would do to the units (`diff`: the release diff, bucket moves included), and an
 * engineer answers from the config alone "why did this user get that version" (`route`) and "what does this goal
 * change do under a peak" (`simulate`). Exit status: 0 done, 1 a document refused, 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { configJsonSchema, type GearshiftConfig } from '../config/schema.js';
import { validateConfig } from '../config/validate.js';
import { ConfigError, type ConfigIssue, UsageError } from '../errors.js';
import { releaseOf } from '../route/release-diff.js';
import { Router } from '../route/router.js';
import { compileTables } from '../route/tables.js';
import { sceneToSimulate, SHAPES, simulate } from './simulate.js';

/** Where the command writes and reads: the process's streams, or a test's. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Standard input, whole (for a file named `-`). */
  stdin(): string;
}

export const USAGE = `usage:
  gearshift check <config.json>...            validate each document: a summary, or every issue with its path
  gearshift diff <before.json> <after.json>   the release diff a reload from one to the other returns
  gearshift route <config.json> <scene> [<unit>] [--explicit <version>] [--load-test]
                                              the decision a request gets, and why (its hints taken as trusted)
  gearshift simulate <config.json> [--scene <id>] [--rate <req/s>] [--servers <n>] [--base-ms <ms>] [--shape <shape>]
                                              a scene and the regulator section through a 2x step, a 10x step, a
                                              sawtooth and a burst (--shape: ${SHAPES.join(', ')}), beside no
                                              regulation and a shedder; defaults: the first scene deployed here with
                                              points, 100 req/s, 8 servers, 40 ms
  gearshift schema                            the config's JSON Schema
options: --json (check, diff, route, simulate) writes JSON; a file named - is standard input.
exit status: 0 done, 1 a document refused, 2 a usage error.`;

/** The options each command takes, beyond --json and --help. */
const OPTIONS_OF: Readonly<Record<string, readonly string[]>> = { route: ['explicit', 'load-test'], simulate: ['scene', 'rate', 'servers', 'base-ms', 'shape'] };

/** A usage error: the arguments (the usage is shown with it), or a file that cannot be read. */
class Usage extends Error {
  constructor(message: string, readonly showUsage = true) {
    super(message);
  }
}

/** A document refused: not JSON, or not a valid config. */
class Refused extends Error {
  constructor(readonly file: string, readonly issues: readonly ConfigIssue[]) {
    super(`${file}: refused`);
  }
}

/** Runs the command line `argv` (the arguments after the program's name) and returns the exit status. */
export function run(argv: readonly string[], io: CliIo): number {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, explicit: { type: 'string' }, 'load-test': { type: 'boolean' },
        scene: { type: 'string' }, rate: { type: 'string' }, servers: { type: 'string' }, 'base-ms': { type: 'string' }, shape: { type: 'string' },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') return io.out(`${USAGE}\n`), 0;
    for (const name of Object.keys(values)) {
      if (name === 'json' || (OPTIONS_OF[command ?? ''] ?? []).includes(name)) continue;
      const owner = Object.keys(OPTIONS_OF).find((c) => OPTIONS_OF[c]!.includes(name));
      throw new Usage(`--${name} is an option of ${owner}${command === undefined ? '' : `, not of ${command}`}`);
    }
    const read = reader(io);
    const json = values.json === true;
    switch (command) {
      case 'check':
        return check(rest, read, json, io);
      case 'diff': {
        if (rest.length !== 2) throw new Usage('diff takes two files: the config in force and the next one');
        const diff = releaseOf(compileTables(read(rest[0]!)), compileTables(read(rest[1]!)));
        io.out(json ? `${JSON.stringify(diff, null, 2)}\n` : `${diff.toString()}\n`);
        return 0;
      }
      case 'route':
        return route(rest, read, { explicit: values.explicit, loadTest: values['load-test'] === true, json }, io);
      case 'simulate': {
        if (rest.length !== 1) throw new Usage('simulate takes one file');
        const config = read(rest[0]!);
        const o = {
          // The 10x step offers 1,350 s of the normal load: at 10,000 req/s 13.5 million requests, within the
          // simulator's 20 million a run (and about a minute here).
          rate: numberOption(values.rate, 'rate', 100, { max: 10_000 }),
          servers: numberOption(values.servers, 'servers', 8, { integer: true, max: 100_000 }),
          baseMs: numberOption(values['base-ms'], 'base-ms', 40, { max: 60_000 }),
          scene: values.scene, shape: values.shape, json,
        };
        if (o.shape !== undefined && !SHAPES.includes(o.shape)) throw new Usage(`--shape: expected one of ${SHAPES.join(', ')}, got ${JSON.stringify(o.shape)}`);
        io.out(simulate(config, sceneToSimulate(config, o.scene), o));
        return 0;
      }
      case 'schema':
        if (rest.length > 0 || json) throw new Usage('schema takes no file and no option: it writes JSON');
        io.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return 0;
      default:
        throw new Usage(command === undefined ? 'a command is missing' : `unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof Refused) return io.err(refusal(e.file, e.issues)), 1;
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code for an unknown option or a missing value.
    if (e instanceof Usage || (e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      return io.err(`gearshift: ${e.message}\n${e instanceof Usage && !e.showUsage ? '' : `${USAGE}\n`}`), 2;
    }
    // What the library refuses of what the arguments made (the simulator's bound on requests in a run, say).
    if (e instanceof UsageError) return io.err(`gearshift: ${e.message}\n`), 2;
    throw e;
  }
}

/** A number option: positive and finite (an integer if asked), at most `max`; `fallback` when not given. */
function numberOption(text: string | undefined, name: string, fallback: number, o: { integer?: boolean; max: number }): number {
  if (text === undefined) return fallback;
  const x = Number(text);
  if (text.trim() === '' || !(x > 0 && x <= o.max) || (o.integer && !Number.isInteger(x))) {
    throw new Usage(`--${name}: expected ${o.integer ? 'an integer' : 'a number'} above 0 and at most ${o.max.toLocaleString('en')}, got ${JSON.stringify(text)}`);
  }
  return x;
}

/** Reads and validates a config file; `-` is standard input, once. */
function reader(io: CliIo): (file: string) => GearshiftConfig {
  let stdinTaken = false;
  return (file) => {
    let text: string;
    if (file === '-') {
      if (stdinTaken) throw new Usage('standard input (-) can be read once');
      stdinTaken = true;
      text = io.stdin();
    } else {
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new Usage(`cannot read ${file}: ${(e as Error).message}`, false);
      }
    }
    let doc: unknown;
    try {
      // A byte-order mark, which some editors write at the head of a UTF-8 file, is not JSON's.
      doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (e) {
      throw new Refused(file, [{ path: '', message: `not JSON: ${(e as Error).message}` }]);
    }
    try {
      return validateConfig(doc);
    } catch (e) {
      if (e instanceof ConfigError) throw new Refused(file, e.issues);
      throw e;
    }
  };
}

/** Every issue, not the first ten a ConfigError's message shows: a review wants them all. */
const refusal = (file: string, issues: readonly ConfigIssue[]): string =>
  `${file}: refused, ${issues.length} issue${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}\n`).join('')}`;

/** Each file validated on its own: every one is reported, and the status is 1 if any is refused. */
function check(files: readonly string[], read: (file: string) => GearshiftConfig, json: boolean, io: CliIo): number {
  if (files.length === 0) throw new Usage('check takes one file or more');
  const results = files.map((file) => {
    try {
      const config = read(file);
      const scenes = Object.keys(config.scenes);
      return { file, ok: true as const, version: config.version ?? null, scenes: scenes.length, deployedHere: config.deployedHere?.length ?? scenes.length };
    } catch (e) {
      if (e instanceof Refused) return { file, ok: false as const, issues: e.issues };
      throw e;
    }
  });
  if (json) io.out(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results) {
      if (r.ok) io.out(`${r.file}: valid, config ${r.version ?? '(no version)'}, ${r.scenes} scene${r.scenes === 1 ? '' : 's'}, ${r.deployedHere} deployed here\n`);
      else io.err(refusal(r.file, r.issues));
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

/** The decision the config gives a request, by the router the engine uses. */
function route(args: readonly string[], read: (file: string) => GearshiftConfig, o: { explicit: string | undefined; loadTest: boolean; json: boolean }, io: CliIo): number {
  if (args.length < 2 || args.length > 3) throw new Usage('route takes a file, a scene and, optionally, a unit id');
  const [file, scene, unit] = args as [string, string, string | undefined];
  const router = new Router(compileTables(read(file)));
  const trusted = o.explicit !== undefined || o.loadTest;
  const d = router.route(scene, unit, trusted ? { version: o.explicit ?? null, loadTest: o.loadTest, trusted } : undefined);
  const params = Object.fromEntries(Object.entries(d.params()).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (o.json) io.out(`${JSON.stringify({ ...d.toJSON(), ok: d.ok, params }, null, 2)}\n`);
  else io.out(`${d.explain()}\n${Object.entries(params).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}\n`).join('')}`);
  return 0; // a rejection is an answer too: the document was not refused
}
