import pg from 'pg';
import type { Feedback } from '../feedback/types.js';
import { backoffMs } from '../jobs/backoff.js';
import { redactDatabaseUrl } from './database-url.js';
import { migratePostgres, pgSchemaVersion, PG_SCHEMA_VERSION } from './postgres-migrations.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { newRowId } from './ids.js';
import { requestHash, toRawView, type PresentationRow, type RawPresentationView } from './rows.js';
import { IdempotencyConflictError, StoreError } from './types.js';
import type {
  ClaimedJob,
  ClaimResult,
  CompleteInput,
  CreateResult,
  ExhaustedJob,
  InputLanguage,
  NewPresentation,
  PresentationStatus,
  PresentationSummary,
  PresentationView,
  Store,
  StoreEvent,
  StoreHealth,
} from './types.js';

export { migratePostgres } from './postgres-migrations.js';

/** The channel new and released jobs are announced on; every worker of every host listens. */
export const JOBS_CHANNEL = 'presenter_jobs';

/** Seconds a client is told to wait while the database is unreachable (Retry-After). */
const UNAVAILABLE_RETRY_AFTER_S = 5;
/** A pool connection that cannot be had within this fails the request with 503, rather than hold it. */
const CONNECT_TIMEOUT_MS = 5000;
/** While LISTEN is down, runners are woken this often instead (polling). */
const FALLBACK_POLL_MS = 250;

// bigint (int8: epoch milliseconds, counts) as numbers: every value fits in 2^53.
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export interface PostgresStoreOptions {
  /** Connections of this worker's pool (database-url.ts: poolSizeFor(threads)). */
  poolSize: number;
  /** Told once per change of state (unavailable, full, recovered), for the log. */
  onEvent?: (event: StoreEvent) => void;
  /** The LISTEN connection's ups and downs, for the log. */
  onListener?: (event: { type: 'lost'; error: string; retryInMs: number } | { type: 'listening'; after: number }) => void;
}

function poolConfig(url: string, max: number): pg.PoolConfig {
  return {
    connectionString: url,
    max,
    types,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // A query that waits this long is a sick database: fail the request, don't pile up.
    statement_timeout: 30_000,
    application_name: 'presenter-serve',
  };
}

/** Runs the migrations (supervisor, before forking) on one connection; returns the versions applied. */
export async function migratePostgresUrl(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'presenter-serve migrate' });
  client.on('error', () => {}); // a connection lost while idle: the next query reports it
  await client.connect();
  try {
    return await migratePostgres(client);
  } finally {
    await client.end().catch(() => {});
  }
}

interface ClaimRow {
  id: string;
  presentation_id: string;
  version: number;
  old_status: 'queued' | 'running';
  old_attempts: number;
  max_attempts: number;
  old_run_at: number;
  old_lease: string | null;
  old_lease_expires_at: number | null;
  old_pid: number | null;
  status: 'running' | 'failed';
  lease_token: string | null;
  claimed_at: number;
  title: string;
  content: string;
  language: InputLanguage;
  target_minutes: number | null;
}

// Claims are one call of presenter_claim (postgres-migrations.ts): SKIP LOCKED, leases on the
// database's clock, a job exhausted by its expired lease failed at claim time.
const CLAIM_SQL = 'SELECT * FROM presenter_claim($1, $2, $3)';

// Completes a batch in one statement (one transaction): a job whose lease is no longer the
// caller's is left out of `fin`, so nothing is written for it. `id = ANY($1)` lets the planner
// find the few jobs by primary key instead of hashing every running job. A job given twice in
// one batch counts once (its first entry), as in SQLite, where the second finds the job done.
const COMPLETE_SQL = `
WITH input AS (
  SELECT DISTINCT ON (job_id) * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
    AS i(job_id, lease, feedback_id, provider, body, response_hash, ord)
  ORDER BY job_id, ord
),
fin AS (
  UPDATE jobs j SET status = 'done', lease_token = NULL, public_error = NULL, finished_at = presenter_now_ms()
  FROM input i WHERE j.id = ANY($1::text[]) AND j.id = i.job_id AND j.lease_token = i.lease AND j.status = 'running'
  RETURNING j.id, j.presentation_id, j.version, i.ord
),
ins AS (
  INSERT INTO feedback (id, presentation_id, version, job_id, provider, body, response_hash, created_at)
  SELECT i.feedback_id, f.presentation_id, f.version, f.id, i.provider, i.body, i.response_hash, presenter_now_ms()
  FROM fin f JOIN input i ON i.ord = f.ord
  RETURNING job_id
)
SELECT f.ord FROM fin f JOIN ins ON ins.job_id = f.id`;

