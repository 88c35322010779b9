// Chaos section: 2 workers, N talks submitted (with Idempotency-Key, retried on errors) while a
// random worker is SIGKILLed every 2 s. Results are read from the database, not the logs.
// Workers killed after they were ready never stop the service (src/supervisor/backoff.ts); should
// `serve` stop all the same, the bench starts it again on the same data dir, as a service manager
// would, and counts it (serveRestartsAfterCrashLoop: 0 expected).
import { openReadOnly } from '../lib/db.js';
import { sleep, startServe, status, stop, removeDir, tempDir, freePort } from '../lib/proc.js';
import { createTalks } from '../lib/talk.js';

const ENV = { PRESENTER_AI_PROVIDER: 'noop', PRESENTER_AI_DELAY_MS: '30', PRESENTER_LEASE_MS: '2000' };

export async function chaosSection({ talks, killEveryMs = 2000, chaosSec, log, timeoutSec }) {
  const dataDir = tempDir('presenter-chaos-');
  const port = await freePort();
  const start = () => startServe({ profile: 'advanced', dataDir, port, env: ENV });
  let server = await start();
  const slots = 2; // the advanced profile's threads
  const kills = [];
  let restartsOfServe = 0;
  let killing = true;
  const t0 = Date.now();

  const killer = (async () => {
    let next = Date.now() + killEveryMs;
    while (killing && Date.now() - t0 < chaosSec * 1000) {
      await sleep(Math.max(0, next - Date.now()));
      next += killEveryMs;
      if (!killing) break;
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        restartsOfServe++;
        log(`chaos: serve stopped (${server.child.exitCode ?? server.child.signalCode}; crash loop) — starting it again`);
        server = await start();
        continue;
      }
      try {
        const s = await status(dataDir);
        const alive = s.workers.filter((w) => w.pid && w.state === 'ready');
        const victim = alive[Math.floor(Math.random() * alive.length)];
        if (!victim) continue;
        process.kill(victim.pid, 'SIGKILL');
        kills.push({ atMs: Date.now() - t0, pid: victim.pid, activeJobs: victim.activeJobs });
      } catch {
        // the supervisor is stopping (crash loop) or a worker just went: try again next tick
      }
    }
  })();

  const { ids, failures } = await createTalks(`http://127.0.0.1:${port}`, talks, { concurrency: 16, idempotencyPrefix: `chaos-${t0}`, retries: 200 });
  const submittedAt = Date.now() - t0;
  const db = openReadOnly(dataDir);
  const settled = db.prepare("SELECT count(*) AS n FROM presentation_status WHERE status IN ('done', 'failed')");
  const deadline = Date.now() + timeoutSec * 1000;
  let n = 0;
  while (Date.now() < deadline) {
    n = settled.get().n;
    if (n >= ids.length && Date.now() - t0 >= Math.min(chaosSec * 1000, 4000)) break;
    if (server.child.exitCode !== null && !killing) server = await start();
    await sleep(250);
  }
  killing = false;
  await killer;
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    server = await start(); // let expired leases be finished before the count
    while (settled.get().n < ids.length && Date.now() < deadline + 10_000) await sleep(250);
  }
  const wallSec = (Date.now() - t0) / 1000;
  await stop(server);

  const q = (sql, ...a) => db.prepare(sql).get(...a);
  const idSet = new Set(ids);
  const rows = db.prepare('SELECT id, status FROM presentation_status').all();
  const present = rows.filter((r) => idSet.has(r.id));
  const byStatus = {};
  for (const r of present) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const fb = db.prepare('SELECT p.id, count(f.id) AS n FROM presentations p LEFT JOIN feedback f ON f.presentation_id = p.id GROUP BY p.id').all();
  const jobs = q('SELECT count(*) AS jobs, sum(attempts) AS attempts, max(attempts) AS maxAttempts FROM jobs');
  const jobsByStatus = Object.fromEntries(db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status').all().map((r) => [r.status, r.n]));
  const attemptsHist = Object.fromEntries(db.prepare('SELECT attempts, count(*) AS n FROM jobs GROUP BY attempts').all().map((r) => [r.attempts, r.n]));
  const feedbackRows = q('SELECT count(*) AS n FROM feedback').n;
  const dupVersions = q('SELECT count(*) AS n FROM (SELECT presentation_id, version FROM feedback GROUP BY 1, 2 HAVING count(*) > 1)').n;
  db.close();
  removeDir(dataDir);

  const inFlightAtKills = kills.reduce((sum, k) => sum + (k.activeJobs ?? slots), 0);
  const result = {
    talks,
    acceptedByApi: ids.length,
    clientRetries: failures,
    presentationsInDb: rows.length,
    talksLost: ids.length - (byStatus.done ?? 0),
    missingRows: ids.length - present.length,
    byStatus,
    zeroFeedback: fb.filter((r) => r.n === 0).length,
    oneFeedback: fb.filter((r) => r.n === 1).length,
    moreThanOneFeedback: fb.filter((r) => r.n > 1).length,
    duplicateFeedbackVersions: dupVersions,
    feedbackRows,
    jobs: jobs.jobs,
    jobsByStatus,
    attempts: jobs.attempts,
    extraAttempts: jobs.attempts - jobs.jobs,
    attemptsHistogram: attemptsHist,
    kills: kills.length,
    killUpperBound: { killsTimesSlots: kills.length * slots, inFlightAtKills },
    serveRestartsAfterCrashLoop: restartsOfServe,
    submitSec: submittedAt / 1000,
    wallSec,
    env: ENV,
  };
  log(`chaos: ${result.acceptedByApi} talks accepted, ${result.talksLost} lost, ${result.moreThanOneFeedback} with >1 feedback, ${result.zeroFeedback} with none; attempts ${result.attempts} for ${result.jobs} jobs (+${result.extraAttempts}; bound ${inFlightAtKills} in flight at ${kills.length} kills); serve restarted ${restartsOfServe}× after crash loop; ${wallSec.toFixed(1)} s`);
  return result;
}
