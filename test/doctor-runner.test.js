import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useColour } from '../dist/cli/colour.js';
import { formatReport } from '../dist/doctor/format.js';
import { CHECKS, exitCodeFor, runDoctor } from '../dist/doctor/runner.js';
import { makeDataDir } from './helpers/cli.js';
import { doctorEnv, outcome, settings } from './helpers/doctor.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const slow = (id, status, ms) => ({ id, title: id, run: async () => { await sleep(ms); return { id, title: id, status, detail: `${id} done`, ...(status === 'pass' ? {} : { fix: `fix ${id}` }) }; } });

test('checks run concurrently and keep their order', async () => {
  const started = Date.now();
  const report = await runDoctor(doctorEnv(), { checks: [slow('a', 'pass', 300), slow('b', 'warn', 100), slow('c', 'fail', 200)] });
  assert.ok(Date.now() - started < 550, `took ${Date.now() - started} ms`);
  assert.deepEqual(report.checks.map((c) => c.id), ['a', 'b', 'c']);
  assert.deepEqual(report.summary, { passed: 1, warnings: 1, failed: 1 });
});

test('a check that throws is a failure, one that does not finish is a failure naming it; neither stops the others', async () => {
  const report = await runDoctor(doctorEnv(), {
    timeoutMs: 200,
    checks: [{ id: 'boom', title: 'Boom', run: async () => { throw new Error('kaput'); } }, slow('hang', 'pass', 5000), slow('ok', 'pass', 10)],
  });
  assert.deepEqual(report.checks.map((c) => c.status), ['fail', 'fail', 'pass']);
  assert.deepEqual(report.summary, { passed: 1, warnings: 0, failed: 2 });
  assert.match(report.checks[0].detail, /The check itself failed: kaput/);
  assert.equal(report.checks[1].detail, 'The hang check could not finish within 0.2 s and was abandoned.');
  assert.match(report.checks[1].fix, /blocked/);
});

test('the probe child runs once for both SQLite checks, after the data dir exists', async (t) => {
  let runs = 0;
  const dir = `${makeDataDir(t)}/new`;
  const env = doctorEnv({
    settings: settings({ dataDir: dir }),
    probeSqlite: async () => {
      runs++;
      return outcome([{ stage: 'loaded', version: '12.11.1', sqlite: '3.53.2' }, { stage: 'features', steps: [{ name: 'open', ok: true }] }]);
    },
  });
  const report = await runDoctor(env, { checks: CHECKS.filter((c) => ['better-sqlite3', 'sqlite-features', 'data-dir'].includes(c.id)) });
  assert.equal(runs, 1);
  assert.deepEqual(report.checks.map((c) => c.status), ['pass', 'pass', 'pass']);
  assert.match(report.checks[2].detail, /created it/);
});

test('exit codes: failures 1, warnings 0 or 1 with --strict', () => {
  const r = (passed, warnings, failed) => ({ checks: [], summary: { passed, warnings, failed }, durationMs: 0 });
  assert.equal(exitCodeFor(r(3, 0, 0), false), 0);
  assert.equal(exitCodeFor(r(3, 0, 0), true), 0);
  assert.equal(exitCodeFor(r(2, 1, 0), false), 0);
  assert.equal(exitCodeFor(r(2, 1, 0), true), 1);
  assert.equal(exitCodeFor(r(2, 0, 1), false), 1);
});

test('the text report: a mark per check, the fix indented under problems, the summary last', async () => {
  const report = await runDoctor(doctorEnv(), { checks: [slow('a', 'pass', 1), slow('b', 'warn', 1), slow('c', 'fail', 1)] });
  const text = formatReport(report, 'head', false);
  assert.equal(text, 'head\n✓ a: a done\n! b: b done\n    fix: fix b\n✗ c: c done\n    fix: fix c\n\n1 passed, 1 warnings, 1 failed\n');
  assert.ok(formatReport(report, 'head', true).includes('\u001b['));
});

test('colour only on a TTY, never with NO_COLOR, forced by FORCE_COLOR', () => {
  assert.equal(useColour({ isTTY: true }, {}), true);
  assert.equal(useColour({ isTTY: false }, {}), false);
  assert.equal(useColour({}, {}), false);
  assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColour({ isTTY: false }, { FORCE_COLOR: '1' }), true);
  assert.equal(useColour({ isTTY: true }, { FORCE_COLOR: '0' }), false);
});
