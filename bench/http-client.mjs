// The load generator for bench/http.bench.mjs: one autocannon run, result as one JSON line on stdout.
// `node bench/http-client.mjs <port> <seconds> <connections> [rate]` (rate: fixed overall req/s; default: as fast as it goes)
import autocannon from 'autocannon';

const [port, seconds, connections, rate] = process.argv.slice(2).map(Number);
const result = await autocannon({
  url: `http://127.0.0.1:${port}/`,
  connections,
  duration: seconds,
  ...(rate > 0 ? { overallRate: rate } : {}),
  headers: { 'x-gearshift-scene': 'hello', 'x-gearshift-unit': 'user-12345' },
});
process.stdout.write(JSON.stringify({ rps: result.requests.average, total: result.requests.total, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx }) + '\n');
