// Requests one at a time over one keep-alive loopback connection, each sent `gapMs` after the previous one ended, so
// that every request meets an idle event loop and the server's work per request does not depend on how the two
// processes happened to interleave (bench/http-icount.mjs, bench/http-alloc.mjs). Same headers for every
// configuration, a fresh unit id per request.
import http from 'node:http';

export async function sendOneByOne(port, total, gapMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < total; i++) {
      await new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { 'x-gearshift-scene': 'hello', 'x-gearshift-unit': `user-${100000 + i}` } }, (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.once('error', reject);
      });
      await new Promise((r) => setTimeout(r, gapMs));
    }
  } finally {
    agent.destroy();
  }
}
