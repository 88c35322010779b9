// doctor's PostgreSQL checks against the real server at 127.0.0.1:5432 (trust authentication):
// each test makes its own database (and role) with a random name and drops it again.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import pg from 'pg';
import { checkDatabase } from '../dist/doctor/check-database.js';
import { checkFsType } from '../dist/doctor/check-fs-type.js';
import { checkPostgresVersion, POSTGRES_EOL, POSTGRES_MINIMUM } from '../dist/doctor/check-postgres.js';
import { CLOCK_FAIL_MS, CLOCK_WARN_MS } from '../dist/doctor/check-postgres-clock.js';
import { checkSqliteFeatures } from '../dist/doctor/check-sqlite-features.js';
import { realFs } from '../dist/doctor/env.js';
import { probePostgres, POSTGRES_BUDGET_MS } from '../dist/doctor/probe-postgres.js';
import { POSTGRES_CHECKS, runDoctor } from '../dist/doctor/runner.js';
import { SCHEMA_VERSION } from '../dist/store/migrations.js';
import { freePort, makeDataDir, runCli, sleep } from './helpers/cli.js';
import { doctorEnv, outcome, settings } from './helpers/doctor.js';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
// trust authentication lets any password in: the URLs carry one so that its absence can be checked
const PASSWORD = 'pw-Doctor-Never-Prints-7f3a';
const url = (db, { user = 'postgres', port = 5432, host = '127.0.0.1' } = {}) => `postgres://${user}:${PASSWORD}@${host}:${port}/${db}`;

