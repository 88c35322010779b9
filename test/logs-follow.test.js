import assert from 'node:assert/strict';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { assertNoNodeWarnings, BIN, cleanEnv, makeDataDir, ROOT, sleep } from './helpers/cli.js';

const entry = (n) => `${JSON.stringify({ level: 30, time: 1764350155000 + n, pid: 4101, hostname: 'h', worker: 1, event: 'http.request', msg: `line ${n}` })}\n`;

test('--follow --json keeps reading across truncation and rotation, and ends with exit 0 on SIGINT', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'presenter.log');
  writeFileSync(file, entry(1) + entry(2));
  const child = execa(process.execPath, [BIN, 'logs', '--follow', '--json', file], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false, stdin: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s) => (out += s));
  const seen = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l).msg);
  const waitFor = async (n) => {
    const deadline = Date.now() + 10_000;
    while (seen().length < n && Date.now() < deadline) await sleep(25);
    assert.equal(seen().length, n, `expected ${n} lines, got ${JSON.stringify(seen())}`);
  };

  await waitFor(2);
  appendFileSync(file, entry(3));
  await waitFor(3);
  writeFileSync(file, entry(4)); // truncated: the size shrinks
  await waitFor(4);
  renameSync(file, `${file}.1`); // rotated: renamed, then a new file
  appendFileSync(`${file}.1`, entry(5)); // a last line written to the old file after the rename
  await sleep(50);
  writeFileSync(file, entry(6));
  appendFileSync(file, entry(7));
  await waitFor(7);
  appendFileSync(file, entry(8).slice(0, 20)); // half a line: not printed until it is complete
  await sleep(400);
  appendFileSync(file, entry(8).slice(20));
  await waitFor(8);

  assert.deepEqual(seen(), ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6', 'line 7', 'line 8']);
  child.kill('SIGINT');
  const result = await child;
  assert.equal(result.exitCode, 0);
  assert.equal(result.signal, undefined);
  assertNoNodeWarnings(result.stderr);
});

test('--follow refuses several files and gzip files (exit 2)', async (t) => {
  const { runCli } = await import('./helpers/cli.js');
  const dir = makeDataDir(t);
  const { gzipSync } = await import('node:zlib');
  writeFileSync(join(dir, 'a.log.gz'), gzipSync(entry(1)));
  let r = await runCli(['logs', '--follow', join(dir, 'a.log.gz')]);
  assert.equal(r.exitCode, 2);
  assert.equal(r.stderr, `error: Cannot follow ${join(dir, 'a.log.gz')}: it is gzip'd, so nothing is appended to it.\n  fix: Follow the live file (DATA_DIR/logs/presenter.log), or drop --follow.`);
  r = await runCli(['logs', '--follow', 'a.log', 'b.log']);
  assert.equal(r.exitCode, 2);
  assert.equal(r.stderr, 'error: --follow follows one file, got 2.\n  fix: Give one FILE (or none, for DATA_DIR/logs/presenter.log).');
});
