// Heap allocated per request by each server of bench/http-server.mjs, and what gearshift adds to its host.
//
//   node bench/http-alloc.mjs [--kinds a,b,…] [--warmup N] [--requests N]
//
// Why: allocation costs CPU that no profile charges to the code that allocated (the scavenges run later, in V8's
// frames), so bench:http-perf-share cannot see it, and a value boxed by accident (a double read from an array of
// doubles, a clock's [seconds, nanoseconds] array that escape analysis did not remove) is invisible in a review.
// Method: the server reads V8's young-generation usage when each request arrives (its request-counting hook) and
// keeps the growth since the previous request; a scavenge in between shows as a drop and is skipped. Requests go one
// at a time over one keep-alive connection, a few ms apart, with time-driven work switched off (GEARSHIFT_TIMERS=off),
// so each interval holds one request's work and an idle loop. The median interval is the figure. The read itself
// allocates the same in every configuration, so it cancels in the difference with the bare host.
import { option as arg } from './cli.mjs';
import { sendOneByOne } from './one-by-one.mjs';
import { ask, startServer } from './servers.mjs';

const KINDS = arg('kinds', 'fastify,fastify-gearshift,fastify-async,fastify-gearshift-async,express,express-gearshift,express-async,express-gearshift-async').split(',');
const WARMUP = Number(arg('warmup', 3000));
const N = Number(arg('requests', 2000));

async function measure(kind) {
  const server = await startServer(kind, 0, { ...process.env, GEARSHIFT_ALLOC: '1', GEARSHIFT_TIMERS: 'off' });
  await sendOneByOne(server.port, WARMUP, 2);
  await ask(server, 'alloc'); // drops the warm-up's intervals
  await sendOneByOne(server.port, N, 2);
  const { deltas } = await ask(server, 'alloc');
  server.child.send({ cmd: 'exit' });
  deltas.sort((a, b) => a - b);
  return { median: deltas[Math.floor(deltas.length / 2)], p25: deltas[Math.floor(deltas.length / 4)], p75: deltas[Math.floor((deltas.length * 3) / 4)], n: deltas.length };
}

const results = {};
for (const kind of KINDS) {
  results[kind] = await measure(kind);
  const r = results[kind];
  console.log(`${kind.padEnd(26)} ${String(r.median).padStart(7)} B/request (p25 ${r.p25}, p75 ${r.p75}; ${r.n} intervals)`);
}
console.log(`\nnode ${process.version}; ${WARMUP} warm-up requests, then ${N} measured\n`);
console.log('| configuration | bytes/request (median) | gearshift adds |');
console.log('|---|---:|---:|');
for (const kind of KINDS) {
  const host = kind.replace('-gearshift', '');
  const added = kind !== host && results[host] ? `${results[kind].median - results[host].median >= 0 ? '+' : ''}${results[kind].median - results[host].median}` : '—';
  console.log(`| ${kind} | ${results[kind].median} | ${added} |`);
}
