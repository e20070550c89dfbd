// The request handler of examples/gateway.mjs: decide once, forward to the upstream serving that version, record how
// the exchange ended exactly once. Its own file so that tests run this very code against failing upstreams and
// clients that leave.
import { request } from 'node:http';
import { pipeline } from 'node:stream';

// Headers about one connection, not the message (RFC 9110 §7.6.1): a proxy forwards them in neither direction.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
// A client's hints: the gateway has weighed them in its decision; passed on, an upstream that trusts the gateway's
// address would read them as the gateway's own. (Node sets `host` to the upstream's; the client's goes on as
// `x-forwarded-host`.)
const NOT_FORWARDED = ['host', 'x-gearshift-version', 'x-gearshift-load-test', 'x-gearshift-hint'];

/** `headers` without hop-by-hop ones (including those its `Connection` names) and without `drop`. */
function endToEnd(headers, drop = []) {
  const named = String(headers.connection ?? '').toLowerCase().split(',').map((h) => h.trim());
  const skip = new Set([...HOP_BY_HOP, ...named, ...drop]);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !skip.has(name)));
}

/**
 * A `node:http` request handler that routes with `gw` (a gateway from createGateway) and forwards to
 * `upstreams[decision.version]` (a loopback port). Scene from `x-scene`, unit from `x-user`.
 */
export function gatewayHandler(gw, upstreams) {
  return (req, res) => {
    const { decision, done } = gw.begin(req.headers['x-scene'], req.headers['x-user'], {
      version: req.headers['x-gearshift-version'], // honoured only when trusted: here never (no proxy ranges)
      loadTest: req.headers['x-gearshift-load-test'], // the same: a signed hint is the way in here
      signed: req.headers['x-gearshift-hint'],
      peer: req.socket.remoteAddress,
    });
    if (!decision.ok) {
      const r = gw.rejection(decision);
      res.writeHead(r.status, r.headers).end(r.body);
      return;
    }
    // The client's headers go along (x-user with them, so the upstream picks the same experiment arms), then the
    // decision, which also strips the client's gearshift.* entries from the baggage.
    const headers = { ...endToEnd(req.headers, NOT_FORWARDED), ...gw.propagationHeaders(decision, req.headers.baggage) };
    if (headers.baggage === '') delete headers.baggage; // nothing but gearshift entries was in it
    // Who asked, and for which host, as proxies say it: the upstream sees the gateway's address and its own host.
    const peer = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${peer}` : peer;
    if (req.headers.host !== undefined) headers['x-forwarded-host'] = req.headers.host;
    const up = request({ host: '127.0.0.1', port: upstreams[decision.version], path: req.url, method: req.method, headers });

    const end = (outcome) => {
      clearTimeout(timer);
      done(outcome); // the first call records; later ones (the same failure seen from another side) do nothing
    };
    // The budget is a deadline, not an idle timeout (`timeout:` on the request is re-armed by every byte, so a
    // trickling upstream would hold the client past it). Cut by it, the upstream fails below: before its headers
    // the client gets a 504 (no answer in time; 502 is for a bad one), after them its response is cut.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      end('timeout');
      up.destroy(new Error('upstream timeout'));
    }, Math.max(0, gw.remainingMs(decision)));

    // The client left before the answer was delivered: a client abort (cut by a failing upstream: an error), and the
    // upstream call is dropped. Registered first, so it speaks before the pipeline's own report of the same close.
    res.on('close', () => {
      clearTimeout(timer);
      if (res.writableFinished) return; // delivered: recorded by the pipeline below
      end(res.errored ? 'error' : 499);
      up.destroy();
    });
    up.on('response', (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, endToEnd(upRes.headers));
      // An upstream that fails mid-body (reset, crashed, cut at the deadline) fails the pipeline, which cuts the
      // client's response.
      pipeline(upRes, res, (err) => end(err ? 'error' : (upRes.statusCode ?? 502)));
    });
    up.on('error', () => {
      end('error'); // refused, reset before answering (after a timeout or a client abort: already recorded)
      if (!res.headersSent && !res.destroyed) res.writeHead(timedOut ? 504 : 502).end();
    });
    // The body streams through. A client that leaves mid-upload fails this pipeline, which drops the upstream call;
    // an upstream that fails mid-upload is reported by 'error' above. Nothing more to do here.
    pipeline(req, up, () => {});
  };
}
