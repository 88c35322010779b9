// serve as Windows runs it (Node for Windows under Wine): auto picks the windows profile, the
// primary serves the API with the local analyser, and status, reload (refused), scale (refused)
// and stop go over the named pipe; the pid file and the data dir's lock behave.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/cli.js';
import { api, waitForStatus, waitUntil } from '../helpers/http.js';
import { logLinesWin, makeDir, nodeWin, runWin, startServeWin, toWin, wineSkip } from './helpers/wine.js';

const skip = await wineSkip();

const TALK = ['# Release notes', '', 'Slides about what changed.', '', 'Note: um, so, basically we shipped it. Um, thanks.', '', '---', '', '# Next', '', 'What comes next.'].join('\n');

async function statusJson(t, dataDir) {
  const r = await runWin(t, ['status', '--json', '--data-dir', toWin(dataDir)]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('serve --profile auto on win32: the windows profile serves the API from the primary, a talk gets its feedback; status, reload, scale and stop over the named pipe', { skip, timeout: 300_000 }, async (t) => {
  const server = await startServeWin(t, { args: ['--profile', 'auto'] });
  const started = logLinesWin(server).find((l) => l.event === 'supervisor.started');
  assert.equal(started.profile, 'windows');
  assert.match(started.reason, /^auto: platform is win32/);
  assert.equal(started.workers, 0, 'no fork');
  assert.equal(started.dataDir, server.winDataDir);
  assert.equal(started.sqliteDriver, 'node:sqlite', 'the Linux build of better-sqlite3 cannot load in node.exe');
  assert.match(started.sqliteDriverReason, /^better-sqlite3 [\d.]+ failed to load: Bad EXE format for \S+better_sqlite3\.node\.$/, 'one line, no CR');
  const pid = Number(readFileSync(join(server.dataDir, 'presenter.pid'), 'utf8').trim());
  assert.equal(started.pid, pid, 'the pid file names the serving process (its Windows pid)');

  const created = await api(server, '/api/presentations', { method: 'POST', body: TALK, headers: { 'content-type': 'text/markdown' } });
  assert.equal(created.status, 201, JSON.stringify(created.data));
  const done = await waitForStatus(server, created.data.id, ['done', 'failed'], 60_000);
  assert.equal(done.status, 'done', JSON.stringify(done));
  assert.equal(done.title, 'Release notes');
  assert.ok(done.feedback.summary || done.feedback.items || Object.keys(done.feedback).length > 0, 'feedback present');
  const marked = await waitUntil('feedback.marked', () => logLinesWin(server).find((l) => l.event === 'feedback.marked' && l.presentationId === created.data.id));
  assert.equal(marked.pid, pid, 'the primary ran the job');
  assert.equal((await api(server, '/')).status, 200, 'the page');

  const status = await statusJson(t, server.dataDir);
  assert.equal(status.pid, pid);
  assert.equal(status.profile, 'windows');
  assert.equal(status.mode, 'single');
  assert.equal(status.dataDir, server.winDataDir);
  assert.equal(status.sqliteDriver.name, 'node:sqlite');
  assert.equal(status.workers.length, 1);
  assert.equal(status.workers[0].pid, pid);
  assert.equal(status.workers[0].state, 'ready');
  const text = await runWin(t, ['status', '--data-dir', server.winDataDir]);
  assert.equal(text.exitCode, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^presenter-serve running: pid ${pid}, profile windows, 127\\.0\\.0\\.1:${server.port}, up `));
  assert.match(text.stdout, /windows profile: the primary serves by itself; no worker to replace, recycle, scale or hand connections to\n$/);

  const reload = await runWin(t, ['reload', '--data-dir', server.winDataDir]);
  assert.equal(reload.exitCode, 1);
  assert.equal(
    reload.stderr.replace(/\r\n/g, '\n'),
    `error: presenter-serve (pid ${pid}) refused \`reload\`: the windows profile serves from one process: there is no second worker to hand over to; restart it instead (stop, then serve).\n`,
  );
  const scale = await runWin(t, ['scale', '2', '--data-dir', server.winDataDir]);
  assert.equal(scale.exitCode, 1);
  assert.match(scale.stderr, /refused `scale`: the windows profile serves from one process: it has no workers to add or remove/);
  assert.equal((await api(server, '/healthz')).status, 200, 'still serving after the refusals');

  const stop = await runWin(t, ['stop', '--data-dir', server.winDataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  assert.equal(stop.stdout, `stopped presenter-serve (pid ${pid})\n`);
  const exit = await server.result;
  assert.equal(exit.exitCode, 0, exit.stderr);
  assert.equal(existsSync(join(server.dataDir, 'presenter.pid')), false, 'the pid file is removed');
  const lines = logLinesWin(server);
  assert.ok(lines.some((l) => l.event === 'supervisor.stopped' && l.exitCode === 0));
  const after = await runWin(t, ['status', '--data-dir', server.winDataDir]);
  assert.equal(after.exitCode, 3, 'not running: exit 3');
  assert.match(after.stderr, /is not running on Z:\\.*\(no pid file\)/);
});

test('the data dir lock on win32: a second serve is refused naming the first; a killed server leaves a stale pid file that status and the next serve recognise', { skip, timeout: 300_000 }, async (t) => {
  const dataDir = makeDir(t, 'presenter-win-data-');
  const first = await startServeWin(t, { dataDir });
  const pid = Number(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim());

  const second = await runWin(t, ['serve', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', toWin(dataDir)], { timeout: 90_000 });
  assert.equal(second.exitCode, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`^error: presenter-serve is already running on Z:\\\\.* \\(pid ${pid}\\)\\.\\r?\\n {2}fix: `));
  assert.equal(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim(), String(pid), 'the first keeps its pid file');
  assert.equal((await api(first, '/healthz')).status, 200, 'the first serves on');

  // a hard kill (TerminateProcess, what Task Manager's End task does): Windows releases the lock
  const killed = await nodeWin(t, ['-e', `process.kill(${pid}, 'SIGKILL')`]);
  assert.equal(killed.exitCode, 0, killed.stderr);
  await first.result;
  assert.equal(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim(), String(pid), 'a killed server leaves its pid file');
  const stale = await runWin(t, ['status', '--data-dir', toWin(dataDir)]);
  assert.equal(stale.exitCode, 3, stale.stderr);
  assert.match(stale.stderr, new RegExp(`is stale: pid ${pid} is not running`));

  const next = await startServeWin(t, { dataDir });
  const nextPid = Number(readFileSync(join(dataDir, 'presenter.pid'), 'utf8').trim());
  assert.notEqual(nextPid, pid);
  assert.ok(logLinesWin(next).some((l) => new RegExp(`Replaced a stale pid file \\(pid ${pid} is not running\\)`).test(l.msg)), 'the next serve says it replaced the stale pid file');
  assert.equal((await statusJson(t, dataDir)).pid, nextPid);
});