const CREATE_SQL = `
WITH p AS (
  INSERT INTO presentations (id, title, content, language, target_minutes, created_at, current_version, idempotency_key, request_hash)
  VALUES ($1, $2, $3, $4, $5, presenter_now_ms(), 1, $6, $7)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, created_at
),
j AS (
  INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at)
  SELECT $8, p.id, 1, 'queued', $9, p.created_at, p.created_at FROM p
  RETURNING presentation_id
)
SELECT j.presentation_id AS id, pg_notify('${JOBS_CHANNEL}', '') IS NULL AS notified FROM j`;

const REQUEST_FEEDBACK_SQL = `
WITH b AS (UPDATE presentations SET current_version = current_version + 1 WHERE id = $1 RETURNING id, current_version),
j AS (
  INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at)
  SELECT $2, b.id, b.current_version, 'queued', $3, presenter_now_ms(), presenter_now_ms() FROM b
  RETURNING version
)
SELECT j.version, pg_notify('${JOBS_CHANNEL}', '') IS NULL AS notified FROM j`;

const GET_SQL = `
SELECT s.id, s.title, s.language, s.created_at, s.status, s.attempts, s.error,
  (SELECT f.body FROM feedback f WHERE f.presentation_id = s.id ORDER BY f.version DESC LIMIT 1) AS feedback
FROM presentation_status s WHERE s.id = $1`;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATEs that say the database cannot serve right now (not that the request is wrong), and how to say it.
const UNAVAILABLE_SQLSTATES: Record<string, string> = {
  '57P01': 'the database server is shutting down',
  '57P02': 'the database server is shutting down',
  '57P03': 'the database server is starting up',
  '53300': 'the database server has no connection slots left (max_connections)',
  '57014': 'the database did not answer within the statement timeout (30 s)',
  '55P03': 'a lock could not be had in time',
};

