// logs and logs --duplicates as Windows runs them (Node for Windows under Wine): on the Windows
// run's own log, given as a Windows data dir and as a Windows file path; on a copy with CRLF line
// ends (what a Windows editor or the old stack's waitress logs leave) they find the same lines.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli } from '../helpers/cli.js';
import { api, waitForStatus } from '../helpers/http.js';
import { makeDir, runWin, startServeWin, toWin, wineSkip } from './helpers/wine.js';

const skip = await wineSkip();
const FIX = join(ROOT, 'test/fixtures/logs');
const crlf = (text) => text.replace(/\r?\n/g, '\r\n');

test("logs on win32: the Windows run's own log, by data dir and by file, LF and CRLF, filtered by presentation; --duplicates finds none", { skip, timeout: 300_000 }, async (t) => {
  const server = await startServeWin(t, {});
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const created = await api(server, '/api/presentations', { method: 'POST', json: { title: `Talk ${i}`, content: `# Talk ${i}\n\nSome words about thing ${i}.` } });
    assert.equal(created.status, 201);
    ids.push(created.data.id);
  }
  for (const id of ids) assert.equal((await waitForStatus(server, id, ['done', 'failed'], 60_000)).status, 'done');
  const stop = await runWin(t, ['stop', '--data-dir', server.winDataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  await server.result;

  const logFile = join(server.dataDir, 'logs', 'presenter.log');
  const original = readFileSync(logFile, 'utf8');
  t.diagnostic(`the Windows run's log: ${original.split('\n').length - 1} lines, ${original.includes('\r\n') ? 'CRLF' : 'LF'} line ends`);
  const copy = makeDir(t, 'presenter-win-crlf-');
  mkdirSync(join(copy, 'logs'));
  writeFileSync(join(copy, 'logs', 'presenter.log'), crlf(original));

  const reports = [];
  for (const target of [server.winDataDir, toWin(logFile), toWin(copy), toWin(join(copy, 'logs', 'presenter.log'))]) {
    const r = await runWin(t, ['logs', '--duplicates', '--json', target]);
    assert.equal(r.exitCode, 0, `${target}: ${r.stderr}`);
    const report = JSON.parse(r.stdout);
    assert.equal(report.clean, true, target);
    assert.deepEqual(report.duplicates, [], target);
    assert.match(report.summary, /^No duplicates among 3 marked jobs .* 0 unreadable lines skipped/, `${target}: ${report.summary}`);
    reports.push(report.summary.replace(/ in 1 file .*$/, ''));
  }
  assert.equal(new Set(reports).size, 1, `the same report for LF and CRLF: ${reports.join(' | ')}`);

  for (const target of [server.winDataDir, toWin(copy)]) {
    const r = await runWin(t, ['logs', '--json', '--presentation', ids[1], target]);
    assert.equal(r.exitCode, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2, `${target}: ${lines.length} lines`);
    assert.ok(lines.every((l) => l.presentationId === ids[1]), target);
    assert.ok(lines.some((l) => l.event === 'feedback.marked'), target);
    assert.ok(!r.stdout.includes('\\r'), `${target}: no stray CR in the lines`);
    const pretty = await runWin(t, ['logs', '--event', 'feedback.marked', target]);
    assert.equal(pretty.exitCode, 0, pretty.stderr);
    assert.equal(pretty.stdout.split('\n').filter(Boolean).length, 3, `${target}: three marked lines\n${pretty.stdout}`);
    assert.ok(!pretty.stdout.includes('\\r'), `${target}: no escaped CR printed\n${pretty.stdout}`);
  }
});

test('logs --duplicates on win32: CRLF copies of the fixtures (JSON lines and the old stack plain text) give what Linux gives on the LF files', { skip, timeout: 180_000 }, async (t) => {
  const dir = makeDir(t, 'presenter-win-fixtures-');
  for (const name of ['duplicates-2workers.log', 'python-2workers.log']) {
    writeFileSync(join(dir, name), crlf(readFileSync(join(FIX, name), 'utf8')));
    const linux = await runCli(['logs', '--duplicates', '--json', join(FIX, name)]);
    const win = await runWin(t, ['logs', '--duplicates', '--json', toWin(join(dir, name))]);
    assert.equal(win.exitCode, linux.exitCode, `${name}: ${win.stderr}`);
    assert.equal(win.exitCode, 1, `${name} has duplicates`);
    const a = JSON.parse(linux.stdout);
    const b = JSON.parse(win.stdout);
    assert.deepEqual(b.duplicates, a.duplicates, name);
    assert.equal(b.summary.replace(/ \(\d+(\.\d+)? MB\)$/, ''), a.summary.replace(/ \(\d+(\.\d+)? MB\)$/, ''), name);
  }
});
