// serve, status and doctor with the SQLite driver chosen for real (issue #15, item 1): an install
// without better-sqlite3 serves on node:sqlite and says so; PRESENTER_SQLITE_DRIVER forces the
// driver; with neither driver (Node 20, no better-sqlite3) serve and doctor say what to install.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDataDir, runCli, startServer } from './helpers/cli.js';
import { api, logLines, waitForStatus } from './helpers/http.js';
import { installWithoutBetterSqlite3, nodeFor, nodeWithoutNodeSqlite } from './helpers/node-bins.js';

const builtin = nodeFor('node:sqlite');
const old = nodeWithoutNodeSqlite();

/** Serves one talk to its feedback; returns what the start-up line and `status` said of the store. */
async function serveOneTalk(t, { bin, env = {} } = {}) {
  const server = await startServer(t, { node: builtin.node, ...(bin ? { bin } : {}), env });
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Driver', content: '# Driver\n\nOne slide about SQLite drivers.' } });
  assert.equal(created.status, 201);
  const view = await waitForStatus(server, created.data.id);
  assert.equal(view.status, 'done', JSON.stringify(view));
  assert.equal(view.feedback.provider, 'local');
  const started = logLines(server).find((l) => l.event === 'supervisor.started');
  const status = await runCli(['status', '--data-dir', server.dataDir], { node: builtin.node, ...(bin ? { bin } : {}) });
  assert.equal(status.exitCode, 0, status.stderr);
  const json = await runCli(['status', '--json', '--data-dir', server.dataDir], { node: builtin.node, ...(bin ? { bin } : {}) });
  return { started, status: status.stdout, json: JSON.parse(json.stdout) };
}

test('an install without better-sqlite3 serves on node:sqlite: a talk gets its feedback; the start-up line and status name the driver and why', { skip: builtin.skip, timeout: 90_000 }, async (t) => {
  const bin = installWithoutBetterSqlite3(t);
  const { started, status, json } = await serveOneTalk(t, { bin });
  assert.equal(started.sqliteDriver, 'node:sqlite');
  assert.equal(started.sqliteDriverReason, 'better-sqlite3 not installed');
  assert.match(started.msg, /store SQLite in the data dir, sqlite driver: node:sqlite \(better-sqlite3 not installed\)$/);
  assert.match(status, /store SQLite in the data dir \(sqlite driver: node:sqlite \(better-sqlite3 not installed\)\)/);
  assert.deepEqual(json.sqliteDriver, { name: 'node:sqlite', reason: 'better-sqlite3 not installed' });
});

test('PRESENTER_SQLITE_DRIVER=node:sqlite forces the built-in driver, and the start-up line says who chose it', { skip: builtin.skip, timeout: 90_000 }, async (t) => {
  const { started, json } = await serveOneTalk(t, { env: { PRESENTER_SQLITE_DRIVER: 'node:sqlite' } });
  assert.equal(started.sqliteDriver, 'node:sqlite');
  assert.match(started.msg, /sqlite driver: node:sqlite \(PRESENTER_SQLITE_DRIVER=node:sqlite\)$/);
  assert.deepEqual(json.sqliteDriver, { name: 'node:sqlite', reason: 'PRESENTER_SQLITE_DRIVER=node:sqlite' });
});

test('Node 20 without better-sqlite3: serve exits 2 with one error line and what to install; doctor fails the driver check with the same advice', { skip: old.skip, timeout: 60_000 }, async (t) => {
  const bin = installWithoutBetterSqlite3(t);
  const dir = makeDataDir(t);
  const serve = await runCli(['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dir], { node: old.node, bin });
  assert.equal(serve.exitCode, 2);
  const lines = serve.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, serve.stderr);
  assert.equal(lines[0], `error: No SQLite driver: better-sqlite3 not installed, and Node ${old.version.slice(1)} has no built-in node:sqlite (Node 22.13 or newer has it).`);
  assert.match(lines[1], /^ {2}fix: Either install better-sqlite3 where presenter-serve is installed \(cd .* && npm install --no-save better-sqlite3@12; .*\), or run presenter-serve with Node 22\.13 or newer \(24 recommended\), whose built-in node:sqlite needs nothing installed\.$/);
  assert.doesNotMatch(serve.stderr, /\n\s+at /, 'no stack');
  assert.equal(serve.stdout, '');

  const doctor = await runCli(['doctor', '--data-dir', dir, '--port', '0'], { node: old.node, bin });
  assert.equal(doctor.exitCode, 1);
  assert.match(doctor.stdout, /^✗ SQLite driver: No SQLite driver: better-sqlite3 not installed, and Node .* has no built-in node:sqlite/m);
  assert.match(doctor.stdout, /fix: Either install better-sqlite3 where presenter-serve is installed .* or run presenter-serve with Node 22\.13 or newer/);
  assert.match(doctor.stdout, /^✗ SQLite features .*: Not checked: no SQLite driver can be used/m);
});

test('PRESENTER_SQLITE_DRIVER=better-sqlite3 where it does not load, or an unknown value: exit 2 with the fix', { skip: builtin.skip, timeout: 60_000 }, async (t) => {
  const bin = installWithoutBetterSqlite3(t);
  const dir = makeDataDir(t);
  const forced = await runCli(['serve', '--data-dir', dir], { node: builtin.node, bin, env: { PRESENTER_SQLITE_DRIVER: 'better-sqlite3' } });
  assert.equal(forced.exitCode, 2);
  assert.match(forced.stderr, /^error: PRESENTER_SQLITE_DRIVER=better-sqlite3, but better-sqlite3 not installed\.\n {2}fix: Either install better-sqlite3 where presenter-serve is installed .*, or unset PRESENTER_SQLITE_DRIVER to use node:sqlite\.$/);
  const bad = await runCli(['serve', '--data-dir', dir], { node: builtin.node, bin, env: { PRESENTER_SQLITE_DRIVER: 'sqlite3' } });
  assert.equal(bad.exitCode, 2);
  assert.equal(bad.stderr, 'error: PRESENTER_SQLITE_DRIVER must be auto, better-sqlite3 or node:sqlite, got `sqlite3`.\n  fix: Unset PRESENTER_SQLITE_DRIVER (auto: better-sqlite3 when it loads, else node:sqlite), or set it to one of those three.');
});
