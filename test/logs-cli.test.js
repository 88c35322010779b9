import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDataDir, ROOT, runCli } from './helpers/cli.js';

const FIX = join(ROOT, 'test/fixtures/logs');
const fix = (name) => join(FIX, name);
const lines = (stdout) => stdout.split('\n').filter(Boolean);

test('--duplicates: exit 0 and a summary line when clean', async () => {
  const r = await runCli(['logs', '--duplicates', fix('clean-2workers.log')]);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, 'No duplicates among 40 marked jobs · 0 retries (not duplicates) · 0 unreadable lines skipped · 168 lines in 1 file (0.1 MB)');
  assert.equal(r.stderr, '');
});

test('--duplicates: exit 1, a table and the summary when duplicates are found', async () => {
  const r = await runCli(['logs', '--duplicates', fix('text-mixed.log')], { env: { TZ: 'UTC' } });
  assert.equal(r.exitCode, 1);
  const out = lines(r.stdout);
  assert.match(out[0], /^PRESENTATION +JOB +COUNT +PIDS +FIRST +LAST +KIND$/);
  assert.match(out[1], /^17 +- +2 +12345, 12346 +2026-11-28 17:15:55Z +2026-11-28 17:15:55Z +marked-twice$/);
  assert.equal(out.at(-1), '2 duplicates (2 extra feedbacks) among 3 marked jobs · 1 retry (not duplicates) · 0 unreadable lines skipped · 8 lines in 1 file (0.0 MB)');
  assert.ok(!r.stdout.includes('\u001b['), 'no colour without a TTY');
});

test('--duplicates --json is one JSON document for machines', async () => {
  const r = await runCli(['logs', '--duplicates', '--json', fix('python-2workers.log')]);
  assert.equal(r.exitCode, 1);
  const report = JSON.parse(r.stdout);
  assert.equal(report.clean, false);
  assert.ok(report.duplicates.length > 0);
  assert.equal(report.extraFeedbacks, report.duplicates.reduce((s, d) => s + d.count - 1, 0));
  assert.deepEqual(Object.keys(report.duplicates[0]), ['presentationId', 'jobIds', 'kinds', 'count', 'pids', 'hosts', 'processes', 'first', 'last']);
});

test('--duplicates with --data-dir reads presenter.log.N … .1, then presenter.log', async (t) => {
  const dir = makeDataDir(t);
  mkdirSync(join(dir, 'logs'));
  const first = '{"level":30,"time":1000,"pid":1,"event":"feedback.marked","presentationId":"p","jobId":"j","responseHash":"h","msg":"m"}';
  writeFileSync(join(dir, 'logs/presenter.log.2'), `${first}\n`);
  writeFileSync(join(dir, 'logs/presenter.log.1'), '');
  writeFileSync(join(dir, 'logs/presenter.log'), `${first.replace('"time":1000,"pid":1', '"time":9000,"pid":2')}\n`);
  const r = await runCli(['logs', '--duplicates', '--json', '--data-dir', dir]);
  assert.equal(r.exitCode, 1);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.files.map((f) => f.path.slice(dir.length)), ['/logs/presenter.log.2', '/logs/presenter.log.1', '/logs/presenter.log']);
  assert.deepEqual(report.duplicates.map((d) => [d.jobIds, d.pids, d.first, d.last]), [[['j'], [1, 2], '1970-01-01T00:00:01.000Z', '1970-01-01T00:00:09.000Z']]);
});

test('exit 2 naming the file and the fix: missing file, a directory, no data dir', async (t) => {
  const dir = makeDataDir(t);
  const missing = join(dir, 'nope.log');
  let r = await runCli(['logs', '--duplicates', missing]);
  assert.equal(r.exitCode, 2);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `error: Cannot read the log file ${missing}: it does not exist.\n  fix: Check the path, or pass --data-dir DIR (the service writes DIR/logs/presenter.log; the default DIR is ./data or PRESENTER_DATA_DIR).`,
  );

  r = await runCli(['logs', '--duplicates', dir]);
  assert.equal(r.exitCode, 2, 'a dir without presenter.log');
  assert.equal(r.stderr, `error: Cannot read the logs in ${dir}: it holds no presenter.log, nor does ${dir}/logs.\n  fix: Pass a data dir, its logs dir, or the log files themselves (any name, e.g. host1/app.log).`);

  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs/presenter.log'), '');
  r = await runCli(['logs', '--duplicates', dir]);
  assert.equal(r.exitCode, 0, 'a data dir is read as --data-dir reads it');
  assert.equal(r.stderr, '');

  r = await runCli(['logs'], { cwd: dir });
  assert.equal(r.exitCode, 2);
  assert.equal(
    r.stderr,
    `error: Cannot read the log file ${dir}/data/logs/presenter.log: it does not exist.\n  fix: No FILE or --data-dir was given, so the data dir is ${dir}/data (the default ./data). Pass --data-dir DIR (the one the service runs with), set PRESENTER_DATA_DIR, or give a log FILE.`,
  );

  r = await runCli(['logs', '--duplicates'], { cwd: ROOT, env: { PRESENTER_DATA_DIR: dir } });
  assert.equal(r.exitCode, 0, 'PRESENTER_DATA_DIR is the default data dir');
});

test('exit 2 when permission is denied', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'secret.log');
  writeFileSync(file, '');
  chmodSync(file, 0o000);
  const r = await runCli(['logs', '--duplicates', file]);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, new RegExp(`^error: Cannot read the log file ${file}: permission denied\\.\\n  fix: Run as a user who may read it`));
});

