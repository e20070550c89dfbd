// Instructions by JavaScript function, shared by bench/http-jit-icount.mjs and bench/route-icount.mjs --jit.
//
// A process runs under `valgrind --tool=callgrind --dump-instr=yes` (a count per instruction address), counting only
// between two `callgrind_control --instr=on/off` calls, while node writes V8's perf map (`--perf-basic-prof`: the
// address range and name of every piece of generated code; code compaction off, so nothing moves). Each address is
// then named by the code object it falls in, e.g. `JS:*decide …/core.js:124`: a function as TurboFan compiled it,
// with whatever it inlined.
import { execFileSync, spawnSync } from 'node:child_process';

/** valgrind's arguments, before node's path. */
export const CALLGRIND_ARGS = (outFile) => ['--tool=callgrind', '--dump-instr=yes', '--instr-atstart=no', `--callgrind-out-file=${outFile}`];
/**
 * node's arguments: the perf map, no code compaction, and V8's randomness fixed (as in bench/http-icount.mjs).
 * `--perf-basic-prof` also writes a V8 log (isolate-…-v8.log) into the working directory: run it in a temporary one.
 */
export const NODE_ARGS = ['--perf-basic-prof', '--no-compact-code-space', '--predictable', '--predictable-gc-schedule', '--no-memory-reducer', '--hash-seed=42', '--random-seed=42'];

/** Whether valgrind and callgrind_control are here. */
export const haveCallgrind = () => spawnSync('valgrind', ['--version']).status === 0 && !spawnSync('callgrind_control', ['--version']).error;

/** Counting on or off in the callgrind process `pid` (valgrind runs node in its own process: the pid is node's). */
export const counting = (pid, on) => execFileSync('callgrind_control', [`--instr=${on ? 'on' : 'off'}`, String(pid)], { stdio: 'ignore' });

/** The perf map node wrote as process `pid`. */
export const perfMapOf = (pid) => `/tmp/perf-${pid}.map`;

/** V8's perf map (`start size name` per line, hex) as sorted ranges. */
function codeRanges(text) {
  const ranges = text.trim().split('\n').map((line) => {
    const [start, size, ...name] = line.split(' ');
    return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
  });
  return ranges.sort((a, b) => a.start - b.start);
}

/** The name of the code object holding `addr` (binary search on starts, then the nearest range that covers it). */
function nameAt(ranges, addr) {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].start <= addr) lo = mid + 1;
    else hi = mid - 1;
  }
  for (let i = hi; i >= 0 && i > hi - 64; i--) if (addr < ranges[i].end) return ranges[i].name;
  return null;
}

/**
 * Self instructions per function in a callgrind file written with --dump-instr=yes: cost lines are `address line Ir`,
 * with addresses absolute (`0x…`) or relative to the previous one (`+n`, `-n`, `*`); names are compressed to `(id)`
 * after their first use; the line after `calls=` is the inclusive cost of a call, not the caller's own.
 * Code without a symbol (fn=0x…) is V8's and is named from the perf map. Returns name → instructions per unit of
 * work, for `n` units counted (requests, decisions).
 */
export function perFunction(text, mapText, n) {
  const ranges = codeRanges(mapText);
  const names = new Map();
  const counts = new Map();
  const named = (s) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(s);
    if (!m) return s;
    if (m[2] !== undefined) names.set(m[1], m[2]);
    return names.get(m[1]);
  };
  let fn = '';
  let addr = 0;
  let callCost = false;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[a-z]+$/.test(line.slice(0, eq))) {
      const key = line.slice(0, eq);
      if (key === 'fn') fn = named(line.slice(3));
      else if (key === 'calls') callCost = true;
      else if (key !== 'positions' && key !== 'events' && key !== 'totals' && key !== 'summary') named(line.slice(eq + 1));
      continue;
    }
    const first = line[0];
    if (first !== '+' && first !== '-' && first !== '*' && !line.startsWith('0x')) continue;
    const [a, , cost] = line.split(' ');
    if (first === '+') addr += parseInt(a.slice(1), 16);
    else if (first === '-') addr -= parseInt(a.slice(1), 16);
    else if (first === '0') addr = parseInt(a, 16);
    if (callCost) {
      callCost = false;
      continue;
    }
    const ir = Number(cost ?? 0);
    if (ir === 0) continue;
    const name = fn.startsWith('0x') ? (nameAt(ranges, addr) ?? '(generated code without a name)') : fn;
    counts.set(name, (counts.get(name) ?? 0) + ir);
  }
  const perUnit = new Map();
  for (const [name, count] of counts) perUnit.set(name, count / n);
  return perUnit;
}

