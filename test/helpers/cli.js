// Shared helpers for black-box tests: the real built binary, a temp data dir and a free port each.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin/presenter-serve.js');

const NODE_WARNING = /\(node:\d+\) \[?[A-Z]*\w*Warning|ExperimentalWarning|DeprecationWarning/;

/** A fresh data dir, removed when the test ends. */
export function makeDataDir(t, prefix = 'presenter-test-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Environment for a child: no inherited PRESENTER_* settings, no colour. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PRESENTER_') && k !== 'FORCE_COLOR') env[k] = v;
  // NO_COLOR unless the test asks for colour (Node warns when both are set)
  return { ...env, ...('FORCE_COLOR' in extra ? {} : { NO_COLOR: '1' }), ...extra };
}

/** Fails the test when a child printed a Node warning (execa's test helper does the same). */
export function assertNoNodeWarnings(stderr) {
  if (NODE_WARNING.test(stderr)) throw new Error(`the process printed a Node warning:\n${stderr}`);
}

/** Runs the CLI to completion. */
/** `node`/`bin`: another Node binary or another install of the CLI (test/helpers/node-bins.js). */
export async function runCli(args, { env = {}, cwd = ROOT, timeout = 30_000, input, node = process.execPath, bin = BIN } = {}) {
  const result = await execa(node, [bin, ...args], {
    cwd,
    env: cleanEnv(env),
    extendEnv: false,
    reject: false,
    timeout,
    input,
    stdin: input === undefined ? 'ignore' : 'pipe',
  });
  assertNoNodeWarnings(result.stderr);
  return result;
}

export async function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts `serve` on 127.0.0.1 with its own data dir and port, waits until /readyz answers 200,
 * and stops it (and checks it exited) when the test ends. The rate limit and the queue cap are
 * off unless the test sets PRESENTER_RATE_LIMIT / PRESENTER_MAX_QUEUE ('' = the defaults):
 * tests create talks faster than any presenter.
 */
/** Whether the log says the supervisor is ready; true also when the log cannot be read (the test's own business). */
async function allWorkersReady(dataDir, deadline) {
  const dir = join(dataDir, 'logs');
  while (Date.now() < deadline) {
    let text = '';
    try {
      // a tiny PRESENTER_LOG_MAX_BYTES may have rotated the line out of presenter.log already
      for (const name of readdirSync(dir)) if (name.startsWith('presenter.log') && !name.endsWith('.gz')) text += readFileSync(join(dir, name), 'utf8');
    } catch {
      return true;
    }
    if (text.includes('"event":"supervisor.ready"')) return true;
    await sleep(25);
  }
  return false;
}

/** `launcher`: a command that execs the server, e.g. ['prlimit', '--nofile=512:4096', '--'] (same pid). */
export async function startServer(t, { args = [], env: extraEnv = {}, dataDir, port, readyTimeout = 60_000, launcher = [], node = process.execPath, bin = BIN } = {}) {
  const env = { PRESENTER_RATE_LIMIT: '0', PRESENTER_MAX_QUEUE: '0', ...extraEnv };
  const dir = dataDir ?? makeDataDir(t);
  const p = port ?? (await freePort());
  const command = [...launcher, node, bin, 'serve', '--host', '127.0.0.1', '--port', String(p), '--data-dir', dir, ...args];
  const child = execa(command[0], command.slice(1), {
    cwd: ROOT,
    forceKillAfterDelay: false,
    env: cleanEnv(env),
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: true,
    all: true,
  });
  const server = { child, port: p, dataDir: dir, url: `http://127.0.0.1:${p}` };
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await child;
      clearTimeout(timer);
    }
    assertNoNodeWarnings((await child).all ?? '');
  });
  const deadline = Date.now() + readyTimeout;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${server.url}/readyz`);
      // /readyz answers once one worker accepts; wait for all of them (the supervisor's
      // supervisor.ready line), or tests that count workers' sockets race the last one's start
      if (res.status === 200 && (await allWorkersReady(dir, deadline))) return server;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  const result = await child;
  throw new Error(`serve did not become ready (exit ${result.exitCode}):\n${result.all}`);
}
