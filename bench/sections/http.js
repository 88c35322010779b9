// HTTP section: baseline, then each profile, each at every connection count, in one run.
import { runMix } from '../lib/load.js';
import { rssOf, startBaseline, startServe, status, stop, removeDir } from '../lib/proc.js';
import { createTalks } from '../lib/talk.js';

// Jobs run with the noop provider: the section measures the HTTP path and the job bookkeeping
// (claim, complete), not the analyser.
const SERVE_ENV = { PRESENTER_AI_PROVIDER: 'noop' };

async function rssPerWorker(server) {
  if (server.kind === 'baseline') return [rssOf(server.child.pid)];
  const s = await status(server.dataDir);
  return s.workers.map((w) => w.rssBytes);
}

export async function httpSection({ quick, profiles, connections, durationSec, log }) {
  const rows = [];
  for (const target of ['baseline', ...profiles]) {
    const server = target === 'baseline' ? await startBaseline() : await startServe({ profile: target, env: SERVE_ENV });
    try {
      const { ids } = await createTalks(server.url, quick ? 50 : 200, { concurrency: 8 });
      await runMix(server.url, ids, { connections: 50, durationSec: quick ? 1 : 3 }); // warm-up, not reported
      for (const c of connections) {
        const r = await runMix(server.url, ids, { connections: c, durationSec });
        const rss = await rssPerWorker(server);
        const row = { profile: target, connections: c, ...r, rssPerWorkerBytes: rss };
        rows.push(row);
        log(`http ${target} c=${c}: ${r.rps} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms errors ${r.errors} timeouts ${r.timeouts} non2xx ${r.non2xx}`);
      }
    } finally {
      await stop(server);
      removeDir(server.dataDir);
    }
  }
  for (const row of rows) {
    const base = rows.find((b) => b.profile === 'baseline' && b.connections === row.connections);
    row.ratioToBaseline = base ? Math.round((row.rps / base.rps) * 100) / 100 : null;
  }
  return rows;
}