async function reachable() {
  const client = new pg.Client({ connectionString: ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return false;
  } catch (error) {
    return `PostgreSQL is not reachable at 127.0.0.1:5432 (${error.code ?? error.message}): start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\``;
  }
}
const skip = await reachable();

async function admin(sql) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function inDatabase(db, sql) {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}` });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const randomName = (prefix) => `${prefix}_${randomBytes(6).toString('hex')}`;

/** A fresh, empty database, dropped when the test ends. */
async function freshDatabase(t) {
  const db = randomName('doctor');
  await admin(`CREATE DATABASE ${db}`);
  t.after(() => admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
  return db;
}

/** The PostgreSQL checks only, in-process, against a URL. */
async function pgReport(databaseUrl, extra = {}) {
  const { settings: s = {}, ...rest } = extra;
  const report = await runDoctor(doctorEnv({ settings: settings({ databaseUrl, ...s }), ...rest }), { checks: POSTGRES_CHECKS });
  const byId = Object.fromEntries(report.checks.map((c) => [c.id.replace(/^postgres-/, ''), c]));
  assert.ok(!JSON.stringify(report).includes(PASSWORD), 'the password is never in a check result');
  return { report, ...byId };
}

const listening = async (t, onSocket) => {
  const server = createServer(onSocket);
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return server.address().port;
};

test('a fresh database: every PostgreSQL check passes, the schema is not migrated yet', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const r = await pgReport(url(db));
  for (const c of r.report.checks) assert.equal(c.status, 'pass', `${c.id}: ${c.detail}`);
  assert.match(r.reachable.detail, new RegExp(`^postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${db}: TCP connected in \\d+ ms, and PostgreSQL answered\\.$`));
  assert.match(r.login.detail, /^Logged in as "postgres"\. It is a superuser/);
  assert.equal(r.database.detail, `The database "${db}" exists.`);
  assert.match(r.version.detail, /^PostgreSQL 1\d\.\d+.* \(server_version_num 1\d{5}\), supported until 20\d\d-\d\d-\d\d\.$/);
  assert.equal(r.schema.detail, `Not migrated yet (no schema_migrations in "${db}"): \`presenter-serve serve\` migrates it at start, to version ${SCHEMA_VERSION}.`);
  assert.match(r.clock.detail, /^The database clock is \d+ ms (ahead of|behind) this host's \(± \d+ ms\)\.$/);
  assert.match(r.connections.detail, /^presenter-serve needs 1 host × \(1 worker × 8 \(a pool of 6 for 4 job slots, 1 for claims, 1 LISTEN\) \+ 1 supervisor\) = 9 connections, 17 during a rolling reload; \d+ allowed \(max_connections \d+ − \d+ reserved for superusers\); \d+ in use now\.$/);
  // one connection for all seven checks, and it is closed again
  let left;
  for (let i = 0; i < 20; i++) {
    left = (await admin(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${db}'`)).rows[0].n;
    if (left === 0) break;
    await sleep(50); // a backend leaves pg_stat_activity a moment after its client closed
  }
  assert.equal(left, 0);
});

test('a database that does not exist: the createdb command; the server is still checked through the postgres database', { skip }, async () => {
  const db = randomName('doctor_missing');
  const r = await pgReport(url(db, { port: 5432 }));
  assert.equal(r.reachable.status, 'pass');
  assert.equal(r.login.status, 'pass');
  assert.equal(r.database.status, 'fail');
  assert.equal(r.database.detail, `The database "${db}" does not exist on 127.0.0.1:5432 (3D000).`);
  assert.match(r.database.fix, new RegExp(`^Create it, owned by the service's user: \`createdb -h 127\\.0\\.0\\.1 -U postgres -O postgres ${db}\` \\(or \`CREATE DATABASE "${db}" OWNER "postgres";\``));
  // the server itself is read through the maintenance database: createdb changes none of this
  for (const id of ['version', 'clock', 'connections']) assert.equal(r[id].status, 'pass', `${id}: ${r[id].detail}`);
  assert.equal(r.schema.status, 'fail');
  assert.equal(r.schema.detail, 'Not checked: see “PostgreSQL database exists”.');
});

test('a port where nothing listens: reachable fails at once (ECONNREFUSED), with the fix', { skip }, async () => {
  const port = await freePort();
  const started = Date.now();
  const r = await pgReport(url('test', { port }));
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.equal(r.reachable.status, 'fail');
  assert.equal(r.reachable.detail, `Nothing accepts connections at 127.0.0.1:${port} (ECONNREFUSED).`);
  assert.match(r.reachable.fix, /^Start PostgreSQL .*`listen_addresses` in postgresql\.conf .*firewall/);
  assert.equal(r.login.detail, 'Not checked: see “PostgreSQL reachable”.');
  assert.equal(r.report.summary.failed, 7);
});

test('a host name that does not resolve: reachable fails naming the host and DNS', { skip }, async () => {
  const r = await pgReport(url('test', { host: 'doctor-no-such-host.invalid' }));
  assert.equal(r.reachable.status, 'fail');
  assert.match(r.reachable.detail, /^The database host doctor-no-such-host\.invalid cannot be resolved \((ENOTFOUND|EAI_AGAIN)\)\.$/);
  assert.match(r.reachable.fix, /getent hosts doctor-no-such-host\.invalid/);
});

// Trust authentication lets any password in, but not a role that does not exist (28000).
test('a role that does not exist: login fails with 28000 and how to create it', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const role = randomName('doctor_nobody');
  const r = await pgReport(url(db, { user: role }));
  assert.equal(r.reachable.status, 'pass');
  assert.equal(r.login.status, 'fail');
  assert.equal(r.login.detail, `The role "${role}" does not exist on 127.0.0.1:5432 (28000).`);
  assert.equal(r.login.fix, `Create it on the server: \`createuser -h 127.0.0.1 -P ${role}\` (or \`CREATE ROLE "${role}" LOGIN PASSWORD '…';\`), or put an existing user in the database URL.`);
  assert.equal(r.database.detail, 'Not checked: see “PostgreSQL login”.');
});

test('a server that accepts TCP and never answers: reachable fails within the budget', { skip }, async (t) => {
  const port = await listening(t, () => {}); // reads the start-up packet, says nothing
  const started = Date.now();
  const r = await pgReport(url('test', { port }));
  const took = Date.now() - started;
  assert.ok(took >= POSTGRES_BUDGET_MS - 100 && took < POSTGRES_BUDGET_MS + 1000, `took ${took} ms`);
  assert.equal(r.reachable.status, 'fail');
  assert.match(r.reachable.detail, new RegExp(`^127\\.0\\.0\\.1:${port} accepted a TCP connection but did not answer as PostgreSQL within 2\\.\\d s\\.$`));
  assert.match(r.reachable.fix, /Something other than PostgreSQL may listen on port/);
});

