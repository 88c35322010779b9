// PostgreSQL for tests: the machine's server at 127.0.0.1:5432 (trust auth), one fresh database
// per test with a random name, dropped when the test ends.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
const ADMIN = { host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 3000 };

/** One statement as the admin role, on a connection of its own. */
export async function adminQuery(sql, values) {
  const client = new pg.Client(ADMIN);
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end().catch(() => {});
  }
}

/** false when the server answers, else the skip reason (with how to start it). */
export async function pgUnreachable() {
  try {
    await adminQuery('SELECT 1');
    return false;
  } catch (error) {
    return `PostgreSQL is not reachable at ${PG_HOST}:${PG_PORT} (${error.code ?? error.message}): start it with \`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\``;
  }
}

/** A fresh database; `url` for the service, `query(sql, values)` for assertions. Dropped at the end (WITH FORCE: hosts killed mid-test may leave sessions). */
export async function createDatabase(t, { prefix = 'presenter_test_', host = PG_HOST, port = PG_PORT, admin = adminQuery } = {}) {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = `postgres://postgres@${host}:${port}/${name}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  t.after(async () => {
    await pool.end().catch(() => {});
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return { name, url, pool, query: (sql, values) => pool.query(sql, values) };
}
