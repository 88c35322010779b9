// The store backends behind one shape, for the contract suite (test/store-contract.test.js):
// SQLite on a temp data dir (two store instances on one file are two workers), once through each
// driver (better-sqlite3, node:sqlite: store/sqlite-driver.ts), and PostgreSQL on
// a database made for the test file with a random name, dropped after. Each backend also gives
// raw SQL on its database, so a test can check what the store interface cannot show (a second
// feedback row refused by the database itself, the jobs' columns after each step).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { makeDataDir, ROOT } from './cli.js';

const PG_HOST = '127.0.0.1';
const PG_PORT = 5432;
const POSTGRES_JS = join(ROOT, 'dist/store/postgres.js');
const DRIVER_JS = join(ROOT, 'dist/store/sqlite-driver.js');

/** Opens one store on a target made by a backend; also used inside worker threads (no `t` there). */
export async function openStore(spec, options = {}) {
  if (spec.kind === 'sqlite') {
    const { SqliteStore } = await import('../../dist/store/sqlite.js');
    return new SqliteStore(spec.file, { ...options, ...(spec.driver ? { driver: spec.driver } : {}) });
  }
  const { PostgresStore } = await import(pathToFileURL(POSTGRES_JS).href);
  return PostgresStore.open(spec.url, { poolSize: 4, ...options });
}

/** Creates or upgrades the schema on a target; returns the versions applied. */
export async function migrateTarget(spec) {
  if (spec.kind === 'sqlite') {
    const { migrateDatabase } = await import('../../dist/store/sqlite.js');
    return migrateDatabase(spec.file, spec.driver);
  }
  const { migratePostgresUrl } = await import(pathToFileURL(POSTGRES_JS).href);
  return migratePostgresUrl(spec.url);
}

// `$1, $2 …` in the order given (the only way the suite writes them) become SQLite's `?`.
const toSqlite = (sql) => sql.replace(/\$\d+/g, '?');

/** A raw connection through the store's own driver adapter, with `driver` (default: this process's choice). */
export async function openSqliteRaw(file, driver, options = {}) {
  const { openSqlite } = await import(pathToFileURL(DRIVER_JS).href);
  return openSqlite(file, { timeout: 5000, ...options, ...(driver ? { driver } : {}) });
}

async function sqliteRaw(file, driver) {
  const db = await openSqliteRaw(file, driver);
  return {
    dialect: 'sqlite',
    async query(sql, params = []) {
      const stmt = db.prepare(toSqlite(sql));
      // node:sqlite's all() runs any statement; better-sqlite3's refuses one that returns no rows
      if (driver === 'node:sqlite' || stmt.reader) return stmt.all(...params);
      stmt.run(...params);
      return [];
    },
    /** A write committed before this returns, synchronously: from inside a store's call (a test's hook). */
    commitNow(sql, params = []) {
      db.prepare(toSqlite(sql)).run(...params);
    },
    /** The jobs as the invariants see them: `live` is a lease whose expiry is still ahead. */
    async jobs() {
      const rows = db
        .prepare(`SELECT id, presentation_id, version, status, attempts, max_attempts, lease_token, lease_pid, lease_expires_at > ? AS live, last_error, public_error FROM jobs`)
        .all(Date.now());
      return rows.map(normalizeJob);
    },
    async feedbackRows() {
      return db.prepare('SELECT presentation_id, version, job_id FROM feedback').all().map((r) => ({ presentationId: r.presentation_id, version: r.version, jobId: r.job_id }));
    },
    /** Inserts a copy of an existing feedback row under a new id: the UNIQUE key must refuse it. */
    async duplicateFeedback(presentationId, version) {
      db.prepare(
        `INSERT INTO feedback (id, presentation_id, version, job_id, provider, body, response_hash, created_at)
         SELECT ?, presentation_id, version, job_id, provider, body, response_hash, created_at FROM feedback WHERE presentation_id = ? AND version = ?`,
      ).run(`dup-${randomBytes(6).toString('hex')}`, presentationId, version);
    },
    async close() {
      db.close();
    },
  };
}

