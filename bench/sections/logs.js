// logs --duplicates throughput on a generated log: runs only once bench/gen-log.js exists.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, cleanEnv, tempDir, removeDir } from '../lib/proc.js';

const GEN = join(ROOT, 'bench/gen-log.js');

function run(args, timeoutMs) {
  return new Promise((ok) => {
    const t = process.hrtime.bigint();
    execFile(process.execPath, args, { cwd: ROOT, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      ok({ code: error ? (error.code ?? 1) : 0, killed: error?.killed ?? false, stdout, stderr, seconds: Number(process.hrtime.bigint() - t) / 1e9 });
    });
  });
}

export async function logsSection({ size, log }) {
  if (!existsSync(GEN)) {
    log('logs: skipped: bench/gen-log.js not there yet');
    return { skipped: 'bench/gen-log.js not there yet' };
  }
  const dir = tempDir('presenter-logs-');
  try {
    const file = join(dir, 'presenter.log');
    const gen = await run([GEN, '--size', size, '--out', file], 600_000);
    if (gen.code !== 0) throw new Error(`gen-log.js failed (${gen.code}): ${gen.stderr.slice(-500)}`);
    const bytes = statSync(file).size;
    const res = await run([BIN, 'logs', '--duplicates', file, '--json'], 600_000);
    // exit 1 = duplicates found (a result, not a failure); 2 = usage error
    let report = null;
    try {
      report = JSON.parse(res.stdout);
    } catch {
      // not JSON: reported as an error below
    }
    const result = { size, bytes, seconds: res.seconds, mbPerSec: Math.round(bytes / 1e6 / res.seconds), exitCode: res.code, generateSeconds: gen.seconds, ok: report !== null && (res.code === 0 || res.code === 1) };
    if (!result.ok) result.error = res.stderr.slice(-500) || res.stdout.slice(-500);
    log(`logs --duplicates: ${(bytes / 1e6).toFixed(0)} MB in ${res.seconds.toFixed(2)} s = ${result.mbPerSec} MB/s (exit ${res.code})${result.ok ? '' : ` ERROR: ${result.error}`}`);
    return result;
  } finally {
    removeDir(dir);
  }
}
