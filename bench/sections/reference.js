// The old stack side by side (DESIGN.md's "before"): gunicorn 1 × 4 (start_production.sh) and
// 2 × 2 (start_production_advanced.sh) under the same 9:1 mix at 50 connections; then our own
// `logs --duplicates` over its log counts the feedbacks it generated twice.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runMix } from '../lib/load.js';
import { BIN, ROOT, cleanEnv, referenceAvailable, removeDir, sleep, startReference, stop, tempDir } from '../lib/proc.js';
import { createTalks } from '../lib/talk.js';

const CONFIGS = [
  { name: 'old safe (gunicorn 1×4)', workers: 1, threads: 4 },
  { name: 'old advanced (gunicorn 2×2)', workers: 2, threads: 2 },
];

function duplicates(file) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'logs', '--duplicates', file, '--json'], { cwd: ROOT, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 }, (_error, stdout) => {
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve(undefined);
      }
    });
  });
}

export async function referenceSection({ quick, durationSec, log }) {
  if (!referenceAvailable()) {
    log('reference: skipped: the old stack needs `apt-get install -y gunicorn python3-flask python3-flask-sqlalchemy`');
    return { skipped: 'python3-flask, python3-flask-sqlalchemy or gunicorn not installed' };
  }
  const rows = [];
  for (const config of CONFIGS) {
    const logDir = tempDir('presenter-reference-log-');
    const logFile = join(logDir, 'gunicorn.log');
    const server = await startReference({ ...config, logFile });
    try {
      const { ids } = await createTalks(server.url, quick ? 50 : 200, { concurrency: 8 });
      const r = await runMix(server.url, ids, { connections: 50, durationSec });
      await sleep(3000); // its background thread polls every 0.5 s: let it finish the talks
      await stop(server);
      const report = await duplicates(logFile);
      const row = { profile: config.name, connections: 50, ...r, marked: report?.marked ?? null, extraFeedbacks: report?.extraFeedbacks ?? null };
      rows.push(row);
      log(`${config.name}: ${r.rps} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms errors ${r.errors}; feedbacks marked ${row.marked}, of them twice ${row.extraFeedbacks}`);
    } finally {
      await stop(server);
      removeDir(server.dataDir);
      removeDir(logDir);
    }
  }
  return rows;
}