test('a server that closes at once: reachable fails, asking whether it is PostgreSQL', { skip }, async (t) => {
  const port = await listening(t, (socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const r = await pgReport(url('test', { port }));
  assert.equal(r.reachable.status, 'fail');
  assert.match(r.reachable.detail, new RegExp(`^127\\.0\\.0\\.1:${port} closed the connection during start-up`));
  assert.match(r.reachable.fix, /is a PostgreSQL server/);
});

test('--hosts 1000 does not fit max_connections: fail with what to raise, and why PgBouncer is no way out', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const r = await pgReport(url(db), { hosts: 1000 });
  assert.equal(r.connections.status, 'fail');
  assert.match(r.connections.detail, /^presenter-serve needs 1000 hosts × \(1 worker × 8 .*\) = 9000 connections, 17000 during a rolling reload: more than the \d+ allowed \(max_connections \d+ − \d+ reserved for superusers\)/);
  assert.match(r.connections.fix, /^Raise max_connections to at least 21\d\d\d \(`ALTER SYSTEM SET max_connections = 21\d\d\d;`, then restart PostgreSQL\), or run fewer workers/);
  assert.match(r.connections.fix, /PgBouncer in transaction mode breaks LISTEN/);
  for (const c of r.report.checks.filter((c) => c.id !== 'postgres-connections')) assert.equal(c.status, 'pass', c.id);
});

test('close to max_connections warns (above 80 %)', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const max = Number((await admin('SHOW max_connections')).rows[0].max_connections);
  const reserved = Number((await admin('SHOW superuser_reserved_connections')).rows[0].superuser_reserved_connections);
  const usable = max - reserved;
  // 1 worker × (threads + 4) + 1 = threads + 5 per host, one host: just below the limit
  const threads = usable - 5 - 1;
  const r = await pgReport(url(db), { settings: { threads } });
  assert.equal(r.connections.status, 'warn', r.connections.detail);
  assert.match(r.connections.detail, /close to the \d+ allowed/);
});

