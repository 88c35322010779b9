import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { checkBetterSqlite3, classifyLoad } from '../dist/doctor/check-better-sqlite3.js';
import { createProbeRunner } from '../dist/doctor/probe.js';
import { makeDataDir } from './helpers/cli.js';
import { doctorEnv, FIXTURES, outcome, settings } from './helpers/doctor.js';

const fixture = (name) => fileURLToPath(new URL(name, FIXTURES));

test('the real probe loads better-sqlite3 in a child and names its version and SQLite', async (t) => {
  const dir = makeDataDir(t);
  const r = await checkBetterSqlite3(doctorEnv({ settings: settings({ dataDir: dir }) }));
  assert.equal(r.status, 'pass', r.detail);
  assert.match(r.detail, /^better-sqlite3 12\.\d+\.\d+ with SQLite 3\.\d+\.\d+, loaded in a child process\.$/);
});

test('a probe child killed by SIGSEGV is reported, not fatal; 13 on Node 20 gets the pin-to-12 fix', async () => {
  const r = await checkBetterSqlite3(doctorEnv({ nodeVersion: '20.20.2', probeSqlite: createProbeRunner(fixture('probe-segfault.js')) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Loading better-sqlite3 13\.0\.0 on Node 20\.20\.2 crashed the process \(SIGSEGV\): better-sqlite3 13 segfaults on Node older than 22\.14/);
  assert.match(r.fix, /^npm install better-sqlite3@12/);
});

test('a segfault of a version that is not known-bad is explained, with rebuild as the fix', async () => {
  const r = classifyLoad(outcome([{ stage: 'resolved', version: '12.11.1' }], { exitCode: undefined, signal: 'SIGSEGV' }), '22.20.0');
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Loading better-sqlite3 12\.11\.1 crashed the process \(SIGSEGV\)\. A native module that crashes on load was built for another Node/);
  assert.match(r.fix, /npm rebuild better-sqlite3/);
});

test('NODE_MODULE_VERSION mismatch (the real error text on stderr) → npm rebuild better-sqlite3', async () => {
  const r = await checkBetterSqlite3(doctorEnv({ nodeVersion: '22.23.5', probeSqlite: createProbeRunner(fixture('probe-abi-mismatch.js')) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /compiled for NODE_MODULE_VERSION 115 \(Node 20\), but Node 22\.23\.5 needs NODE_MODULE_VERSION 127/);
  assert.match(r.fix, /^npm rebuild better-sqlite3/);
});

test('a missing module → npm ci', async () => {
  const r = await checkBetterSqlite3(doctorEnv({ probeSqlite: createProbeRunner(fixture('probe-missing.js')) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /better-sqlite3 is not installed/);
  assert.match(r.fix, /^npm ci/);
});

test('a missing native build (bindings file) → npm rebuild', () => {
  const r = classifyLoad(outcome([{ stage: 'resolved', version: '12.11.1' }, { stage: 'load-failed', version: '12.11.1', error: { message: 'Could not locate the bindings file. Tried:\n → /app/build/better_sqlite3.node' } }], { exitCode: 1 }), '20.20.2');
  assert.match(r.detail, /native build \(better_sqlite3\.node\) is missing/);
  assert.match(r.fix, /npm rebuild better-sqlite3/);
});

test('a probe that hangs is stopped at its time limit and reported', async () => {
  const started = Date.now();
  const r = await checkBetterSqlite3(doctorEnv({ probeSqlite: createProbeRunner(fixture('probe-hang.js'), { timeoutMs: 300 }) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /did not finish within the probe's time limit/);
  assert.ok(Date.now() - started < 10_000, "stopped by its limit, not left hanging");
});

test('13 that loads on Node < 22.14 still fails with the known-bad fix', () => {
  const r = classifyLoad(outcome([{ stage: 'resolved', version: '13.0.0' }, { stage: 'loaded', version: '13.0.0', sqlite: '3.50.0' }]), '22.13.0');
  assert.equal(r.status, 'fail');
  assert.match(r.fix, /npm install better-sqlite3@12/);
});

test('a probe that could not start is reported', async () => {
  const r = await checkBetterSqlite3(doctorEnv({ probeSqlite: createProbeRunner(fixture('probe-hang.js'), { node: '/nonexistent/node' }) }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /Could not start the probe child/);
});
