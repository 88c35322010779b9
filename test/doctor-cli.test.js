// doctor end to end on this machine: the real binary, its own data dir and a free port.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort, makeDataDir, runCli } from './helpers/cli.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const SUMMARY = /^(\d+) passed, (\d+) warnings, (\d+) failed$/;
const lastLine = (stdout) => stdout.trimEnd().split('\n').at(-1);

test('doctor on this machine: exit 0, one line per check, the summary last', async (t) => {
  const dir = makeDataDir(t);
  const started = Date.now();
  const r = await runCli(['doctor', '--data-dir', dir, '--port', String(await freePort()), '--host', '127.0.0.1']);
  const wall = Date.now() - started;
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  assert.match(lastLine(r.stdout), SUMMARY);
  const [, passed, warnings, failed] = SUMMARY.exec(lastLine(r.stdout)).map(Number);
  assert.equal(passed + warnings + failed, 11);
  assert.equal(failed, 0);
  assert.equal(r.stdout.split('\n').filter((l) => /^[✓!✗] /.test(l)).length, 11);
  assert.ok(!r.stdout.includes('\u001b['), 'no colour without a TTY / with NO_COLOR');
  if (NODE_MAJOR === 20) assert.match(r.stdout, /^! Node\.js version: Node 20\.\d+\.\d+ works, but Node 20 is end of life since 2026-04-30/m);
  assert.match(r.stdout, /^✓ SQLite driver: better-sqlite3 12\.\d+\.\d+ with SQLite 3\.\d+\.\d+.*; in use \(better-sqlite3 12\.\d+\.\d+ loaded\)\.$/m);
  assert.match(r.stdout, /^✓ SQLite features/m);
  assert.deepEqual(readdirSync(dir), [], 'the probe database is removed');
  // the 3 s budget is held by the runner's per-check cap; here only a hang would fail (the time is reported)
  assert.ok(wall < 15_000, `doctor took ${wall} ms including Node start-up`);
  t.diagnostic(`doctor took ${wall} ms including Node start-up`);
});

test('--json: {checks, summary}; the run time is reported', async (t) => {
  const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', String(await freePort()), '--host', '127.0.0.1']);
  assert.equal(r.exitCode, 0);
  const report = JSON.parse(r.stdout);
  assert.equal(report.checks.length, 11);
  for (const c of report.checks) {
    assert.deepEqual(Object.keys(c).filter((k) => ['id', 'title', 'status', 'detail'].includes(k)).sort(), ['detail', 'id', 'status', 'title']);
    assert.ok(['pass', 'warn', 'fail'].includes(c.status));
    if (c.status !== 'pass') assert.equal(typeof c.fix, 'string');
  }
  assert.deepEqual(Object.keys(report.summary).sort(), ['failed', 'passed', 'warnings']);
  assert.equal(report.summary.failed, 0);
  assert.ok(report.durationMs < 15_000, `doctor ran ${report.durationMs} ms`);
  t.diagnostic(`doctor ran its checks in ${report.durationMs} ms`);
  assert.equal(report.checks.find((c) => c.id === 'node').status, NODE_MAJOR === 20 ? 'warn' : 'pass');
});

test('--strict: warnings exit 1 (the Node 20 warning on Node 20)', async (t) => {
  const r = await runCli(['doctor', '--strict', '--data-dir', makeDataDir(t), '--port', String(await freePort()), '--host', '127.0.0.1']);
  const [, , warnings] = SUMMARY.exec(lastLine(r.stdout)).map(Number);
  assert.equal(r.exitCode, warnings > 0 ? 1 : 0);
  if (NODE_MAJOR === 20) {
    assert.equal(r.exitCode, 1);
    assert.match(r.stdout, /Node 20 is end of life/);
  }
});

test('a taken port fails: exit 1 and the holder hint', async (t) => {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address();
  const r = await runCli(['doctor', '--data-dir', makeDataDir(t), '--host', '127.0.0.1', '--port', String(port)]);
  assert.equal(r.exitCode, 1);
  assert.match(r.stdout, new RegExp(`^✗ Port free: 127\\.0\\.0\\.1:${port} is already in use by another process\\.$`, 'm'));
  assert.match(r.stdout, /^ {4}fix: Find the holder with/m);
  assert.match(lastLine(r.stdout), /^\d+ passed, \d+ warnings, [1-9]\d* failed$/);
});

test('PRESENTER_PORT and PRESENTER_DATA_DIR are honoured like serve does', async (t) => {
  const dir = makeDataDir(t);
  const port = await freePort();
  const r = await runCli(['doctor', '--json'], { env: { PRESENTER_DATA_DIR: dir, PRESENTER_PORT: String(port), PRESENTER_HOST: '127.0.0.1' } });
  const report = JSON.parse(r.stdout);
  assert.equal(report.dataDir, dir);
  assert.equal(report.checks.find((c) => c.id === 'port').detail, `127.0.0.1:${port} is free.`);
});

test('an unreachable openai endpoint fails (exit 1) and the key never appears', async (t) => {
  const key = 'sk-doctor-e2e-secret-key-000000000';
  const closed = await freePort();
  const r = await runCli(['doctor', '--data-dir', makeDataDir(t), '--port', String(await freePort()), '--host', '127.0.0.1'], {
    env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: `http://127.0.0.1:${closed}/v1`, PRESENTER_AI_API_KEY: key, PRESENTER_AI_MODEL: 'm' },
  });
  assert.equal(r.exitCode, 1);
  assert.match(r.stdout, /^✗ Feedback provider: openai at .* the endpoint is unreachable \(ECONNREFUSED\)\.$/m);
  assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key));
});

test('a bad profile is a usage error: exit 2 with the ConfigError and its fix', async (t) => {
  const r = await runCli(['doctor', '--profile', 'nope', '--data-dir', makeDataDir(t)]);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /^error: Profile nope: .*nope does not exist\.\n {2}fix: Use one of safe, advanced, windows, auto/);
  assert.equal(r.stdout, '');
});

test('a bad --port is a usage error (exit 2)', async () => {
  const r = await runCli(['doctor', '--port', '70000']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /Expected --port to be a whole number from 0 to 65535, got `70000`/);
});

test('FORCE_COLOR colours the marks', async (t) => {
  const r = await runCli(['doctor', '--data-dir', makeDataDir(t), '--port', '0'], { env: { FORCE_COLOR: '1', NO_COLOR: undefined } });
  assert.ok(r.stdout.includes('\u001b[32m✓'), r.stdout);
  assert.match(lastLine(r.stdout), SUMMARY, 'the summary line carries no colour codes');
});