test("a role's connection limit is a limit too: named, with ALTER ROLE", { skip }, async (t) => {
  const db = await freshDatabase(t);
  const role = randomName('doctor_app');
  await admin(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 5`);
  t.after(() => admin(`DROP ROLE IF EXISTS ${role}`));
  const r = await pgReport(url(db, { user: role }));
  assert.equal(r.login.detail, `Logged in as "${role}".`);
  assert.equal(r.connections.status, 'fail');
  assert.match(r.connections.detail, new RegExp(`more than the 5 allowed \\(the connection limit of role "${role}"\\)`));
  assert.match(r.connections.fix, new RegExp(`^Raise the role's limit \\(\`ALTER ROLE "${role}" CONNECTION LIMIT 22;\`\\)`));
});

test('schema versions: older passes (serve migrates), equal is current, newer fails (upgrade presenter-serve)', { skip }, async (t) => {
  const db = await freshDatabase(t);
  await inDatabase(db, 'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text, applied_at timestamptz)');
  let r = await pgReport(url(db));
  assert.equal(r.schema.status, 'pass');
  assert.match(r.schema.detail, /^Not migrated yet \(no version in schema_migrations/);
  await inDatabase(db, `INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION - 1}, 'older', now())`);
  r = await pgReport(url(db));
  assert.equal(r.schema.status, 'pass');
  assert.match(r.schema.detail, new RegExp(`^Schema version ${SCHEMA_VERSION - 1}, this presenter-serve has schema version ${SCHEMA_VERSION}: \`presenter-serve serve\` migrates it at start`));
  await inDatabase(db, `INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION}, 'current', now())`);
  r = await pgReport(url(db));
  assert.equal(r.schema.detail, `Schema version ${SCHEMA_VERSION}, current.`);
  await inDatabase(db, `INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, 'from the future', now())`);
  r = await pgReport(url(db));
  assert.equal(r.schema.status, 'fail');
  assert.match(r.schema.detail, new RegExp(`^Schema version ${SCHEMA_VERSION + 1} is newer than this presenter-serve knows`));
  assert.equal(r.schema.fix, 'Upgrade presenter-serve on this host to the release the other hosts run.');
});

// The database's clock is real; this host's is shifted (the probe reads it through `now`).
test('clock skew: a host clock 5 s off warns, 30 s off fails; the message says what skew breaks', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const shifted = (ms) => ({ probePostgres: (u) => probePostgres(u, { now: () => Date.now() + ms }) });
  let r = await pgReport(url(db), shifted(5000));
  assert.equal(r.clock.status, 'warn');
  assert.match(r.clock.detail, /^The database clock is 5\.0 s behind this host's \(± \d+ ms\)\. Leases and retries use the database's clock, so jobs stay safe; but each host stamps its log lines with its own clock/);
  assert.match(r.clock.fix, /NTP/);
  r = await pgReport(url(db), shifted(-30_000));
  assert.equal(r.clock.status, 'fail');
  assert.match(r.clock.detail, /^The database clock is 30\.0 s ahead of this host's/);
  assert.ok(CLOCK_WARN_MS < 5000 && CLOCK_FAIL_MS < 30_000);
});

test('doctor --database-url --json as a child process: exit 0, the PostgreSQL checks, the password nowhere', { skip }, async (t) => {
  const db = await freshDatabase(t);
  const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', '0', '--database-url', url(db)], { env: { PGPASSWORD: 'pgpassword-env-secret' } });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.equal(r.stderr, '');
  const report = JSON.parse(r.stdout);
  assert.equal(report.database, `postgres://postgres:***@127.0.0.1:5432/${db}`);
  assert.equal(report.hosts, 1);
  assert.equal(report.checks.length, 18);
  assert.deepEqual(report.checks.filter((c) => c.id.startsWith('postgres-')).map((c) => c.status), Array(7).fill('pass'));
  assert.match(report.checks.find((c) => c.id === 'database').detail, /^Not used: the store is PostgreSQL/);
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stdout.includes('pgpassword-env-secret'));
});

test('doctor with PRESENTER_DATABASE_URL, text output: a missing database exits 1, the password nowhere', { skip }, async (t) => {
  const db = randomName('doctor_missing');
  const r = await runCli(['doctor', '--data-dir', makeDataDir(t), '--port', '0', '--hosts', '3'], { env: { PRESENTER_DATABASE_URL: url(db) } });
  assert.equal(r.exitCode, 1);
  assert.match(r.stdout, new RegExp(`^presenter-serve doctor: .*, database postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:5432/${db}, \\d+ ms$`, 'm'));
  assert.match(r.stdout, new RegExp(`^✗ PostgreSQL database exists: The database "${db}" does not exist on 127\\.0\\.0\\.1:5432 \\(3D000\\)\\.\\n {4}fix: Create it.*createdb -h 127\\.0\\.0\\.1 -U postgres -O postgres ${db}`, 'm'));
  assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
});

test('doctor against a silent server as a child process: exit 1 in bounded time', { skip }, async (t) => {
  const port = await listening(t, () => {});
  const started = Date.now();
  const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', '0', '--database-url', url('test', { port })], { timeout: 15_000 });
  const took = Date.now() - started;
  assert.equal(r.exitCode, 1);
  assert.ok(took < 8000, `doctor took ${took} ms`);
  const reachableCheck = JSON.parse(r.stdout).checks.find((c) => c.id === 'postgres-reachable');
  assert.equal(reachableCheck.status, 'fail');
  assert.match(reachableCheck.detail, /did not answer as PostgreSQL/);
  t.diagnostic(`doctor took ${took} ms including Node start-up`);
});

test('bad doctor flags are usage errors (exit 2): --hosts 0, a non-PostgreSQL URL, never echoing the password', async () => {
  let r = await runCli(['doctor', '--hosts', '0']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /Expected --hosts to be a whole number from 1 to 10000, got `0`/);
  r = await runCli(['doctor', '--database-url', `mysql://root:${PASSWORD}@db/x`]);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /--database-url: the database URL's scheme is "mysql"/);
  assert.ok(!(r.stdout + r.stderr).includes(PASSWORD));
});

test('without a database URL no PostgreSQL check runs', async (t) => {
  const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', '0']);
  const report = JSON.parse(r.stdout);
  assert.equal(report.checks.length, 11);
  assert.equal(report.database, undefined);
  assert.ok(!report.checks.some((c) => c.id.startsWith('postgres-')));
});

test('a percent-encoded password is printed in neither form', { skip }, async (t) => {
  const encoded = 'Sec%2Fret%40pw%20x';
  const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', '0', '--database-url', `postgres://postgres:${encoded}@127.0.0.1:5432/${randomName('doctor_missing')}`]);
  assert.equal(r.exitCode, 1);
  assert.match(JSON.parse(r.stdout).database, /^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\//);
  for (const form of [encoded, decodeURIComponent(encoded)]) assert.ok(!(r.stdout + r.stderr).includes(form), form);
});

// The shared server trusts everyone; password and pg_hba.conf refusals need a server of our own:
// initdb'd in a temp dir and run as the postgres user (which needs root here).
const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  return version && existsSync(join(root, version, 'bin', 'initdb')) ? join(root, version, 'bin') : undefined;
})();
const PG_USER = (() => {
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) };
  } catch {
    return undefined;
  }
})();
const noPrivateServer =
  process.getuid?.() !== 0 ? 'a private PostgreSQL (password authentication, its own pg_hba.conf) is run as the postgres user, which needs root' : !PG_BIN ? 'initdb not found under /usr/lib/postgresql' : !PG_USER ? 'there is no postgres user to run a private PostgreSQL' : false;