function pgRaw(url) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // dropped by DROP DATABASE … WITH (FORCE) after a test that failed midway
  let connected;
  const ready = () => (connected ??= client.connect());
  return {
    dialect: 'postgres',
    async query(sql, params = []) {
      await ready();
      return (await client.query(sql, params)).rows;
    },
    async jobs() {
      await ready();
      const { rows } = await client.query(
        `SELECT id::text, presentation_id::text, version, status, attempts, max_attempts, lease_token, lease_pid,
           COALESCE(lease_expires_at > presenter_now_ms(), false) AS live, last_error, public_error FROM jobs`,
      );
      return rows.map(normalizeJob);
    },
    async feedbackRows() {
      await ready();
      const { rows } = await client.query('SELECT presentation_id::text, version, job_id::text FROM feedback');
      return rows.map((r) => ({ presentationId: r.presentation_id, version: Number(r.version), jobId: r.job_id }));
    },
    async duplicateFeedback(presentationId, version) {
      await ready();
      // column-agnostic: copy the row, give it a new id (uuid or text alike), insert it again
      await client.query('BEGIN');
      try {
        await client.query('CREATE TEMP TABLE dup_feedback ON COMMIT DROP AS SELECT * FROM feedback WHERE presentation_id::text = $1 AND version = $2', [presentationId, version]);
        await client.query('UPDATE dup_feedback SET id = gen_random_uuid()');
        await client.query('INSERT INTO feedback SELECT * FROM dup_feedback');
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    async close() {
      if (connected) await client.end();
    },
  };
}

function normalizeJob(r) {
  return {
    id: r.id,
    presentationId: r.presentation_id,
    version: Number(r.version),
    status: r.status,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    leaseToken: r.lease_token,
    leasePid: r.lease_pid === null ? null : Number(r.lease_pid),
    live: Boolean(r.live),
    lastError: r.last_error,
    publicError: r.public_error,
  };
}

/** SQLite through one driver; `name` is `sqlite` for better-sqlite3 (the default) and `sqlite (node:sqlite)`. */
function sqliteBackend(driver, skip) {
  return {
    name: driver === 'better-sqlite3' ? 'sqlite' : `sqlite (${driver})`,
    kind: 'sqlite',
    driver,
    skip,
    async setup() {},
    async teardown() {},
    /** A target with no schema yet. */
    async freshTarget(t) {
      return { kind: 'sqlite', driver, file: join(makeDataDir(t), 'presenter.db') };
    },
    /** A migrated, empty database with `instances` stores on it (workers) and raw SQL. */
    async open(t, instances = 2, options = {}) {
      const spec = await this.freshTarget(t);
      await migrateTarget(spec);
      return openAll(t, spec, instances, options, await sqliteRaw(spec.file, driver));
    },
  };
}

/**
 * Why a driver cannot run in this process, or false. node:sqlite needs Node 22.13+: on Node 20
 * its half of the suite skips, and CI runs it in the Node 24 line of scripts/test-matrix.sh.
 * better-sqlite3 skips where node_modules was built for another Node (a cached Node 24 running
 * this checkout's Node 20 build), which is itself the case the fallback exists for.
 */
export async function sqliteDriverSkip(driver) {
  const { driverFacts, betterSqlite3Problem } = await import(pathToFileURL(DRIVER_JS).href);
  const facts = driverFacts(driver);
  if (driver === 'node:sqlite') {
    return facts.nodeSqlite.available ? false : `node:sqlite needs Node 22.13 or newer (this is ${process.version}); CI runs this half in the Node 24 line (\`bash scripts/test-matrix.sh 24\`); here: PATH=~/.cache/presenter-serve/node-24/bin:$PATH node --test <file>`;
  }
  return facts.betterSqlite3.sqlite ? false : `${betterSqlite3Problem(facts.betterSqlite3)} on ${process.version}; the node:sqlite half runs instead (npm rebuild better-sqlite3 with this Node for both)`;
}

async function openAll(t, spec, instances, options, raw) {
  const stores = [];
  t.after(async () => {
    for (const s of stores) await s.close();
    await raw.close();
  });
  for (let i = 0; i < instances; i++) stores.push(await openStore(spec, options));
  return { spec, stores, raw };
}

/** The first role that the local server lets in, or why none did. */
async function probePostgres() {
  const reasons = [];
  for (const user of ['postgres', 'root']) {
    for (const database of ['postgres', 'test']) {
      const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user, database, connectionTimeoutMillis: 2000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return { user, database };
      } catch (error) {
        if (!reasons.includes(error.message)) reasons.push(error.message);
        await client.end().catch(() => {});
      }
    }
  }
  return { reason: reasons.join('; ') };
}

function postgresBackend(admin, skip) {
  const made = [];
  const urlOf = (name) => `postgres://${encodeURIComponent(admin.user)}@${PG_HOST}:${PG_PORT}/${name}`;
  async function adminQuery(sql) {
    const client = new pg.Client({ host: PG_HOST, port: PG_PORT, user: admin.user, database: admin.database });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  async function createDatabase() {
    const name = `presenter_contract_${randomBytes(6).toString('hex')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    made.push(name);
    return name;
  }
  let fileDb;
  return {
    name: 'postgres',
    skip,
    /** One database for the test file, migrated once; each test empties its tables. */
    async setup() {
      fileDb = await createDatabase();
      await migrateTarget({ kind: 'postgres', url: urlOf(fileDb) });
    },
    async teardown() {
      for (const name of made.splice(0)) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    async freshTarget() {
      return { kind: 'postgres', url: urlOf(await createDatabase()) };
    },
    async open(t, instances = 2, options = {}) {
      const spec = { kind: 'postgres', url: urlOf(fileDb) };
      const raw = pgRaw(spec.url);
      const tables = await raw.query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE '%migration%'`);
      if (tables.length > 0) await raw.query(`TRUNCATE ${tables.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
      return openAll(t, spec, instances, options, raw);
    },
  };
}

/** Both backends; PostgreSQL carries a skip reason when the server or the built store is missing. */
export async function storeBackends() {
  const admin = await probePostgres();
  let skip = false;
  if (!admin.user) skip = `PostgreSQL is not reachable at ${PG_HOST}:${PG_PORT} as postgres or root (${admin.reason}); start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\``;
  else if (!existsSync(POSTGRES_JS)) skip = 'the PostgreSQL store is not built yet (dist/store/postgres.js is missing): run `npm run build` once src/store/postgres.ts exists';
  return [sqliteBackend('better-sqlite3', await sqliteDriverSkip('better-sqlite3')), sqliteBackend('node:sqlite', await sqliteDriverSkip('node:sqlite')), postgresBackend(admin, skip)];
}
