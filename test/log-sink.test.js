// The supervisor's log sink under pressure: a stdout nobody reads, and a full disk.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, cleanEnv, freePort, makeDataDir, ROOT, runCli, sleep } from './helpers/cli.js';

const rssMb = (pid) => Math.round(Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024);

async function waitReady(url, child) {
  for (let i = 0; i < 400 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error('serve did not become ready');
}

/** n requests on a 3 KB path, 20 at a time: each is a ~3 KB http.request line in the log (at debug level). */
async function noisyRequests(url, n, tag) {
  const path = `/${tag}-${'p'.repeat(3000)}`;
  for (let done = 0; done < n; done += 20) {
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}${path}`).then((r) => r.arrayBuffer(), () => {})));
  }
}

function logLines(dataDir) {
  const dir = join(dataDir, 'logs');
  return readdirSync(dir)
    .filter((f) => f.startsWith('presenter.log'))
    .sort((a, b) => Number(b.split('.')[2] ?? 0) - Number(a.split('.')[2] ?? 0)) // oldest first
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

test('stdout a pipe nobody reads: the supervisor memory stays bounded, the file gets every line and a log.dropped count', { skip: process.platform !== 'linux' && 'reads RSS from /proc', timeout: 240_000 }, async (t) => {
  const dataDir = makeDataDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // stdout is a pipe this test never reads
  const child = spawn(process.execPath, [BIN, 'serve', '--profile', 'safe', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv({ PRESENTER_LOG_LEVEL: 'debug' }), stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => child.on('exit', r));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await waitReady(url, child);
  await noisyRequests(url, 2000, 'warm'); // ~6 MB of log: well past the pipe's 64 KB
  const warm = rssMb(child.pid);
  await noisyRequests(url, 32_000, 'load'); // ~100 MB more
  const after = rssMb(child.pid);
  t.diagnostic(`supervisor RSS ${warm} MB after ~6 MB of log, ${after} MB after ~100 MB more`);
  // Unbounded, it grew ~97 MB for ~50 MB of log on Node 20, about twice the log: ~190 MB for
  // this load. Bounded (4 + 16 MiB of queues), Node 24's lazier heap was seen 49 and 66 MB
  // higher after ~50 MB of log: the bound leaves room for the garbage collector's timing.
  assert.ok(after - warm < 100, `the supervisor grew by ${after - warm} MB (${warm} → ${after}) with stdout unread`);
  const stop = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  await exited;
  const lines = logLines(dataDir).map((l) => JSON.parse(l));
  const dropped = lines.filter((l) => l.event === 'log.dropped');
  assert.ok(dropped.some((l) => l.destination === 'console' && l.dropped > 0), 'no log.dropped line for the console');
  const total = dropped.filter((l) => l.destination === 'console').reduce((sum, l) => sum + l.dropped, 0);
  const requests = lines.filter((l) => l.event === 'http.request' && l.path?.startsWith('/load-')).length;
  t.diagnostic(`${requests} request lines in the file, ${total} lines dropped on the console, ${dropped.filter((l) => l.destination === 'file').length} file drops`);
  assert.ok(requests > 28_000, `only ${requests} of 32000 request lines reached the file`);
  // the last lines: the stop, then at most the count of console lines dropped during it
  assert.equal(lines.filter((l) => l.event !== 'log.dropped').at(-1).event, 'supervisor.stopped', JSON.stringify(lines.slice(-3)));
});

function canMount() {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

test('a full disk under the logs: only whole lines, and new lines arrive once space returns', { skip: !canMount() && 'needs root on Linux to mount a tmpfs', timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'presenter-test-'));
  const logs = join(dataDir, 'logs');
  mkdirSync(logs, { mode: 0o700 });
  const mount = await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', logs], { reject: false });
  let child;
  // one hook, in order: the server, the mount, the dir
  t.after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await child;
    }
    if (mount.exitCode === 0) await execa('umount', [logs], { reject: false });
    rmSync(dataDir, { recursive: true, force: true });
  });
  if (mount.exitCode !== 0) return t.skip(`mount is not allowed here: ${mount.stderr.trim()}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  child = execa(process.execPath, [BIN, 'serve', '--profile', 'safe', '--quiet', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv({ PRESENTER_LOG_LEVEL: 'debug' }), extendEnv: false, reject: false, stdin: 'ignore', all: true });
  await waitReady(url, child);
  // leave ~40 KB free, then log ~300 KB
  const filler = join(logs, 'filler');
  const { bavail, bsize } = statfsSync(logs);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 40 * 1024)));
  await noisyRequests(url, 100, 'full');
  await sleep(1500);
  const frozen = readFileSync(join(logs, 'presenter.log'));
  assert.ok(statfsSync(logs).bavail * statfsSync(logs).bsize < 8192, 'the disk is not full');
  // space returns
  rmSync(filler);
  let after = [];
  for (let i = 0; i < 100 && after.length === 0; i++) {
    await noisyRequests(url, 20, 'after');
    await sleep(200);
    after = readFileSync(join(logs, 'presenter.log'), 'utf8').split('\n').filter((l) => l.includes('/after-'));
  }
  assert.ok(after.length > 0, `no line arrived after space returned (the file stays at ${frozen.length} bytes)`);
  const stop = await runCli(['stop', '--data-dir', dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  await child;
  const text = readFileSync(join(logs, 'presenter.log'), 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends in half a line');
  const lines = text.split('\n').filter(Boolean).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      assert.fail(`line ${i + 1} is not a whole JSON line: ${l.slice(0, 80)}…`);
    }
  });
  const dropped = lines.filter((l) => l.event === 'log.dropped' && l.destination === 'file');
  assert.ok(dropped.length > 0 && dropped[0].dropped > 0, 'no log.dropped line for the file');
  assert.match(dropped[0].msg, /ENOSPC/);
  assert.equal(lines.at(-1).event, 'supervisor.stopped');
  t.diagnostic(`${dropped.reduce((s, l) => s + l.dropped, 0)} lines dropped while the disk was full; ${after.length} new lines after`);
});