const ADMIN_PASSWORD = 'Private-Admin-Pw-91c2';

/** A throwaway PostgreSQL: scram-sha-256 passwords, pg_hba.conf lets only postgres in (from 127.0.0.1 and the socket), max_connections 10, no TLS. */
async function privateServer(t) {
  const { uid, gid } = PG_USER;
  const dir = mkdtempSync(join(tmpdir(), 'doctor-pg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${ADMIN_PASSWORD}\n`);
  chownSync(pwfile, uid, gid);
  await execa(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync'], { uid, gid, cwd: dir, stdin: 'ignore' });
  writeFileSync(join(data, 'pg_hba.conf'), 'local all postgres scram-sha-256\nhost all postgres 127.0.0.1/32 scram-sha-256\n');
  const port = await freePort();
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=10', '-c', 'fsync=off', '-c', 'ssl=off'];
  const server = spawn(join(PG_BIN, 'postgres'), args, { uid, gid, cwd: dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  t.after(async () => {
    server.kill('SIGINT'); // fast shutdown
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  const admin = `postgres://postgres:${ADMIN_PASSWORD}@127.0.0.1:${port}/postgres`;
  for (let i = 0; ; i++) {
    const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      if (i > 100 || server.exitCode !== null) throw new Error(`the private PostgreSQL did not start: ${error.message}`);
      await sleep(100);
    }
  }
  return { port, admin, socketDir: dir };
}

test('a private PostgreSQL with password authentication and a strict pg_hba.conf', { skip: skip || noPrivateServer }, async (t) => {
  const { port, socketDir } = await privateServer(t);
  const at = (user, password, extra = '') => `postgres://${user}:${password}@127.0.0.1:${port}/postgres${extra}`;

  await t.test('the right password logs in; the default profile does not fit max_connections 10', async () => {
    const r = await runDoctor(doctorEnv({ settings: settings({ databaseUrl: at('postgres', ADMIN_PASSWORD) }) }), { checks: POSTGRES_CHECKS });
    const byId = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    assert.equal(byId['postgres-login'].status, 'pass');
    assert.equal(byId['postgres-connections'].status, 'fail');
    assert.match(byId['postgres-connections'].detail, /= 9 connections, 17 during a rolling reload: more than the 7 allowed \(max_connections 10 − 3 reserved for superusers\)/);
    assert.match(byId['postgres-connections'].fix, /^Raise max_connections to at least 25 /);
    assert.ok(!JSON.stringify(r).includes(ADMIN_PASSWORD));
  });

  await t.test('a wrong password: 28P01, and where the password goes', async () => {
    const wrong = 'Wrong-Password-Never-Printed-55';
    const r = await runCli(['doctor', '--json', '--data-dir', makeDataDir(t), '--port', '0', '--database-url', at('postgres', wrong)]);
    assert.equal(r.exitCode, 1);
    const login = JSON.parse(r.stdout).checks.find((c) => c.id === 'postgres-login');
    assert.equal(login.status, 'fail');
    assert.equal(login.detail, `127.0.0.1:${port} refused the password of "postgres" (28P01: password authentication failed for user "postgres").`);
    assert.match(login.fix, /^Put the right password in the database URL \(postgres:\/\/postgres:PASSWORD@…, percent-encoded\) or in PGPASSWORD, or set it on the server: `ALTER ROLE "postgres" PASSWORD '…';`/);
    assert.ok(!(r.stdout + r.stderr).includes(wrong));
    assert.ok(!(r.stdout + r.stderr).includes(ADMIN_PASSWORD));
  });

  await t.test('a user pg_hba.conf does not let in: 28000, and the line to add', async () => {
    const r = await pgReport(at('reporting', PASSWORD));
    assert.equal(r.login.status, 'fail');
    assert.equal(r.login.detail, `127.0.0.1:${port} has no pg_hba.conf line that lets "reporting" in from 127.0.0.1 (28000: no pg_hba.conf entry for host "127.0.0.1", user "reporting", database "postgres", no encryption).`);
    assert.match(r.login.fix, /^Add a line to pg_hba\.conf on the database server \(`SHOW hba_file` finds it\), e\.g\. `host {2}postgres {2}reporting {2}127\.0\.0\.1\/32 {2}scram-sha-256`.*`SELECT pg_reload_conf\(\);`/);
  });

  await t.test('a Unix socket directory as the host (%2F…): checked the same way; a missing one is ENOENT', async () => {
    const viaSocket = `postgres://postgres:${ADMIN_PASSWORD}@${encodeURIComponent(socketDir)}:${port}/postgres`;
    let r = await pgReport(viaSocket);
    assert.equal(r.reachable.status, 'pass', r.reachable.detail);
    assert.equal(r.login.status, 'pass', r.login.detail);
    r = await pgReport(`postgres://postgres:${PASSWORD}@${encodeURIComponent(join(socketDir, 'nowhere'))}:${port}/postgres`);
    assert.equal(r.reachable.status, 'fail');
    assert.equal(r.reachable.detail, `Nothing accepts connections at ${join(socketDir, 'nowhere')}/.s.PGSQL.${port} (ENOENT).`);
  });

  await t.test('TLS asked of a server without it: reachable fails with the sslmode fix', async () => {
    const r = await pgReport(at('postgres', PASSWORD, '?sslmode=no-verify'));
    assert.equal(r.reachable.status, 'fail');
    assert.equal(r.reachable.detail, `TLS with 127.0.0.1:${port} failed: The server does not support SSL connections.`);
    assert.match(r.reachable.fix, /sslmode/);
  });
});

// With a database URL the data dir holds only the lock (an SQLite file without WAL), the logs and the pid file.
test('with a database URL the SQLite-file checks say what no longer applies, and keep what does', async (t) => {
  const dir = makeDataDir(t);
  const databaseUrl = `postgres://app:${PASSWORD}@db.example:5432/presenter`;
  const pgSettings = settings({ dataDir: dir, databaseUrl });
  let r = await checkDatabase({ settings: pgSettings });
  assert.equal(r.detail, 'Not used: the store is PostgreSQL (postgres://app:***@db.example:5432/presenter).');
  writeFileSync(join(dir, 'presenter.db'), 'old talks');
  r = await checkDatabase({ settings: pgSettings });
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /presenter\.db \(0\.0 MB\) is left from the SQLite store and not read: its talks are not in PostgreSQL\.$/);

  const steps = (failAt, error) => ['open', 'wal', 'write'].map((name) => (name === failAt ? { name, ok: false, error } : { name, ok: true }));
  const probe = (s) => async () => outcome([{ stage: 'loaded', version: '12.11.1', sqlite: '3.53.2' }, { stage: 'features', steps: s }]);
  r = await checkSqliteFeatures(doctorEnv({ settings: pgSettings, probeSqlite: probe(steps('wal', 'journal_mode answered `delete`')) }));
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /^Not needed: the store is PostgreSQL; switching to WAL failed in .* which only the SQLite store needs\.$/);
  r = await checkSqliteFeatures(doctorEnv({ settings: pgSettings, probeSqlite: probe(steps('open', 'SQLITE_CANTOPEN')) }));
  assert.equal(r.status, 'fail', 'the lock file is an SQLite database: the data dir must take one');

  const nfs = '22 1 8:1 / / rw - ext4 /dev/sdb rw\n46 22 0:41 / /srv/share rw - nfs4 fileserver:/export rw';
  r = await checkFsType(doctorEnv({ platform: 'linux', settings: settings({ dataDir: '/srv/share/data', databaseUrl }), readSystemFile: () => nfs, fs: { ...realFs, realpath: async (p) => p } }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /NFS file system: the data dir's lock \(presenter\.lock\) needs byte-range locks/);
});

// The version check on fake facts (no server needed): each branch of checkPostgresVersion, with
// the clock injected through env.now. Versions before 10 count as 9.6 (server_version_num 90624).
test('PostgreSQL version: below 13 fails with the upgrade fix; 13 warns from its end-of-life date on; a supported major passes', async () => {
  const databaseUrl = `postgres://app:${PASSWORD}@db.example:5432/presenter`;
  const facts = (versionNum, version) => ({
    display: 'postgres://app:***@db.example:5432/presenter',
    host: 'db.example',
    port: 5432,
    database: 'presenter',
    user: 'app',
    tcpMs: 1,
    server: { versionNum, version, maxConnections: 100, superuserReserved: 3, reserved: 0, inUse: 5, roleLimit: -1, databaseLimit: -1, superuser: false },
  });
  const at = (iso) => () => Date.parse(iso);
  const version = (versionNum, text, now) => checkPostgresVersion({ settings: settings({ databaseUrl }), probePostgres: async () => facts(versionNum, text), now });
  const supported = '15, 16, 17, 18'; // the last four majors of POSTGRES_EOL
  assert.equal(POSTGRES_MINIMUM, 13);
  assert.equal(POSTGRES_EOL[13], '2025-11-13');

  // too old: fail, whatever the date, with how to upgrade
  for (const [num, text] of [[120022, '12.22'], [90624, '9.6.24'], [110000, '11.0']]) {
    const r = await version(num, text, at('2024-01-01T00:00:00Z'));
    assert.equal(r.status, 'fail', `${text}: ${r.detail}`);
    assert.equal(r.id, 'postgres-version');
    assert.equal(r.detail, `PostgreSQL ${text} (server_version_num ${num}) is older than 13, the oldest presenter-serve supports.`);
    assert.equal(r.fix, `Upgrade the server to a supported major (${supported}): pg_upgrade, or your provider's upgrade.`);
  }

  // 13: supported until the day before its end of life, a warning from that day on
  const before = await version(130022, '13.22', at('2025-11-12T23:59:59Z'));
  assert.equal(before.status, 'pass');
  assert.equal(before.detail, 'PostgreSQL 13.22 (server_version_num 130022), supported until 2025-11-13.');
  for (const iso of ['2025-11-13T00:00:00Z', '2026-06-01T12:00:00Z']) {
    const r = await version(130022, '13.22', at(iso));
    assert.equal(r.status, 'warn', `${iso}: ${r.detail}`);
    assert.equal(r.detail, 'PostgreSQL 13.22 (server_version_num 130022) works, but PostgreSQL 13 is end of life since 2025-11-13 (no security fixes).');
    assert.equal(r.fix, "Plan an upgrade to a supported major: pg_upgrade, or your provider's upgrade.");
  }
  // a later major on the same date passes; one newer than the table passes without a date
  const r15 = await version(150008, '15.8 (Debian 15.8-0+deb12u1)', at('2026-06-01T12:00:00Z'));
  assert.equal(r15.status, 'pass');
  assert.equal(r15.detail, 'PostgreSQL 15.8 (Debian 15.8-0+deb12u1) (server_version_num 150008), supported until 2027-11-11.');
  const r99 = await version(990001, '99.1', at('2026-06-01T12:00:00Z'));
  assert.deepEqual([r99.status, r99.detail], ['pass', 'PostgreSQL 99.1 (server_version_num 990001).']);

  // through the doctor runner: the same facts and clock reach the check
  const report = await runDoctor(doctorEnv({ settings: settings({ databaseUrl }), probePostgres: async () => facts(130022, '13.22'), now: at('2026-01-01T00:00:00Z') }), { checks: POSTGRES_CHECKS.filter((c) => c.id === 'postgres-version') });
  assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['postgres-version', 'warn']]);
  assert.equal(report.summary.warnings, 1);
});
