import type { SqliteDatabase as Database } from './sqlite-driver.js';

// Versioned, forward-only. Run once at start-up by the supervisor, before any worker exists.
// A presentation's status is not stored: it is its current version's job's, so one write per
// job transition keeps both right (jobs.last_error is the operator's detail, public_error the
// presenter's).
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'presentations, jobs, feedback',
    sql: `
      CREATE TABLE presentations (
        id               TEXT PRIMARY KEY,
        title            TEXT NOT NULL,
        content          TEXT NOT NULL,
        language         TEXT NOT NULL,
        target_minutes   REAL,
        created_at       INTEGER NOT NULL,
        current_version  INTEGER NOT NULL,
        idempotency_key  TEXT UNIQUE,
        request_hash     TEXT
      );
      CREATE INDEX presentations_created ON presentations (created_at, id);
      CREATE TABLE jobs (
        id                TEXT PRIMARY KEY,
        presentation_id   TEXT NOT NULL REFERENCES presentations (id),
        version           INTEGER NOT NULL,
        status            TEXT NOT NULL,
        attempts          INTEGER NOT NULL DEFAULT 0,
        max_attempts      INTEGER NOT NULL,
        run_at            INTEGER NOT NULL,
        lease_token       TEXT,
        lease_expires_at  INTEGER,
        lease_pid         INTEGER,
        last_error        TEXT,
        public_error      TEXT,
        created_at        INTEGER NOT NULL,
        finished_at       INTEGER,
        UNIQUE (presentation_id, version)
      );
      CREATE INDEX jobs_queued ON jobs (run_at) WHERE status = 'queued';
      CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
      CREATE TABLE feedback (
        id               TEXT PRIMARY KEY,
        presentation_id  TEXT NOT NULL REFERENCES presentations (id),
        version          INTEGER NOT NULL,
        job_id           TEXT NOT NULL REFERENCES jobs (id),
        provider         TEXT NOT NULL,
        body             TEXT NOT NULL,
        response_hash    TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        UNIQUE (presentation_id, version)
      );
      -- a presentation's status is its current version's job's
      CREATE VIEW presentation_status AS
        SELECT p.id, p.title, p.language, p.created_at, p.current_version AS version, j.attempts, j.public_error AS error,
          CASE j.status WHEN 'queued' THEN 'pending' WHEN 'running' THEN 'processing' ELSE j.status END AS status
        FROM presentations p JOIN jobs j ON j.presentation_id = p.id AND j.version = p.current_version;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Applies what is missing, each migration in its own transaction; returns the versions applied. */
export function migrate(db: Database): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  if (current > SCHEMA_VERSION) {
    throw new Error(`the database has schema version ${current}, newer than this presenter-serve knows (${SCHEMA_VERSION}); upgrade presenter-serve`);
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}

export function schemaVersion(db: Database): number {
  try {
    return (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  } catch {
    return 0;
  }
}
