// doctor as Windows runs it (Node for Windows under Wine): the checks that differ on win32 (file
// system, open-file limit, the port and who holds it) and the profile auto picks there.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { freePort } from '../helpers/cli.js';
import { makeDir, runWin, toWin, wineSkip } from './helpers/wine.js';

const skip = await wineSkip();

function byId(report) {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

test('doctor on win32: auto picks windows, the file system is not inspected, no open-file limit, the port is free', { skip, timeout: 120_000 }, async (t) => {
  const dir = makeDir(t);
  const port = await freePort();
  const r = await runWin(t, ['doctor', '--json', '--data-dir', toWin(dir), '--host', '127.0.0.1', '--port', String(port)]);
  const report = JSON.parse(r.stdout);
  const checks = byId(report);
  t.diagnostic(report.checks.map((c) => `${c.status} ${c.id}: ${c.detail}`).join('\n'));
  assert.match(checks.platform.detail, /^win32 \(x64\); profile windows \(auto: platform is win32/);
  assert.equal(checks.platform.status, 'pass');
  assert.equal(checks['open-files'].status, 'pass');
  assert.equal(checks['open-files'].detail, 'Windows has no per-process open-file limit to raise.');
  assert.equal(checks['fs-type'].status, 'pass');
  assert.equal(checks['fs-type'].detail, `Not inspected on win32; keep ${toWin(dir)} on a local disk (not a network share or a mapped network drive).`);
  assert.equal(checks.port.status, 'pass');
  assert.equal(checks.port.detail, `127.0.0.1:${port} is free.`);
  assert.equal(checks['data-dir'].status, 'pass', checks['data-dir'].detail);
  assert.match(checks['data-dir'].detail, /^Z:\\tmp\\/, 'a Windows path');
  // better-sqlite3's Linux build cannot load in node.exe: the store's fallback is node:sqlite
  assert.equal(checks['better-sqlite3'].status, 'warn');
  assert.match(checks['better-sqlite3'].detail, /^node:sqlite \(better-sqlite3 [\d.]+ failed to load: Bad EXE format for .*\), Node 22\.[\d.]+'s built-in SQLite/);
  assert.equal(checks['sqlite-features'].status, 'pass', checks['sqlite-features'].detail);
  // Windows' error messages end their lines with CRLF: no stray CR may reach a line of doctor's
  for (const c of report.checks) assert.doesNotMatch(`${c.detail}${c.fix ?? ''}`, /\r/, c.id);
  assert.equal(r.exitCode, report.checks.some((c) => c.status === 'fail') ? 1 : 0, r.stderr);
});

test('doctor on win32: a data dir on a network share (a UNC path) warns', { skip, timeout: 120_000 }, async (t) => {
  const r = await runWin(t, ['doctor', '--json', '--data-dir', '\\\\files01\\presenter\\data', '--host', '127.0.0.1', '--port', String(await freePort())]);
  const fs = byId(JSON.parse(r.stdout))['fs-type'];
  assert.equal(fs.status, 'warn');
  assert.match(fs.detail, /^\\\\files01\\presenter\\data is on the network share \\\\files01\\presenter: SQLite WAL needs/);
});

test('doctor on win32: a port held by another process fails with the Windows way to find the holder', { skip, timeout: 120_000 }, async (t) => {
  const dir = makeDir(t);
  const holder = createServer();
  await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const { port } = holder.address();
  const r = await runWin(t, ['doctor', '--json', '--data-dir', toWin(dir), '--host', '127.0.0.1', '--port', String(port)]);
  const port_ = byId(JSON.parse(r.stdout)).port;
  assert.equal(port_.status, 'fail');
  assert.equal(port_.detail, `127.0.0.1:${port} is already in use by another process.`);
  assert.equal(port_.fix, `Find the holder with \`netstat -ano | findstr :${port}\` and stop it, or choose another port with --port or PRESENTER_PORT.`);
  assert.equal(r.exitCode, 1);
});

test('doctor on win32: advanced forks workers where the tested set-up is the windows profile, and says so', { skip, timeout: 120_000 }, async (t) => {
  const dir = makeDir(t);
  const r = await runWin(t, ['doctor', '--json', '--profile', 'advanced', '--data-dir', toWin(dir), '--host', '127.0.0.1', '--port', String(await freePort())]);
  const platform = byId(JSON.parse(r.stdout)).platform;
  assert.equal(platform.status, 'warn');
  assert.match(platform.detail, /Profile advanced forks 2 workers on Windows/);
  assert.equal(platform.fix, 'Use --profile windows (or auto).');
});
