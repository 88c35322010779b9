import type pg from 'pg';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from './migrations.js';

// The PostgreSQL schema: the same tables and the same rules as SQLite's (migrations.ts), so one
// contract test suite holds for both. Times are epoch milliseconds (bigint) from the database's
// clock, `presenter_now_ms()`: leases must not depend on which host's clock is right.
export const PG_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'presentations, jobs, feedback',
    sql: `
      CREATE FUNCTION presenter_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
        $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;
      CREATE TABLE presentations (
        id               text PRIMARY KEY,
        title            text NOT NULL,
        content          text NOT NULL,
        language         text NOT NULL,
        target_minutes   double precision,
        created_at       bigint NOT NULL,
        current_version  integer NOT NULL,
        idempotency_key  text UNIQUE,
        request_hash     text
      );
      CREATE INDEX presentations_created ON presentations (created_at, id);
      CREATE TABLE jobs (
        id                text PRIMARY KEY,
        presentation_id   text NOT NULL REFERENCES presentations (id),
        version           integer NOT NULL,
        status            text NOT NULL,
        attempts          integer NOT NULL DEFAULT 0,
        max_attempts      integer NOT NULL,
        run_at            bigint NOT NULL,
        lease_token       text,
        lease_expires_at  bigint,
        lease_pid         integer,
        last_error        text,
        public_error      text,
        created_at        bigint NOT NULL,
        finished_at       bigint,
        UNIQUE (presentation_id, version)
      );
      CREATE INDEX jobs_queued ON jobs (run_at) WHERE status = 'queued';
      CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
      CREATE TABLE feedback (
        id               text PRIMARY KEY,
        presentation_id  text NOT NULL REFERENCES presentations (id),
        version          integer NOT NULL,
        job_id           text NOT NULL REFERENCES jobs (id),
        provider         text NOT NULL,
        body             text NOT NULL,
        response_hash    text NOT NULL,
        created_at       bigint NOT NULL,
        UNIQUE (presentation_id, version)
      );
      CREATE VIEW presentation_status AS
        SELECT p.id, p.title, p.language, p.created_at, p.current_version AS version, j.attempts, j.public_error AS error,
          CASE j.status WHEN 'queued' THEN 'pending' WHEN 'running' THEN 'processing' ELSE j.status END AS status
        FROM presentations p JOIN jobs j ON j.presentation_id = p.id AND j.version = p.current_version;

      -- Claims up to n due jobs for a worker: taken-over leases first, then queued jobs, each
      -- locked with SKIP LOCKED (claimers on any host take different rows and never wait for one
      -- another) and updated by its primary key. A job whose lease expired on its last attempt is
      -- failed instead (status 'failed' in the result). Leases run on this database's clock.
      -- A function rather than one statement: its plans use the indexes for any n (a CTE's LIMIT $1
      -- is estimated at a tenth of the table, and the planner then hash-joins the whole table).
      CREATE FUNCTION presenter_claim(n integer, lease_ms bigint, pid integer)
      RETURNS TABLE (id text, presentation_id text, version integer, status text, lease_token text, claimed_at bigint,
        old_status text, old_attempts integer, max_attempts integer, old_run_at bigint, old_lease text,
        old_lease_expires_at bigint, old_pid integer, title text, content text, language text, target_minutes double precision)
      LANGUAGE plpgsql AS $$
      DECLARE
        now_ms bigint := presenter_now_ms();
        taken integer := 0;
        r record;
        token text;
      BEGIN
        FOR r IN SELECT j.* FROM jobs j WHERE j.status = 'running' AND j.lease_expires_at <= now_ms
          ORDER BY j.lease_expires_at LIMIT n FOR UPDATE OF j SKIP LOCKED LOOP
          taken := taken + 1;
          IF r.attempts >= r.max_attempts THEN
            UPDATE jobs SET status = 'failed', lease_token = NULL, finished_at = now_ms,
              last_error = 'the worker (pid ' || coalesce(r.lease_pid::text, '?') || ') running the last attempt stopped before finishing (its lease expired)',
              public_error = 'The server processing this feedback stopped during the last attempt.'
            WHERE jobs.id = r.id;
            token := NULL;
          ELSE
            token := gen_random_uuid()::text;
            UPDATE jobs SET attempts = r.attempts + 1, lease_token = token, lease_expires_at = now_ms + lease_ms, lease_pid = pid WHERE jobs.id = r.id;
          END IF;
          RETURN QUERY SELECT r.id, r.presentation_id, r.version, CASE WHEN token IS NULL THEN 'failed' ELSE 'running' END, token, now_ms,
            r.status, r.attempts, r.max_attempts, r.run_at, r.lease_token, r.lease_expires_at, r.lease_pid,
            p.title, p.content, p.language, p.target_minutes FROM presentations p WHERE p.id = r.presentation_id;
        END LOOP;
        IF taken >= n THEN RETURN; END IF;
        FOR r IN SELECT j.* FROM jobs j WHERE j.status = 'queued' AND j.run_at <= now_ms
          ORDER BY j.run_at LIMIT n - taken FOR UPDATE OF j SKIP LOCKED LOOP
          token := gen_random_uuid()::text;
          UPDATE jobs SET status = 'running', attempts = r.attempts + 1, lease_token = token, lease_expires_at = now_ms + lease_ms, lease_pid = pid
          WHERE jobs.id = r.id;
          RETURN QUERY SELECT r.id, r.presentation_id, r.version, 'running'::text, token, now_ms,
            r.status, r.attempts, r.max_attempts, r.run_at, r.lease_token, r.lease_expires_at, r.lease_pid,
            p.title, p.content, p.language, p.target_minutes FROM presentations p WHERE p.id = r.presentation_id;
        END LOOP;
      END
      $$;
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
// The two schemas move together: a version means the same tables on both engines.
if (PG_SCHEMA_VERSION !== SQLITE_SCHEMA_VERSION) throw new Error('the PostgreSQL and SQLite schema versions differ');

/** Session advisory lock key of migrations: 'pres' in ASCII. Every host's supervisor takes it, one migrates. */
export const MIGRATION_LOCK_KEY = 0x70726573;

/**
 * Applies the missing migrations, each in its own transaction, under a session advisory lock:
 * hosts starting together wait for the first, then find nothing left to do. Returns the versions
 * this call applied.
 */
export async function migratePostgres(client: pg.ClientBase): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const current = await pgSchemaVersion(client);
    if (current > PG_SCHEMA_VERSION) {
      throw new Error(`the database has schema version ${current}, newer than this presenter-serve knows (${PG_SCHEMA_VERSION}); upgrade presenter-serve`);
    }
    const applied: number[] = [];
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}

/** The schema version of a database, 0 when it was never migrated. */
export async function pgSchemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number }>('SELECT COALESCE(MAX(version), 0)::integer AS v FROM schema_migrations');
  return r.rows[0]?.v ?? 0;
}
