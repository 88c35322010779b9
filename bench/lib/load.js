// The HTTP load: autocannon's programmatic API, a fixed 9:1 mix of reads
// (GET /api/presentations/:id over known ids) and creates (POST JSON); getOnly: reads only;
// postOnly: creates only (a create's CPU, its job's bookkeeping included).
import autocannon from 'autocannon';
import { talkJson } from './talk.js';

export function runMix(url, ids, { connections, durationSec, getOnly = false, postOnly = false }) {
  let n = 0;
  const body = talkJson(0);
  return new Promise((ok, fail) => {
    autocannon(
      {
        url,
        connections,
        duration: durationSec,
        timeout: 10,
        requests: [
          {
            setupRequest(req) {
              const i = n++;
              if (postOnly || (!getOnly && i % 10 === 9)) return { ...req, method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/json' }, body };
              return { ...req, method: 'GET', path: `/api/presentations/${ids[i % ids.length]}`, headers: {}, body: undefined };
            },
          },
        ],
      },
      (error, result) => (error ? fail(error) : ok(summarize(result))),
    );
  });
}

function summarize(r) {
  return {
    requests: r.requests.total,
    rps: Math.round(r.requests.total / r.duration),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    durationSec: Math.round(r.duration * 10) / 10,
  };
}
