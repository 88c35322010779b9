import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { analyseFiles } from '../dist/logs/analyse.js';
import { checkInput, orderFiles, rotatedSet } from '../dist/logs/files.js';
import { makeDataDir, ROOT } from './helpers/cli.js';

const FIX = join(ROOT, 'test/fixtures/logs');
const analyse = (names, options = {}) => analyseFiles(names.map((n) => checkInput(n.startsWith('/') ? n : join(FIX, n))), { windowMs: 60_000, ...options });

test('a clean 2-worker log has no duplicates and no retries', async () => {
  const r = await analyse(['clean-2workers.log']);
  assert.deepEqual(r.duplicates, []);
  assert.equal(r.marked, 40);
  assert.equal(r.retries.count, 0);
  assert.equal(r.garbled, 0);
});

test('exactly the injected duplicate feedback.marked lines are reported', async () => {
  const manifest = JSON.parse(readFileSync(join(FIX, 'duplicates-2workers.json'), 'utf8'));
  const r = await analyse(['duplicates-2workers.log']);
  assert.equal(manifest.duplicates.length, 3);
  assert.deepEqual(
    r.duplicates.map((d) => ({ jobId: d.jobIds[0], presentationId: d.presentationId, pids: d.pids, count: d.count })),
    manifest.duplicates.map((d) => ({ jobId: d.jobId, presentationId: d.presentationId, pids: d.pids, count: 2 })),
  );
  for (const d of r.duplicates) assert.deepEqual(d.kinds, ['marked-twice', 'same-response']);
  assert.equal(r.extraFeedbacks, 3);
});

test('retries (failed, then a new attempt; a lease expiry after a crash) are listed, never counted as duplicates', async () => {
  const r = await analyse(['retries.log']);
  assert.deepEqual(r.duplicates, []);
  assert.equal(r.retries.count, 3);
  assert.deepEqual(
    r.retries.listed.map((x) => [x.jobId, x.attempts, x.outcome, x.reasons]),
    [
      ['job-a', 2, 'marked', ['attempt 1 failed: provider timed out after 60000 ms']],
      ['job-b', 2, 'marked', ['lease expired (pid 4101)']],
      ['job-c', 2, 'failed', ['attempt 1 failed: HTTP 502 from the model', 'attempt 2 failed: HTTP 502 from the model']],
    ],
  );
});

test('one job run by two workers at once, and one answer from two pids within the window', async () => {
  const r = await analyse(['concurrent.log']);
  assert.deepEqual(
    r.duplicates.map((d) => [d.presentationId, d.jobIds, d.kinds, d.pids, d.count]),
    [
      ['pres-x', ['job-x'], ['concurrent'], [4101, 4102], 2],
      ['pres-y', ['job-y1', 'job-y2'], ['same-response'], [4101, 4102], 2],
    ],
  );
  const narrow = await analyse(['concurrent.log'], { windowMs: 500 });
  assert.deepEqual(narrow.duplicates.map((d) => d.kinds), [['concurrent']], 'the same answer 1 s apart is outside a 500 ms window');
});

test('the real reference stack log (gunicorn, 2 workers): every presentation marked twice is found', async () => {
  const text = readFileSync(join(FIX, 'python-2workers.log'), 'utf8');
  const marks = new Map();
  for (const m of text.matchAll(/^\S+ \S+ (\d+) Feedback für Präsentation (\d+) markiert$/gm)) marks.set(m[2], [...(marks.get(m[2]) ?? []), Number(m[1])]);
  const twice = [...marks].filter(([, pids]) => pids.length > 1).map(([id]) => id).sort((a, b) => a - b);
  const r = await analyse(['python-2workers.log']);
  assert.ok(twice.length > 0);
  assert.equal(r.marked, marks.size);
  assert.deepEqual(r.duplicates.map((d) => d.presentationId).sort((a, b) => a - b), twice);
  assert.ok(r.duplicates.every((d) => d.kinds.includes('marked-twice') && d.jobIds.length === 0));
  assert.equal(r.garbled, 0, 'gunicorn and Python lines are all understood');
});

test('plain-text lines in German and English: duplicates, a retry, a failure without a presentation', async () => {
  const r = await analyse(['text-mixed.log']);
  assert.deepEqual(r.duplicates.map((d) => [d.presentationId, d.count, d.pids]), [['17', 2, [12345, 12346]], ['18', 2, [12345]]]);
  assert.deepEqual(r.retries.listed.map((x) => [x.presentationId, x.outcome]), [['19', 'marked']]);
  assert.equal(r.failuresWithoutPresentation, 1);
});

