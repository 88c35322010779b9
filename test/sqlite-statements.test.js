// The SQLite store's prepared statements are compiled once. SQLite compiles a statement again
// each time a parameter is bound whose value its plan may depend on: a LIMIT given as a bound
// parameter (SQLite 3.53 and 3.54 here), the pattern of a LIKE. The claim's query cost 23 µs
// instead of 4 that way, at every create and every completion. SQLite calls the authorizer
// (node:sqlite's setAuthorizer, Node 24+) only while compiling: the fixture counts its calls
// while each statement runs again with other values.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { makeDataDir } from './helpers/cli.js';
import { nodeFor } from './helpers/node-bins.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/sqlite-reprepare.mjs', import.meta.url));

/** A Node whose node:sqlite has setAuthorizer: the one node:sqlite tests use, else the cached Node 24. */
function authorizerNode() {
  const hasAuthorizer = (node) =>
    spawnSync(node, ['-p', "typeof new (require('node:sqlite').DatabaseSync)(':memory:').setAuthorizer"], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).stdout?.trim() === 'function';
  const found = nodeFor('node:sqlite');
  if (!found.skip && hasAuthorizer(found.node)) return found;
  const cached = join(process.env.PRESENTER_MATRIX_CACHE ?? join(homedir(), '.cache/presenter-serve'), 'node-24', 'bin', 'node');
  if (existsSync(cached) && hasAuthorizer(cached)) return { node: cached, skip: false };
  return { skip: found.skip || `node:sqlite of ${found.version} has no setAuthorizer (Node 24+); \`bash scripts/test-matrix.sh 24\` caches one` };
}
const runner = authorizerNode();

function compilations(file, statements) {
  const r = spawnSync(runner.node, [FIXTURE], { input: JSON.stringify({ file, statements }), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function migrated(t) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  return file;
}

test('no statement of the SQLite store is compiled again when it runs with other values', { skip: runner.skip }, async (t) => {
  const file = migrated(t);
  const store = new SqliteStore(file);
  // the store's statements as it prepares them (a private field: the store's own SQL, not a copy)
  const statements = Object.entries(store.stmt).map(([name, statement]) => [name, statement.source ?? statement.sourceSQL]);
  await store.close();
  assert.ok(statements.length >= 20 && statements.every(([, sql]) => typeof sql === 'string'), `${statements.length} statements read`);
  const counts = compilations(file, statements);
  assert.deepEqual(Object.keys(counts).sort(), statements.map(([name]) => name).sort());
  assert.deepEqual(Object.entries(counts).filter(([, n]) => n > 0), [], 'statements compiled again at a run');
});

test('the count sees a statement compiled again: a LIMIT or a LIKE pattern bound as a parameter', { skip: runner.skip }, (t) => {
  const file = migrated(t);
  const counts = compilations(file, [
    ['limit', `SELECT id FROM jobs WHERE status = 'queued' AND run_at <= @now ORDER BY run_at LIMIT @n`],
    ['limit + 0', `SELECT id FROM jobs WHERE status = 'queued' AND run_at <= @now ORDER BY run_at LIMIT @n + 0`],
    ['like', 'SELECT id FROM presentations WHERE title LIKE ?'],
    ['equal', 'SELECT id FROM presentations WHERE title = ?'],
  ]);
  assert.ok(counts.limit > 0 && counts.like > 0, JSON.stringify(counts));
  assert.equal(counts['limit + 0'], 0);
  assert.equal(counts.equal, 0);
});