test('exit 2 for bad or contradictory flags', async () => {
  const cases = [
    [['logs', '--since', 'yesterday', fix('retries.log')], 'error: Expected --since to be a duration such as 30m or 1h, or an ISO time such as 2026-11-28T17:00:00Z, got `yesterday`.'],
    [['logs', '--level', 'loud', fix('retries.log')], 'error: Expected --level to be one of trace, debug, info, warn, error, fatal or a number, got `loud`.'],
    [['logs', '--duplicates', '--window', 'soon', fix('retries.log')], 'error: Expected --window to be a duration such as 30s, 5m or 1h, got `soon`.'],
    [['logs', '--duplicates', '--follow', fix('retries.log')], 'error: --duplicates reads the log to its end; it cannot --follow.\n  fix: Drop --follow, or drop --duplicates to watch new lines.'],
    [['logs', '--window', '5s', fix('retries.log')], 'error: --window only applies to --duplicates.\n  fix: Add --duplicates, or drop --window.'],
    [['logs', '--duplicates', '--level', 'warn', fix('retries.log')], 'error: --level and --event filter the log view; --duplicates reads every feedback event.\n  fix: Drop --level/--event (--since and --presentation work with --duplicates).'],
  ];
  for (const [args, stderr] of cases) {
    const r = await runCli(args);
    assert.equal(r.exitCode, 2, args.join(' '));
    assert.equal(r.stderr, stderr);
  }
});

test('--json passes pino lines through untouched and turns text lines into JSON', async () => {
  let r = await runCli(['logs', '--json', fix('retries.log')]);
  assert.equal(r.exitCode, 0);
  const { readFileSync } = await import('node:fs');
  assert.equal(r.stdout, readFileSync(fix('retries.log'), 'utf8').trimEnd());
  r = await runCli(['logs', '--json', fix('text-mixed.log')], { env: { TZ: 'UTC' } });
  const first = JSON.parse(lines(r.stdout)[0]);
  assert.deepEqual(first, { time: Date.parse('2026-11-28T17:15:55.123Z'), level: 30, pid: 12345, event: 'feedback.marked', presentationId: '17', msg: 'Feedback für Präsentation 17 markiert', format: 'text' });
});

test('filters: --level, --event, --presentation, --since (ISO and relative)', async (t) => {
  const count = async (...args) => {
    const r = await runCli(['logs', '--json', ...args, fix('retries.log')]);
    assert.equal(r.exitCode, 0);
    return lines(r.stdout).map((l) => JSON.parse(l));
  };
  assert.deepEqual((await count('--level', 'warn')).map((o) => o.level), [40, 40, 40, 40, 50]);
  assert.deepEqual((await count('--level', 'error')).map((o) => o.event), ['feedback.failed']);
  assert.equal((await count('--event', 'feedback.marked')).length, 3);
  assert.equal((await count('--event', 'feedback')).length, 13);
  assert.deepEqual((await count('--event', 'job.lease_expired,worker')).map((o) => o.event), ['worker.exited', 'job.lease_expired']);
  assert.deepEqual((await count('--presentation', 'pres-b')).map((o) => o.event), ['feedback.started', 'job.lease_expired', 'feedback.started', 'feedback.marked']);
  assert.deepEqual((await count('--since', '2025-11-28T17:00:50Z')).map((o) => o.jobId), ['job-c', 'job-c', 'job-c', 'job-c', 'job-d', 'job-d']);

  const dir = makeDataDir(t);
  const now = Date.now();
  const file = join(dir, 'recent.log');
  writeFileSync(file, [now - 2 * 3600_000, now - 10 * 60_000].map((time, i) => JSON.stringify({ level: 30, time, pid: 1, msg: `line ${i}` })).join('\n'));
  const r = await runCli(['logs', '--json', '--since', '1h', file]);
  assert.deepEqual(lines(r.stdout).map((l) => JSON.parse(l).msg), ['line 1']);
});

test('pretty output by pino-pretty, no colour when NO_COLOR is set; garbled lines shown as they are', async () => {
  const r = await runCli(['logs', fix('garbled.log')], { env: { TZ: 'UTC' } });
  assert.equal(r.exitCode, 0);
  const out = lines(r.stdout);
  assert.match(out[0], /^\[2025-11-28 17:03:20\.000 \+0000\] INFO \(4101\): Feedback for presentation pres-g started \{.*"jobId":"job-g"/);
  assert.equal(out[2], 'this is not a log line');
  assert.ok(!r.stdout.includes('\u001b['));
  const filtered = await runCli(['logs', '--event', 'feedback.marked', fix('garbled.log')]);
  assert.equal(lines(filtered.stdout).length, 1);
  assert.equal(filtered.stderr, 'logs: 5 unreadable lines skipped (not pino JSON or a known text format)');
  const coloured = await runCli(['logs', fix('retries.log')], { env: { FORCE_COLOR: '1' } });
  assert.ok(coloured.stdout.includes('\u001b['), 'FORCE_COLOR turns colour on without a TTY');
});

test('the permission-denied message, in-process (root can read anything, so the test above skips as root)', async () => {
  const { unreadable } = await import('../dist/logs/files.js');
  const error = unreadable('/var/log/presenter.log', Object.assign(new Error('EACCES'), { code: 'EACCES' }));
  assert.equal(error.exitCode, 2);
  assert.equal(error.code, 'LOG_UNREADABLE');
  assert.equal(error.message, 'Cannot read the log file /var/log/presenter.log: permission denied.');
  assert.equal(error.fix, "Run as a user who may read it (the service's user, or with sudo), or copy it somewhere readable.");
});