test('garbled, truncated and non-log lines are counted and skipped, never fatal', async () => {
  const r = await analyse(['garbled.log']);
  assert.equal(r.garbled, 5);
  assert.equal(r.lines, 8);
  assert.deepEqual(r.duplicates, [], 'the cut-off second mark is not evidence');
  assert.equal(r.marked, 1);
});

test('gzip files are read, a cut-off gzip is read up to its end, and rotated files come oldest first', async (t) => {
  const dir = makeDataDir(t);
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const lines = readFileSync(join(FIX, 'duplicates-2workers.log'));
  const cut = lines.indexOf('\n', Math.floor(lines.length / 2)) + 1;
  writeFileSync(join(logs, 'presenter.log.2.gz'), gzipSync(lines.subarray(0, cut)));
  writeFileSync(join(logs, 'presenter.log.1'), lines.subarray(cut));
  writeFileSync(join(logs, 'presenter.log'), '');
  const set = rotatedSet(logs, true);
  assert.deepEqual(set.map((p) => p.slice(logs.length + 1)), ['presenter.log.2.gz', 'presenter.log.1', 'presenter.log']);
  assert.equal(checkInput(set[0]).gzip, true);
  const r = await analyse(set);
  assert.equal(r.duplicates.length, 3);
  assert.equal(r.lines, lines.toString().trim().split('\n').length);

  const gz = gzipSync(lines);
  writeFileSync(join(dir, 'cut.log.gz'), gz.subarray(0, Math.floor(gz.length * 0.6)));
  const partial = await analyse([join(dir, 'cut.log.gz')]);
  assert.equal(partial.files[0].truncated, true);
  assert.ok(partial.lines > 0);
});

test('a shell glob of rotated files is put in rotation order', () => {
  assert.deepEqual(orderFiles(['/d/presenter.log', '/d/presenter.log.1', '/d/presenter.log.10.gz', '/d/presenter.log.2', '/x/other.log']), [
    '/d/presenter.log.10.gz',
    '/d/presenter.log.2',
    '/d/presenter.log.1',
    '/d/presenter.log',
    '/x/other.log',
  ]);
});

test('keyed by (presentation, version): regenerations with the same answer from two workers are not duplicates; a version marked twice is', async (t) => {
  const dir = makeDataDir(t);
  const line = (o) => JSON.stringify({ level: 30, hostname: 'h', worker: o.pid - 4100, attempt: 1, lease: `l-${o.jobId}-${o.pid}`, ...o });
  const run = (time, pid, jobId, version, presentationId = 'pres-r') => [
    line({ time, pid, event: 'feedback.started', presentationId, jobId, version, msg: 'started' }),
    line({ time: time + 200, pid, event: 'feedback.marked', presentationId, jobId, version, feedbackId: `f-${jobId}-${pid}`, responseHash: 'same', provider: 'local', durationMs: 200, msg: 'marked' }),
  ];
  // four honest versions of one talk, alternating workers, all with the deterministic analyser's answer
  const honest = [...run(1_000, 4101, 'j1', 1), ...run(2_000, 4102, 'j2', 2), ...run(3_000, 4101, 'j3', 3), ...run(4_000, 4102, 'j4', 4)];
  writeFileSync(join(dir, 'honest.log'), `${honest.join('\n')}\n`);
  const clean = await analyse([join(dir, 'honest.log')]);
  assert.deepEqual(clean.duplicates, []);
  assert.equal(clean.marked, 4, 'one marked job per feedback.marked line');

  // version 2 produced by a second job on the other worker, and job j3 marked twice
  const bad = [...honest, ...run(2_500, 4101, 'j2b', 2), line({ time: 3_400, pid: 4102, event: 'feedback.marked', presentationId: 'pres-r', jobId: 'j3', version: 3, responseHash: 'same', msg: 'marked' })];
  writeFileSync(join(dir, 'bad.log'), `${bad.join('\n')}\n`);
  const r = await analyse([join(dir, 'bad.log')]);
  assert.deepEqual(r.duplicates.map((d) => [d.presentationId, d.jobIds, d.kinds, d.pids, d.count]), [
    // a finished job's first mark is kept as time and pid only (see duplicates.ts): the later job is named
    ['pres-r', ['j2b'], ['marked-twice'], [4101, 4102], 2],
    ['pres-r', ['j3'], ['marked-twice'], [4101, 4102], 2],
  ]);
  assert.equal(r.marked, 4);
});