/** A pg or network error as a StoreError, or undefined for one that is a bug (bad SQL, a constraint). */
export function translatePgError(error: unknown): StoreError | undefined {
  if (error instanceof StoreError) return error;
  const e = error as { code?: string; message?: string };
  const message = e.message ?? String(error);
  const retry = { cause: error, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_S };
  if (e.code === '53100') return new StoreError('STORAGE_FULL', `the database server's disk is full (${message})`, { cause: error });
  const why = e.code === undefined ? undefined : UNAVAILABLE_SQLSTATES[e.code];
  if (why) return new StoreError('STORE_UNAVAILABLE', `${why} (${e.code}: ${message})`, retry);
  if ((e.code && (e.code.startsWith('08') || NETWORK_CODES.has(e.code))) || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(message)) {
    return new StoreError('STORE_UNAVAILABLE', `the database cannot be reached (${message})`, retry);
  }
  return undefined;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  /**
   * One connection for the claim loop (claims, renewals, the next wake-up) whose commits do not
   * wait for the WAL flush (synchronous_commit = off: ~0.1 ms instead of ~1.5 ms per claim here).
   * Safe: a claim lost in a database crash only puts the job back, and the completion, which does
   * wait for the flush, flushes the claim before it (the WAL is written in order); a worker
   * whose claim was lost is fenced out by its lease token.
   */
  private readonly claimPool: pg.Pool;
  private readonly display: string;
  private down: StoreError | undefined;
  private full = false;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  private listener: pg.Client | undefined;
  private listenFailures = 0;
  private listenTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly options: PostgresStoreOptions,
  ) {
    this.display = redactDatabaseUrl(url);
    this.pool = new pg.Pool(poolConfig(url, Math.max(1, options.poolSize)));
    // An idle connection dropped by the server (a restart): the pool discards it; the next query reconnects.
    this.pool.on('error', () => {});
    this.claimPool = new pg.Pool({ ...poolConfig(url, 1), options: '-c synchronous_commit=off', application_name: 'presenter-serve claim' });
    this.claimPool.on('error', () => {});
  }

  /**
   * Opens a pool and checks the schema version (the supervisor migrated it before forking). A
   * database that cannot be reached now does not fail the worker: a worker replaced during an
   * outage (a crash, a reload) would otherwise crash-loop and take the service down; it starts
   * unavailable (503, /readyz 503) and works once the database is back.
   */
  static async open(url: string, options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(url, options);
    try {
      const version = await store.run(async () => {
        const client = await store.pool.connect();
        try {
          return await pgSchemaVersion(client);
        } finally {
          client.release();
        }
      });
      if (version !== PG_SCHEMA_VERSION) {
        throw new Error(`database ${store.display} has schema version ${version}, expected ${PG_SCHEMA_VERSION}: it is migrated by the supervisor at start-up`);
      }
    } catch (error) {
      if (error instanceof StoreError && error.code === 'STORE_UNAVAILABLE') return store;
      await store.pool.end().catch(() => {});
      await store.claimPool.end().catch(() => {});
      throw error;
    }
    return store;
  }

  async createPresentation(input: NewPresentation, maxAttempts: number): Promise<CreateResult> {
    return this.run(async () => {
      const hash = requestHash(input);
      const id = newRowId();
      const r = await this.pool.query<{ id: string }>({
        name: 'create',
        text: CREATE_SQL,
        values: [id, input.title, input.content, input.language, input.targetMinutes ?? null, input.idempotencyKey ?? null, hash, newRowId(), maxAttempts],
      });
      if (r.rows[0]) return { id: r.rows[0].id, status: 'pending' as PresentationStatus, replayed: false };
      // The key was taken (ON CONFLICT waited for that insert to commit): answer with its talk.
      const existing = await this.pool.query<{ id: string; status: PresentationStatus; request_hash: string }>({
        name: 'by-key',
        text: 'SELECT s.id, s.status, p.request_hash FROM presentations p JOIN presentation_status s ON s.id = p.id WHERE p.idempotency_key = $1',
        values: [input.idempotencyKey],
      });
      const row = existing.rows[0];
      if (!row) throw new Error('an Idempotency-Key conflicted but its presentation is not there');
      if (row.request_hash !== hash) throw new IdempotencyConflictError();
      return { id: row.id, status: row.status, replayed: true };
    });
  }

  async getPresentation(id: string): Promise<PresentationView | undefined> {
    const raw = await this.getPresentationRaw(id);
    if (!raw) return undefined;
    const { feedbackJson, ...view } = raw;
    return { ...view, feedback: feedbackJson === null ? null : (JSON.parse(feedbackJson) as Feedback) };
  }

  async getPresentationRaw(id: string): Promise<RawPresentationView | undefined> {
    return this.run(async () => {
      const r = await this.pool.query<PresentationRow>({ name: 'get', text: GET_SQL, values: [id] });
      const row = r.rows[0];
      return row ? toRawView(row) : undefined;
    });
  }

  async listPresentations(limit: number, cursor: string | undefined): Promise<{ items: PresentationSummary[]; nextCursor: string | null }> {
    const { at, id } = decodeCursor(cursor);
    return this.run(async () => {
      // COLLATE "C": ids compare by bytes, as SQLite compares them, whatever the database's locale
      const r = await this.pool.query<{ id: string; title: string; language: string; created_at: number; status: PresentationStatus }>({
        name: 'list',
        text: `SELECT id, title, language, created_at, status FROM presentation_status
          WHERE (created_at, id COLLATE "C") < ($1::bigint, $2::text COLLATE "C") ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $3`,
        values: [at, id, limit + 1],
      });
      const rows = r.rows;
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((row) => ({ id: row.id, title: row.title, language: row.language, createdAt: new Date(row.created_at).toISOString(), status: row.status })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
      };
    });
  }

  async requestFeedback(id: string, maxAttempts: number): Promise<{ version: number; jobId: string } | undefined> {
    return this.run(async () => {
      const jobId = newRowId();
      const r = await this.pool.query<{ version: number }>({ name: 'request-feedback', text: REQUEST_FEEDBACK_SQL, values: [id, jobId, maxAttempts] });
      const row = r.rows[0];
      return row ? { version: row.version, jobId } : undefined;
    });
  }

  async claimJobs(n: number, pid: number, leaseMs: number): Promise<ClaimResult> {
    return this.run(async () => {
      const r = await this.claimPool.query<ClaimRow>({ name: 'claim', text: CLAIM_SQL, values: [n, leaseMs, pid] });
      const result: ClaimResult = { jobs: [], exhausted: [] };
      for (const row of r.rows) {
        const expired = row.old_status === 'running' && row.old_lease ? { previousLease: row.old_lease, previousPid: row.old_pid } : undefined;
        if (row.status === 'failed') {
          const gone: ExhaustedJob = { jobId: row.id, presentationId: row.presentation_id, version: row.version, attempt: row.old_attempts, previousLease: row.old_lease ?? '', previousPid: row.old_pid };
          result.exhausted.push(gone);
          continue;
        }
        const job: ClaimedJob = {
          jobId: row.id,
          presentationId: row.presentation_id,
          version: row.version,
          attempt: row.old_attempts + 1,
          maxAttempts: row.max_attempts,
          lease: row.lease_token ?? '',
          title: row.title,
          content: row.content,
          language: row.language,
          targetMinutes: row.target_minutes ?? undefined,
          waitedMs: Math.max(0, row.claimed_at - (expired ? (row.old_lease_expires_at ?? row.claimed_at) : row.old_run_at)),
          ...(expired ? { expired } : {}),
        };
        result.jobs.push(job);
      }
      return result;
    }, false); // an empty claim writes nothing: no sign that a full disk has space again
  }

  async renewLease(jobId: string, lease: string, leaseMs: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.claimPool.query({
        name: 'renew',
        text: `UPDATE jobs SET lease_expires_at = presenter_now_ms() + $3 WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
        values: [jobId, lease, leaseMs],
      });
      return r.rowCount === 1;
    });
  }

  async completeJobs(inputs: readonly CompleteInput[]): Promise<boolean[]> {
    if (inputs.length === 0) return [];
    return this.run(async () => {
      const r = await this.pool.query<{ ord: number }>({
        name: 'complete',
        text: COMPLETE_SQL,
        values: [
          inputs.map((i) => i.jobId),
          inputs.map((i) => i.lease),
          inputs.map((i) => i.feedbackId),
          inputs.map((i) => i.provider),
          inputs.map((i) => i.feedbackJson),
          inputs.map((i) => i.responseHash),
        ],
      });
      const done = new Set(r.rows.map((row) => row.ord));
      return inputs.map((_, i) => done.has(i + 1));
    });
  }

  async failJob(jobId: string, lease: string, error: { detail: string; public: string }, retryInMs: number | null): Promise<boolean> {
    return this.run(async () => {
      const r =
        retryInMs === null
          ? await this.pool.query({
              name: 'fail-final',
              text: `UPDATE jobs SET status = 'failed', lease_token = NULL, last_error = $3, public_error = $4, finished_at = presenter_now_ms()
                WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
              values: [jobId, lease, error.detail, error.public],
            })
          : await this.pool.query({
              name: 'retry',
              text: `UPDATE jobs SET status = 'queued', lease_token = NULL, lease_expires_at = NULL, run_at = presenter_now_ms() + $5, last_error = $3, public_error = $4
                WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
              values: [jobId, lease, error.detail, error.public, retryInMs],
            });
      return r.rowCount === 1;
    });
  }

  async releaseJob(jobId: string, lease: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.pool.query({
        name: 'release',
        text: `WITH r AS (UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_token = NULL, lease_expires_at = NULL, run_at = presenter_now_ms()
            WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id)
          SELECT pg_notify('${JOBS_CHANNEL}', '') IS NULL AS notified FROM r`,
        values: [jobId, lease],
      });
      return r.rowCount === 1;
    });
  }

  async nextWakeInMs(): Promise<number | null> {
    return this.run(async () => {
      // measured by the database's clock, as leases are: a host whose clock is off still wakes on time
      const r = await this.claimPool.query<{ wait: number | null }>({
        name: 'next-wake',
        text: `SELECT (SELECT min(t) FROM (SELECT min(run_at) AS t FROM jobs WHERE status = 'queued'
            UNION ALL SELECT min(lease_expires_at) FROM jobs WHERE status = 'running') x) - presenter_now_ms() AS wait`,
      });
      const wait = r.rows[0]?.wait ?? null;
      return wait === null ? null : Math.max(0, wait);
    });
  }

  async queueDepth(): Promise<number> {
    return this.run(async () => {
      const r = await this.pool.query<{ n: number }>({ name: 'depth', text: `SELECT count(*) AS n FROM jobs WHERE status = 'queued'` });
      return r.rows[0]?.n ?? 0;
    });
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, code: 'STORE_UNAVAILABLE', reason: 'the store is closed' };
    try {
      await this.run(() => this.pool.query({ name: 'ping', text: 'SELECT 1' }));
      return { ok: true };
    } catch (error) {
      const e = translatePgError(error);
      return { ok: false, code: e?.code ?? 'STORE_UNAVAILABLE', reason: e?.message ?? (error as Error).message };
    }
  }

  onJobQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) void this.listen();
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.listenTimer);
    clearInterval(this.pollTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end().catch(() => {});
    await this.claimPool.end().catch(() => {});
  }

  private wakeAll(): void {
    for (const listener of this.listeners) listener();
  }

  /**
   * One LISTEN connection per store (per worker). Lost, it is opened again with backoff
   * (100 ms … 30 s) and the runners are woken every 250 ms meanwhile, so a job queued on another
   * host still starts while wake-ups cannot travel.
   */
  private async listen(): Promise<void> {
    if (this.closed || this.listener) return;
    const client = new pg.Client({ connectionString: this.url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, application_name: 'presenter-serve listen' });
    this.listener = client;
    let lost = false;
    const onLost = (error: unknown): void => {
      if (lost || this.closed) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => {});
      this.listenFailures += 1;
      const retryInMs = backoffMs(this.listenFailures, { baseMs: 100, capMs: 30_000 });
      this.options.onListener?.({ type: 'lost', error: error instanceof Error ? error.message : String(error), retryInMs });
      this.pollTimer ??= setInterval(() => this.wakeAll(), FALLBACK_POLL_MS);
      this.pollTimer.unref();
      this.listenTimer = setTimeout(() => void this.listen(), retryInMs);
      this.listenTimer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('the LISTEN connection was closed')));
    client.on('notification', () => this.wakeAll());
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
    } catch (error) {
      onLost(error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    if (this.listenFailures > 0) this.options.onListener?.({ type: 'listening', after: this.listenFailures });
    this.listenFailures = 0;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    // Jobs queued while nobody listened announced themselves to no one: look now.
    this.wakeAll();
  }

  /**
   * Runs one operation, turning pg's errors into StoreError: the database unreachable is
   * STORE_UNAVAILABLE (503 with Retry-After; the pool reconnects by itself), a full disk on the
   * server STORAGE_FULL. Each change of state is told once (onEvent), not per request.
   */
  private async run<T>(operation: () => Promise<T>, recovers = true): Promise<T> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'the store is closed (the worker is stopping)');
    // Only an operation that began after the outage was seen proves the database is back: one
    // in flight since before may still succeed afterwards, and would announce a recovery that is
    // none (then a second `unavailable`: seen under load on Node 24, test/pg-outage.test.js).
    const downWhenStarted = this.down;
    try {
      const result = await operation();
      if (this.down && this.down === downWhenStarted) {
        this.down = undefined;
        this.options.onEvent?.({ type: 'recovered', code: 'STORE_UNAVAILABLE' });
      }
      if (recovers && this.full) {
        this.full = false;
        this.options.onEvent?.({ type: 'recovered', code: 'STORAGE_FULL' });
      }
      return result;
    } catch (error) {
      const translated = translatePgError(error);
      if (!translated) throw error;
      if (translated.code === 'STORAGE_FULL') {
        if (!this.full) {
          this.full = true;
          this.options.onEvent?.({ type: 'full', code: 'STORAGE_FULL', reason: translated.message });
        }
      } else if (!this.down) {
        this.down = translated;
        this.options.onEvent?.({ type: 'unavailable', code: 'STORE_UNAVAILABLE', reason: translated.message });
      }
      throw translated;
    }
  }
}
