import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDataDir, runCli, startServer } from './helpers/cli.js';
import { api, logLines } from './helpers/http.js';

test('the windows profile serves from the primary: no fork, status and stop work', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'windows'] });
  assert.equal((await api(server, '/healthz')).status, 200);
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'One process', content: '# One\n\nHello.' } });
  assert.equal(created.status, 201);
  const status = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
  assert.equal(status.mode, 'single');
  assert.deepEqual(status.workers.map((w) => [w.id, w.pid]), [[0, server.child.pid]]);
  const reload = await runCli(['reload', '--data-dir', server.dataDir]);
  assert.equal(reload.exitCode, 1);
  assert.match(reload.stderr, /the windows profile serves from one process/);
  const stop = await runCli(['stop', '--data-dir', server.dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  assert.equal((await server.child).exitCode, 0);
  const lines = logLines(server);
  assert.ok(lines.every((l) => l.worker === 0 && l.pid === server.child.pid));
  assert.ok(lines.some((l) => l.event === 'feedback.marked'));
});

test('no log line is lost at exit: every request in the access log, the last lifecycle lines in the main log', async (t) => {
  const dataDir = makeDataDir(t);
  const accessFile = join(dataDir, 'access.log');
  const server = await startServer(t, { dataDir, args: ['--profile', 'advanced', '--access-log', accessFile] });
  const n = 300;
  for (let i = 0; i < n; i++) assert.equal((await api(server, `/healthz?i=${i}`)).status, 200);
  server.child.kill('SIGTERM');
  assert.equal((await server.child).exitCode, 0);
  const access = readFileSync(accessFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(access.filter((l) => l.event === 'http.request' && l.path === '/healthz').length, n);
  const lines = logLines(server);
  assert.equal(lines.filter((l) => l.event === 'http.request').length, 0, 'request lines in the main log');
  assert.equal(lines.filter((l) => l.event === 'worker.stopped').length, 2);
  assert.equal(lines.at(-1).event, 'supervisor.stopped');
  for (const l of lines) {
    for (const field of ['time', 'level', 'pid', 'hostname', 'worker', 'event', 'msg']) assert.ok(field in l, `${field} missing in ${JSON.stringify(l)}`);
  }
});

test('the log file and the access log rotate by size, keeping the configured number of files; one writer, whole lines', async (t) => {
  const dataDir = makeDataDir(t);
  const accessDir = join(dataDir, 'access');
  mkdirSync(accessDir);
  // debug: the request lines go to the main log too, enough to rotate it
  const server = await startServer(t, { dataDir, args: ['--profile', 'advanced', '--access-log', join(accessDir, 'access.log')], env: { PRESENTER_LOG_MAX_BYTES: '16384', PRESENTER_LOG_FILES: '3', PRESENTER_LOG_LEVEL: 'debug' } });
  for (let i = 0; i < 600; i++) await api(server, `/healthz?i=${i}`);
  server.child.kill('SIGTERM');
  await server.child;
  const dir = join(server.dataDir, 'logs');
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['presenter.log', 'presenter.log.1', 'presenter.log.2', 'presenter.log.3']);
  assert.deepEqual(readdirSync(accessDir).sort(), ['access.log', 'access.log.1', 'access.log.2', 'access.log.3']);
  for (const f of [...files.map((f) => join(dir, f)), ...readdirSync(accessDir).map((f) => join(accessDir, f))]) {
    assert.equal(statSync(f).mode & 0o777, 0o600, `${f} is not 0600`);
  }
  for (const f of files) {
    assert.ok(statSync(join(dir, f)).size < 16384 + 8192, `${f} is ${statSync(join(dir, f)).size} bytes`);
    // whole JSON lines only: two workers' lines never interleave
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) JSON.parse(line);
  }
});
