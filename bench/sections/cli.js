// Start times: each CLI command from spawn to exit, next to a bare `node -e 0`, with no server
// and with one running; and a worker from fork to ready (the supervisor's `worker.started` to the
// worker's `worker.ready`, from the log), over reloads of a one-worker server.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, cleanEnv, startServe, stop, tempDir } from '../lib/proc.js';

/** CPU ms (user + system) of this process's waited-for children, from /proc (Linux); null elsewhere. */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // cutime, cstime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

// Wall time, and CPU time, which a loaded machine inflates far less (10 ms resolution).
function timeOnce(args) {
  return new Promise((ok) => {
    const cpu = childrenCpuMs();
    const t = process.hrtime.bigint();
    execFile(process.execPath, args, { cwd: ROOT, env: cleanEnv(), timeout: 60_000 }, (error) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      const after = childrenCpuMs();
      ok({ ms, cpuMs: cpu === null || after === null ? null : after - cpu, code: error ? (error.code ?? 1) : 0 });
    });
  });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
const round = (n) => Math.round(n * 10) / 10;

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { runs: sorted.length, medianMs: round(quantile(sorted, 0.5)), p90Ms: round(quantile(sorted, 0.9)), minMs: round(sorted[0]) };
}

async function measure(label, args, runs, expectCode) {
  const times = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    const r = await timeOnce(args);
    if (r.code !== expectCode) throw new Error(`${label}: exit ${r.code}, expected ${expectCode}`);
    times.push(r.ms);
    if (r.cpuMs !== null) cpu.push(r.cpuMs);
  }
  return { command: label, ...summary(times), cpuMedianMs: cpu.length ? quantile(cpu.sort((a, b) => a - b), 0.5) : null };
}

/** The supervisor's `worker.started` to each worker's `worker.ready`, in ms, from the log file. */
export function forkToReady(logFile) {
  const started = new Map();
  const out = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"worker.started"') && !line.includes('"worker.ready"')) continue;
    const entry = JSON.parse(line);
    if (entry.event === 'worker.started') started.set(entry.workerPid, entry.time);
    else if (entry.event === 'worker.ready' && started.has(entry.pid)) out.push(entry.time - started.get(entry.pid));
  }
  return out;
}

export async function cliSection({ quick, log }) {
  const runs = quick ? 8 : 20;
  const reloads = quick ? 4 : 10;
  const idle = tempDir('presenter-cli-');
  const rows = [];
  const add = async (label, args, expectCode = 0) => {
    const row = await measure(label, args, runs, expectCode);
    rows.push(row);
    log(`${label.padEnd(34)} median ${String(row.medianMs).padStart(6)} ms  p90 ${String(row.p90Ms).padStart(6)} ms  CPU ${row.cpuMedianMs ?? '-'} ms`);
  };
  await add('node -e 0', ['-e', '0']);
  await add('--version', [BIN, '--version']);
  await add('--help', [BIN, '--help']);
  await add('profiles', [BIN, 'profiles']);
  await add('nginx-config', [BIN, 'nginx-config', '--upstream', '10.0.0.1:5000']);
  await add('systemd-unit', [BIN, 'systemd-unit', '--user', 'presenter']);
  await add('status (not running)', [BIN, 'status', '--data-dir', idle], 3);
  await add('stop (not running)', [BIN, 'stop', '--data-dir', idle], 1);
  await add('reload (not running)', [BIN, 'reload', '--data-dir', idle], 1);

  const server = await startServe({ profile: 'safe', args: ['--workers', '1'] });
  try {
    await add('status (running)', [BIN, 'status', '--data-dir', server.dataDir]);
    await add('status --json (running)', [BIN, 'status', '--json', '--data-dir', server.dataDir]);
    // each reload forks a new worker and waits for it to be ready
    for (let i = 0; i < reloads; i++) {
      const r = await timeOnce([BIN, 'reload', '--data-dir', server.dataDir]);
      if (r.code !== 0) throw new Error(`reload: exit ${r.code}`);
    }
  } finally {
    await stop(server);
  }
  const workers = summary(forkToReady(join(server.dataDir, 'logs/presenter.log')));
  log(`${'worker fork → ready'.padEnd(34)} median ${String(workers.medianMs).padStart(6)} ms  p90 ${String(workers.p90Ms).padStart(6)} ms  (${workers.runs} starts)`);
  const base = rows[0].medianMs;
  for (const row of rows) row.ratioToNode = round(row.medianMs / base);
  return { runs, commands: rows, workerForkToReady: workers };
}
