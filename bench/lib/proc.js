// Processes the bench starts: `serve` on 127.0.0.1 with its own data dir and free port, the
// baseline server, and the CLI's `status --json`. Everything started here is stopped by stopAll().
import { spawn, execFile, execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/presenter-serve.js');
const started = new Set();
const seenPids = new Set();
const dirs = new Set();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tempDir(prefix = 'presenter-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** The environment without inherited PRESENTER_* settings, but the SQLite driver (`--sqlite-driver`). */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if ((!k.startsWith('PRESENTER_') || k === 'PRESENTER_SQLITE_DRIVER') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

async function waitReady(url, child, timeoutMs, path) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${path} exited before it was ready (${child.exitCode ?? child.signalCode}):\n${child.output.slice(-2000)}`);
    try {
      const res = await fetch(`${url}${path}`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`not ready within ${timeoutMs} ms:\n${child.output.slice(-2000)}`);
}

function track(child) {
  child.output = '';
  const keep = (chunk) => {
    child.output = (child.output + chunk).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  started.add(child);
  seenPids.add(child.pid);
  child.exited.then(() => started.delete(child));
  return child;
}

/**
 * `presenter-serve serve` with the given profile; resolves once /readyz says 200. The rate limit
 * and the queue cap are off (DESIGN.md: benchmarks run with PRESENTER_RATE_LIMIT=0
 * PRESENTER_MAX_QUEUE=0): the bench is the flood they exist to stop.
 */
// `execArgv` (e.g. --cpu-prof) reaches the workers too: node:cluster forks with the primary's execArgv.
// `launcher` runs node under another program (e.g. valgrind: bench/sections/instructions.js).
export async function startServe({ profile = 'safe', args = [], env = {}, dataDir = tempDir(), port, execArgv = [], launcher = [], readyTimeoutMs = 30_000 } = {}) {
  const p = port ?? (await freePort());
  const [command, ...argv] = [...launcher, process.execPath, ...execArgv, BIN, 'serve', '--profile', profile, '--host', '127.0.0.1', '--port', String(p), '--data-dir', dataDir, '--quiet', ...args];
  const child = track(
    spawn(command, argv, {
      cwd: ROOT,
      env: cleanEnv({ PRESENTER_RATE_LIMIT: '0', PRESENTER_MAX_QUEUE: '0', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const server = { kind: 'serve', profile, child, port: p, dataDir, url: `http://127.0.0.1:${p}` };
  await waitReady(server.url, child, readyTimeoutMs, '/readyz');
  return server;
}

/** bench/baseline-server.js: node:http + SQLite (the driver serve would use), one process. */
export async function startBaseline({ sameResponse = false, execArgv = [], launcher = [], readyTimeoutMs = 10_000 } = {}) {
  const dataDir = tempDir('presenter-baseline-');
  const port = await freePort();
  const [command, ...argv] = [...launcher, process.execPath, ...execArgv, join(ROOT, 'bench/baseline-server.js'), '--port', String(port), '--db', join(dataDir, 'baseline.db'), ...(sameResponse ? ['--same-response'] : [])];
  const child = track(
    spawn(command, argv, {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const server = { kind: 'baseline', profile: 'baseline', child, port, dataDir, url: `http://127.0.0.1:${port}` };
  await waitReady(server.url, child, readyTimeoutMs, '/healthz');
  return server;
}

/** `presenter-serve status --json --data-dir …` */
export function status(dataDir) {
  return new Promise((ok, fail) => {
    execFile(process.execPath, [BIN, 'status', '--json', '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv(), timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) return fail(new Error(`status failed: ${stderr || error.message}`));
      try {
        const parsed = JSON.parse(stdout);
        for (const w of parsed.workers ?? []) if (w.pid) seenPids.add(w.pid);
        ok(parsed);
      } catch (e) {
        fail(e);
      }
    });
  });
}

/** Resident set size of a process from /proc (Linux), in bytes. */
export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** SIGTERM, then wait (SIGKILL after `graceMs`); for serve, also kill any worker left behind. */
export async function stop(server, graceMs = 20_000) {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }
  return child.exited;
}

export async function stopAll() {
  await Promise.all([...started].map((child) => stop({ child })));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

/** Removes a temp dir now instead of at stopAll(). */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Pids this bench started or saw as workers that are still alive. */
export function leftovers() {
  const alive = [];
  for (const pid of seenPids) {
    try {
      process.kill(pid, 0);
      alive.push(pid);
    } catch {
      // gone
    }
  }
  return alive;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

const REFERENCE_DIR = join(ROOT, '../shared/reference-stack');

/** The old stack (Flask + SQLAlchemy under gunicorn), when Debian's python packages are there. */
export function referenceAvailable() {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import flask, flask_sqlalchemy, gunicorn'], { cwd: REFERENCE_DIR, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** gunicorn with `workers` × `threads` on 127.0.0.1; its log (stderr) goes to `logFile`. */
export async function startReference({ workers, threads, logFile }) {
  const dataDir = tempDir('presenter-reference-');
  const port = await freePort();
  const fd = openSync(logFile, 'w');
  const child = track(
    spawn('/usr/bin/python3', ['-m', 'gunicorn', '--workers', String(workers), '--threads', String(threads), '--bind', `127.0.0.1:${port}`, 'app:app'], {
      cwd: REFERENCE_DIR,
      env: cleanEnv({ REF_DB: join(dataDir, 'ref.db') }),
      stdio: ['ignore', 'pipe', fd],
    }),
  );
  closeSync(fd);
  const server = { kind: 'reference', child, port, dataDir, url: `http://127.0.0.1:${port}` };
  await waitReady(server.url, child, 30_000, '/healthz');
  return server;
}
