// Event-loop section: how long /healthz takes while one worker analyses `talks` big talks (about
// 1 MiB each) with the local provider, at once (safe profile, `--threads` = talks). An analysis
// that ran on the worker's event loop would hold every request (and the lease renewals) for as
// long as it runs; the figure to watch is the p99 and the max next to the idle ones.
import { openReadOnly, percentile } from '../lib/db.js';
import { sleep, startServe, stop } from '../lib/proc.js';
import { bigTalk } from '../lib/talk.js';

const PROBE_GAP_MS = 10;
const PROBE_TIMEOUT_MS = 30_000;

// One /healthz at a time, PROBE_GAP_MS apart, until `done()`; each latency in ms (a failed probe
// counts as its wait) with the time it was sent.
async function probe(url, done) {
  const latencies = [];
  const sentAt = [];
  let failures = 0;
  while (!done()) {
    const t = performance.now();
    sentAt.push(t);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.arrayBuffer();
      if (res.status !== 200) failures++;
    } catch {
      failures++;
    }
    latencies.push(performance.now() - t);
    await sleep(PROBE_GAP_MS);
  }
  return { latencies, sentAt, failures };
}

const stats = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const r = (v) => (v === null ? null : Math.round(v * 10) / 10);
  return { samples: sorted.length, p50Ms: r(percentile(sorted, 50)), p99Ms: r(percentile(sorted, 99)), maxMs: r(sorted.at(-1) ?? null) };
};

export async function eventLoopSection({ talks = 4, rounds = 1, log, timeoutSec }) {
  const server = await startServe({ profile: 'safe', args: ['--threads', String(talks)] });
  const db = openReadOnly(server.dataDir);
  const doneCount = db.prepare("SELECT count(*) AS n FROM presentation_status WHERE status IN ('done', 'failed')");
  try {
    const idleUntil = Date.now() + 1000;
    const idle = await probe(server.url, () => Date.now() >= idleUntil);
    const busy = [];
    // the probes sent after the last POST was answered and answered before the first talk was
    // done: only analyses ran then, no request body or result was being stored
    const analysing = [];
    let failures = idle.failures;
    const roundSeconds = [];
    const bytes = Buffer.byteLength(bigTalk(0));
    for (let round = 0; round < rounds; round++) {
      const target = (round + 1) * talks;
      const started = performance.now();
      const deadline = Date.now() + timeoutSec * 1000;
      let finished = false;
      let submittedAt = Infinity;
      let firstDoneAt = Infinity;
      const submitted = Promise.all(Array.from({ length: talks }, async (_, i) => {
        const res = await fetch(`${server.url}/api/presentations?title=Big%20talk%20${round * talks + i}`, {
          method: 'POST',
          headers: { 'content-type': 'text/markdown' },
          body: bigTalk(round * talks + i),
        });
        if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
      })).then(() => (submittedAt = performance.now()));
      const watcher = (async () => {
        for (let n = doneCount.get().n; Date.now() < deadline && n < target; n = doneCount.get().n) {
          if (n > target - talks && firstDoneAt === Infinity) firstDoneAt = performance.now();
          await sleep(20);
        }
        if (firstDoneAt === Infinity) firstDoneAt = performance.now();
        finished = true;
      })();
      const probed = await probe(server.url, () => finished);
      await Promise.all([submitted, watcher]);
      if (doneCount.get().n < target) throw new Error(`round ${round + 1}: ${target - doneCount.get().n} of ${talks} talks not analysed within ${timeoutSec} s`);
      roundSeconds.push(Math.round((performance.now() - started) / 100) / 10);
      busy.push(...probed.latencies);
      probed.latencies.forEach((ms, i) => {
        if (probed.sentAt[i] > submittedAt && probed.sentAt[i] + ms < firstDoneAt) analysing.push(ms);
      });
      failures += probed.failures;
      const s = stats(probed.latencies);
      log(`eventloop round ${round + 1}: ${talks} talks of ${(bytes / 1024).toFixed(0)} KiB analysed in ${roundSeconds.at(-1)} s; /healthz p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms max ${s.maxMs} ms (${s.samples} probes)`);
    }
    const result = { talks, rounds, talkBytes: bytes, threads: talks, workers: 1, roundSeconds, idle: stats(idle.latencies), busy: stats(busy), analysing: stats(analysing), failures };
    log(`eventloop: idle /healthz p99 ${result.idle.p99Ms} ms; from the first POST to the last talk done p99 ${result.busy.p99Ms} ms max ${result.busy.maxMs} ms; analyses only p99 ${result.analysing.p99Ms} ms max ${result.analysing.maxMs} ms (${result.analysing.samples} probes); failed probes ${failures}`);
    return result;
  } finally {
    db.close();
    await stop(server);
  }
}
