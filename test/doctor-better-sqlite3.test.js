import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { checkBetterSqlite3, classifyLoad } from '../dist/doctor/check-better-sqlite3.js';
import { createProbeRunner } from '../dist/doctor/probe.js';
import { makeDataDir } from './helpers/cli.js';
import { doctorEnv, FIXTURES, outcome, settings } from './helpers/doctor.js';
import { sqliteDriverSkip } from './helpers/stores.js';

const fixture = (name) => fileURLToPath(new URL(name, FIXTURES));

test('the real probe loads better-sqlite3 in a child and names its version and SQLite, and that it is the driver in use', { skip: await sqliteDriverSkip('better-sqlite3') }, async (t) => {
  const dir = makeDataDir(t);
  const r = await checkBetterSqlite3(doctorEnv({ settings: settings({ dataDir: dir }) }));
  assert.equal(r.status, 'pass', r.detail);
  assert.match(r.detail, /^better-sqlite3 12\.\d+\.\d+ with SQLite 3\.\d+\.\d+, loaded in a child process; in use \(better-sqlite3 12\.\d+\.\d+ loaded\)\.$/);
});

// What the real probe prints when better-sqlite3 is absent or broken and a driver was (not) found.
const NOT_INSTALLED = { stage: 'resolve-failed', error: { code: 'MODULE_NOT_FOUND', message: "Cannot find module 'better-sqlite3/package.json'" } };
const NODE_SQLITE = { stage: 'node-sqlite', available: true, sqlite: '3.54.1' };

test('better-sqlite3 not installed, node:sqlite in use: a pass that names the driver and why (the optional dependency is optional)', () => {
  const r = classifyLoad(outcome([NOT_INSTALLED, NODE_SQLITE, { stage: 'driver', name: 'node:sqlite', reason: 'better-sqlite3 not installed', sqlite: '3.54.1' }], { exitCode: 0 }), '24.22.3');
  assert.equal(r.status, 'pass');
  assert.equal(r.detail, "node:sqlite (better-sqlite3 not installed), Node 24.22.3's built-in SQLite 3.54.1. better-sqlite3 is optional; installing it makes the store faster (see the README).");
});

test('better-sqlite3 installed but built for another Node, node:sqlite in use: a warning with the rebuild fix', () => {
  const abi = 'The module was compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137.';
  const r = classifyLoad(outcome([{ stage: 'resolved', version: '12.11.1' }, { stage: 'load-failed', version: '12.11.1', error: { code: 'ERR_DLOPEN_FAILED', message: abi } }, NODE_SQLITE, { stage: 'driver', name: 'node:sqlite', reason: 'better-sqlite3 12.11.1 built for another Node', sqlite: '3.54.1' }]), '24.22.3');
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /^node:sqlite \(better-sqlite3 12\.11\.1 built for another Node\), Node 24\.22\.3's built-in SQLite 3\.54\.1\. better-sqlite3 12\.11\.1 was compiled for NODE_MODULE_VERSION 115/);
  assert.match(r.fix, /^npm rebuild better-sqlite3/);
});

test('no driver at all (Node 20 without better-sqlite3): a failure whose fix says what to install', () => {
  const r = classifyLoad(outcome([NOT_INSTALLED, { stage: 'node-sqlite', available: false }, { stage: 'no-driver', error: { message: 'No SQLite driver: better-sqlite3 not installed, and Node 20.20.2 has no built-in node:sqlite (Node 22.13 or newer has it).', fix: 'Either install better-sqlite3 …, or run presenter-serve with Node 22.13 or newer' } }], { exitCode: 1 }), '20.20.2');
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /^No SQLite driver: better-sqlite3 not installed, and Node 20\.20\.2 has no built-in node:sqlite/);
  assert.match(r.fix, /install better-sqlite3 .*Node 22\.13 or newer/);
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
