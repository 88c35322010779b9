import { statSync } from 'node:fs';
import type { Feedback } from '../feedback/types.js';
import { migrate, schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { openSqlite, type SqliteDatabase, type SqliteDriverName } from './sqlite-driver.js';
import { translateSqliteError } from './sqlite-errors.js';
import { IdempotencyConflictError, StoreError } from './types.js';
import type {
  ClaimResult,
  CompleteInput,
  Claimer,
  CreateResult,
  InputLanguage,
  NewPresentation,
  PresentationStatus,
  PresentationSummary,
  PresentationView,
  Store,
  StoreEvent,
  StoreHealth,
} from './types.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { newLeaseToken, newRowId } from './ids.js';
import { requestHash, toRawView, type PresentationRow, type RawPresentationView } from './rows.js';

// Kept for imports of the old place; new code imports it from store/types.ts.
export { IdempotencyConflictError };

interface CandidateRow {
  id: string;
  status: 'queued' | 'running';
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_token: string | null;
  lease_expires_at: number | null;
  lease_pid: number | null;
  presentation_id: string;
  version: number;
}

/** A create waiting for its group commit: the talk as sent (hashed) and as it is stored (well-formed). */
interface PendingCreate {
  input: NewPresentation;
  stored: NewPresentation;
  maxAttempts: number;
}

const BUSY_TIMEOUT_MS = 5000;
const WAL_FILE_LIMIT_BYTES = 16 * 1024 * 1024;
/**
 * Hands a claim made inside a create or completion transaction to the runner. The transaction has
 * committed: a throw from the runner must not turn it into a failed create or completion (which
 * would be retried, or answered 500, though stored). It is thrown again outside, as the bug it is.
 */
function deliver(claimer: Claimer, claimed: ClaimResult): void {
  try {
    claimer.claimed(claimed);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Talk text (UTF-16 units) one group commit of creates holds at most: see flushCreates. */
const CREATE_BATCH_CHARS = 256 * 1024;
/** SQLite's default wal_autocheckpoint, restored when the checkpoint thread fails. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
// The polled bodies kept between writes (presentationBody): at most this many, this many bytes in
// all (then all are dropped and read again), none larger than maxBody (a model's long feedback).
const BODY_CACHE = { entries: 10_000, bytes: 16 * 1024 * 1024, maxBody: 256 * 1024 };

/** `driver`: this process's choice when not given (store/sqlite-driver.ts). */
export function openDatabase(file: string, driver?: SqliteDriverName): SqliteDatabase {
  const db = openSqlite(file, { timeout: BUSY_TIMEOUT_MS, ...(driver ? { driver } : {}) });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // the log restarts from its beginning after a complete checkpoint; this bounds what its file
  // keeps of a burst (with checkpoints in a thread it had reached 19 MiB after 6 s of load)
  db.pragma(`journal_size_limit = ${WAL_FILE_LIMIT_BYTES}`);
  return db;
}

/**
 * Creates or upgrades the schema; the supervisor calls this once before forking workers, after
 * a `PRAGMA quick_check`: a damaged file must stop the start, not fail the first POSTs.
 */
export function migrateDatabase(file: string, driver?: SqliteDriverName): number[] {
  const db = openDatabase(file, driver);
  try {
    assertIntact(db, file);
    return migrate(db);
  } catch (error) {
    throw translateSqliteError(error, file)?.error ?? error;
  } finally {
    db.close();
  }
}

export const CORRUPT_FIX = (file: string): string =>
  `Stop the server and restore ${file} from a backup, or salvage what is readable with \`sqlite3 ${file} ".recover" | sqlite3 recovered.db\` and put recovered.db in its place.`;

/** Throws STORE_CORRUPT naming the file and the first problem when quick_check finds one. */
export function assertIntact(db: SqliteDatabase, file: string): void {
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((r) => r !== 'ok');
  if (problems.length > 0) throw new StoreError('STORE_CORRUPT', `the database file ${file} is damaged (quick_check: ${problems.join('; ').slice(0, 300)})`);
}

export interface SqliteStoreOptions {
  /** Told once per change of state (unusable, full, recovered), for the log. */
  onEvent?: (event: StoreEvent) => void;
  /** The SQLite driver; default: this process's choice (store/sqlite-driver.ts). */
  driver?: SqliteDriverName;
  /** Checkpoint the WAL in a thread of its own instead of inside commits (store/wal-checkpointer.ts). */
  checkpointThread?: boolean;
  /**
   * The checkpoint thread failed (`failed`: checkpoints run inside commits again) or one checkpoint
   * failed (`error`); `known`: the store has already said why (store.unusable, store.full).
   */
  onCheckpointer?: (event: { type: 'failed' | 'error'; reason: string; code?: string; known?: boolean }) => void;
  /** Bounds of the polled bodies kept between writes (default BODY_CACHE; tests set small ones). */
  bodyCache?: { entries: number; bytes: number; maxBody: number };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly stmt;
  private readonly claimTx;
  private readonly completeTx;
  private readonly createTx;
  private readonly pendingCreates: (PendingCreate & { resolve: (result: CreateResult) => void; reject: (error: unknown) => void })[] = [];
  /** (dev, ino) of the file at open: a different answer later means the file was deleted or replaced. */
  private readonly identity: { dev: number; ino: number };
  private unusable: Extract<StoreHealth, { ok: false }> | undefined;
  private full = false;
  private claimer: Claimer | undefined;
  private readonly checkpointer: WalCheckpointer | undefined;
  /**
   * The polled bodies read since the database last changed (presentationBody): valid while
   * SQLite's data_version is `bodiesVersion`, seen before any of them was read (it changes when
   * another connection commits: another worker, a CLI command, any tool), and this store has
   * changed no row since (guard drops them after every write of its own that changed one,
   * committed or not). Bounded in entries and bytes.
   */
  private readonly bodies = new Map<string, Uint8Array>();
  private bodiesBytes = 0;
  private bodiesVersion: number | undefined;

  constructor(
    private readonly file: string,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.db = openDatabase(file, options.driver);
    const st = statSync(file);
    this.identity = { dev: st.dev, ino: st.ino };
    const version = schemaVersion(this.db);
    if (version !== SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`database ${file} has schema version ${version}, expected ${SCHEMA_VERSION}: it is migrated by the supervisor at start-up`);
    }
    const db = this.db;
    if (options.checkpointThread) {
      const onCheckpointer = options.onCheckpointer;
      this.checkpointer = new WalCheckpointer(file, options.driver, {
        ready: () => {
          if (db.open) db.pragma('wal_autocheckpoint = 0');
        },
        failed: (reason) => {
          if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
          onCheckpointer?.({ type: 'failed', reason });
        },
        // a checkpoint into a deleted or full database fails as the store's own writes do, which
        // have said so already: the event says it is known (then a debug line, not a warning). The
        // checkpoint may be the first to meet a deleted or replaced file (it runs after a commit):
        // the store looks first, so that it says so (store.unusable) and the checkpoint is known.
        error: (code, reason) => {
          try {
            this.checkIdentity();
          } catch {
            // unusable now: said once, by markUnusable
          }
          onCheckpointer?.({ type: 'error', code, reason, known: this.unusable !== undefined || this.full });
        },
      });
    }
    // Two forms keep SQLite from compiling a statement again at every run, which it does when its
    // plan may depend on a bound value (test/sqlite-statements.test.js): `LIMIT @n + 0`, not
    // `LIMIT @n` (the claim's query: 23 µs instead of 4, SQLite 3.53 and 3.54), and `= (SELECT ?)`,
    // not `= ?`, where a join follows the bound column (SQLite 3.54, node:sqlite of Node 24: the
    // poll's query 24–29 µs instead of 6; the same plan, the same index searches).
    this.stmt = {
      byKey: db.prepare(`SELECT s.id, s.status, p.request_hash FROM presentations p JOIN presentation_status s ON s.id = p.id WHERE p.idempotency_key = (SELECT ?)`),
      insertPresentation: db.prepare(`INSERT INTO presentations (id, title, content, language, target_minutes, created_at, current_version, idempotency_key, request_hash)
        VALUES (@id, @title, @content, @language, @targetMinutes, @now, 1, @key, @hash)`),
      insertJob: db.prepare(`INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at)
        VALUES (@id, @presentationId, @version, 'queued', @maxAttempts, @now, @now)`),
      get: db.prepare(`SELECT s.id, s.title, s.language, s.created_at, s.status, s.attempts, s.error,
          (SELECT f.body FROM feedback f WHERE f.presentation_id = s.id ORDER BY f.version DESC LIMIT 1) AS feedback
        FROM presentation_status s WHERE s.id = (SELECT ?)`),
      // the same row as \`get\`, as the route's whole JSON body, made by SQLite and read as bytes:
      // the fast read path's (presentationBody). Key order and escaping equal JSON.stringify's
      // (test/store-contract). A BLOB, not TEXT: the body goes to the socket as it is stored
      // (UTF-8), never decoded into a JS string and encoded again (a feedback with one non-Latin-1
      // character, as the local analyser's dashes, made that a two-byte string: ~11 % of a
      // worker's CPU under a GET-only load went to these conversions).
      getBody: db.prepare(`SELECT CAST(rtrim(json_object('id', s.id, 'title', s.title, 'language', s.language,
            'createdAt', strftime('%Y-%m-%dT%H:%M:%fZ', s.created_at / 1000.0, 'unixepoch'), 'status', s.status, 'attempts', s.attempts), '}')
          || CASE WHEN s.error IS NULL THEN '' ELSE ',"error":' || json_quote(s.error) END
          || ',"feedback":' || COALESCE((SELECT f.body FROM feedback f WHERE f.presentation_id = s.id ORDER BY f.version DESC LIMIT 1), 'null') || '}' AS BLOB) AS body
        FROM presentation_status s WHERE s.id = (SELECT ?)`),
      list: db.prepare(`SELECT id, title, language, created_at, status FROM presentation_status
        WHERE (created_at, id) < (@at, @id) ORDER BY created_at DESC, id DESC LIMIT @limit + 0`),
      bumpVersion: db.prepare(`UPDATE presentations SET current_version = current_version + 1 WHERE id = ? RETURNING current_version AS version`),
      candidates: db.prepare(`SELECT j.id, j.status, j.attempts, j.max_attempts, j.run_at, j.lease_token, j.lease_expires_at, j.lease_pid, j.presentation_id, j.version
        FROM jobs j WHERE j.status = 'queued' AND j.run_at <= @now
        UNION ALL
        SELECT j.id, j.status, j.attempts, j.max_attempts, j.run_at, j.lease_token, j.lease_expires_at, j.lease_pid, j.presentation_id, j.version
        FROM jobs j WHERE j.status = 'running' AND j.lease_expires_at <= @now
        ORDER BY 5 LIMIT @n + 0`),
      lease: db.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_token = @lease, lease_expires_at = @expires, lease_pid = @pid
        WHERE id = @id`),
      exhaust: db.prepare(`UPDATE jobs SET status = 'failed', lease_token = NULL, last_error = @error, public_error = @publicError, finished_at = @now WHERE id = @id`),
      presentationFor: db.prepare('SELECT title, content, language, target_minutes FROM presentations WHERE id = ?'),
      renew: db.prepare(`UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND lease_token = @lease AND status = 'running'`),
      finish: db.prepare(`UPDATE jobs SET status = 'done', lease_token = NULL, public_error = NULL, finished_at = @now WHERE id = @id AND lease_token = @lease AND status = 'running'
        RETURNING presentation_id, version`),
      insertFeedback: db.prepare(`INSERT INTO feedback (id, presentation_id, version, job_id, provider, body, response_hash, created_at)
        VALUES (@id, @presentationId, @version, @jobId, @provider, @body, @hash, @now)`),
      retry: db.prepare(`UPDATE jobs SET status = 'queued', lease_token = NULL, lease_expires_at = NULL, run_at = @runAt, last_error = @error, public_error = @publicError
        WHERE id = @id AND lease_token = @lease AND status = 'running'`),
      failFinal: db.prepare(`UPDATE jobs SET status = 'failed', lease_token = NULL, last_error = @error, public_error = @publicError, finished_at = @now
        WHERE id = @id AND lease_token = @lease AND status = 'running'`),
      release: db.prepare(`UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_token = NULL, lease_expires_at = NULL, run_at = @now
        WHERE id = @id AND lease_token = @lease AND status = 'running'`),
      anyDue: db.prepare(`SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND run_at <= @now)
        OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running' AND lease_expires_at <= @now) AS due`),
      nextDue: db.prepare(`SELECT MIN(t) AS t FROM (SELECT MIN(run_at) AS t FROM jobs WHERE status = 'queued'
        UNION ALL SELECT MIN(lease_expires_at) FROM jobs WHERE status = 'running')`),
      depth: db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'`),
      ping: db.prepare('SELECT 1 AS ok'),
      dataVersion: db.prepare('PRAGMA data_version'),
      totalChanges: db.prepare('SELECT total_changes() AS n'),
    };

    this.claimTx = db.transaction((n: number, pid: number, leaseMs: number): ClaimResult => this.claimRows(n, pid, leaseMs));
    this.completeTx = db.transaction((inputs: readonly CompleteInput[], claim: { n: number; pid: number; leaseMs: number } | undefined) => {
      const results = inputs.map((input) => this.completeOne(input));
      // the slots these jobs freed, claimed again in the same transaction
      return { results, claimed: claim ? this.claimRows(claim.n, claim.pid, claim.leaseMs) : undefined };
    });
    this.createTx = db.transaction((batch: readonly PendingCreate[], claim: { n: number; pid: number; leaseMs: number } | undefined) => {
      const results = batch.map((item): CreateResult | IdempotencyConflictError => {
        try {
          return this.createOne(item);
        } catch (error) {
          if (error instanceof IdempotencyConflictError) return error;
          throw error;
        }
      });
      // the runner's free slots, claimed in this transaction (the new jobs' pages are dirty already)
      if (!claim) return { results, claimed: undefined };
      const known = new Map<string, NewPresentation>();
      results.forEach((result, i) => {
        if (!(result instanceof IdempotencyConflictError) && !result.replayed) known.set(result.id, batch[i]!.stored);
      });
      return { results, claimed: this.claimRows(claim.n, claim.pid, claim.leaseMs, known) };
    });
  }

  /** Claims up to `n` due jobs: the body of claimJobs' transaction, and part of a create's or a completion's (setClaimer). */
  private claimRows(n: number, pid: number, leaseMs: number, known?: ReadonlyMap<string, NewPresentation>): ClaimResult {
    const now = Date.now();
    const rows = this.stmt.candidates.all({ now, n }) as CandidateRow[];
    const result: ClaimResult = { jobs: [], exhausted: [] };
    for (const row of rows) {
      const expired = row.status === 'running' && row.lease_token ? { previousLease: row.lease_token, previousPid: row.lease_pid } : undefined;
      if (expired && row.attempts >= row.max_attempts) {
        const error = `the worker (pid ${row.lease_pid ?? '?'}) running the last attempt stopped before finishing (its lease expired)`;
        this.stmt.exhaust.run({ id: row.id, error, publicError: 'The server processing this feedback stopped during the last attempt.', now });
        result.exhausted.push({ jobId: row.id, presentationId: row.presentation_id, version: row.version, attempt: row.attempts, ...expired });
        continue;
      }
      const lease = newLeaseToken();
      this.stmt.lease.run({ id: row.id, lease, expires: now + leaseMs, pid });
      const attempt = row.attempts + 1;
      // a talk stored by this very transaction is not read back (a 1 MiB talk costs ~5 ms to read)
      const mine = known?.get(row.presentation_id);
      const p = mine
        ? { title: mine.title, content: mine.content, language: mine.language, target_minutes: mine.targetMinutes ?? null }
        : (this.stmt.presentationFor.get(row.presentation_id) as { title: string; content: string; language: InputLanguage; target_minutes: number | null });
      result.jobs.push({
        jobId: row.id,
        presentationId: row.presentation_id,
        version: row.version,
        attempt,
        maxAttempts: row.max_attempts,
        lease,
        title: p.title,
        content: p.content,
        language: p.language,
        targetMinutes: p.target_minutes ?? undefined,
        waitedMs: Math.max(0, now - (expired ? (row.lease_expires_at ?? now) : row.run_at)),
        ...(expired ? { expired } : {}),
      });
    }
    return result;
  }

  private completeOne(input: CompleteInput): boolean {
    const now = Date.now();
    const job = this.stmt.finish.get({ id: input.jobId, lease: input.lease, now }) as { presentation_id: string; version: number } | undefined;
    if (!job) return false;
    // UNIQUE (presentation_id, version): a second row for the same version is impossible.
    this.stmt.insertFeedback.run({
      id: input.feedbackId,
      presentationId: job.presentation_id,
      version: job.version,
      jobId: input.jobId,
      provider: input.provider,
      body: input.feedbackJson,
      hash: input.responseHash,
      now,
    });
    return true;
  }

  /**
   * Group commit: the creates of one event-loop turn share one write transaction. Under load
   * most of a create's CPU was its own commit (WAL frames for two rows and their indexes); with
   * 20 creates in flight they now pay one. Each create still gets its own answer: an
   * Idempotency-Key conflict is found before anything is written, so it fails alone; a store
   * error (disk full, database locked) fails every create of the batch, none of which is stored.
   */
  async createPresentation(input: NewPresentation, maxAttempts: number): Promise<CreateResult> {
    // Stored well-formed: a lone surrogate (valid in a JS string and in JSON as "\ud800") becomes
    // U+FFFD, as node:sqlite and PostgreSQL store it. better-sqlite3 would store its three bytes
    // of CESU-8, which are not UTF-8: the fast read sends the stored bytes as they are.
    const stored = { ...input, title: input.title.toWellFormed(), content: input.content.toWellFormed() };
    return new Promise<CreateResult>((resolve, reject) => {
      this.pendingCreates.push({ input, stored, maxAttempts, resolve, reject });
      if (this.pendingCreates.length === 1) setImmediate(() => this.flushCreates());
    });
  }

  private flushCreates(): void {
    // One transaction holds at most CREATE_BATCH_CHARS of talk text, and always one talk at
    // least: four 1 MiB talks posted together are written in four turns of the event loop, not in
    // one block of ~20 ms that every other request waits behind.
    let take = 0;
    for (let chars = 0; take < this.pendingCreates.length; take++) {
      const { input } = this.pendingCreates[take]!;
      chars += input.content.length + input.title.length;
      if (take > 0 && chars > CREATE_BATCH_CHARS) break;
    }
    const batch = this.pendingCreates.splice(0, take);
    if (batch.length === 0) return;
    if (this.pendingCreates.length > 0) setImmediate(() => this.flushCreates());
    const claimer = this.claimer;
    const claim = this.claimWanted();
    let outcome: { results: (CreateResult | IdempotencyConflictError)[]; claimed: ClaimResult | undefined };
    try {
      if (!this.db.open) throw new StoreError('STORE_UNAVAILABLE', 'the store is closed (the worker is stopping)');
      outcome = this.guard(true, () => this.createTx.immediate(batch, claim));
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    // the leases are taken: the runner starts the jobs before the creates are answered
    if (outcome.claimed) deliver(claimer!, outcome.claimed);
    batch.forEach((item, i) => {
      const result = outcome.results[i]!;
      if (result instanceof IdempotencyConflictError) item.reject(result);
      else item.resolve(result);
    });
  }

  setClaimer(claimer: Claimer | undefined): void {
    this.claimer = claimer;
  }

  /** What the claimer wants claimed in the write transaction about to run, if anything. */
  private claimWanted(): { n: number; pid: number; leaseMs: number } | undefined {
    const claimer = this.claimer;
    const n = claimer?.wanted() ?? 0;
    return claimer && n > 0 ? { n, pid: claimer.pid, leaseMs: claimer.leaseMs } : undefined;
  }

  /**
   * One create inside the batch's transaction; a key conflict throws before any write. The
   * request's hash is the talk's as sent (as before lone surrogates were stored as U+FFFD: a
   * replay across that upgrade still matches).
   */
  private createOne({ input, stored, maxAttempts }: PendingCreate): CreateResult {
    const hash = requestHash(input);
    if (input.idempotencyKey !== undefined) {
      // also finds a create earlier in the same batch: the same key twice is a replay
      const existing = this.stmt.byKey.get(input.idempotencyKey) as { id: string; status: PresentationStatus; request_hash: string } | undefined;
      if (existing) {
        if (existing.request_hash !== hash) throw new IdempotencyConflictError();
        return { id: existing.id, status: existing.status, replayed: true };
      }
    }
    const now = Date.now();
    const id = newRowId(now);
    this.stmt.insertPresentation.run({
      id,
      title: stored.title,
      content: stored.content,
      language: input.language,
      targetMinutes: input.targetMinutes ?? null,
      now,
      key: input.idempotencyKey ?? null,
      hash,
    });
    this.stmt.insertJob.run({ id: newRowId(now), presentationId: id, version: 1, maxAttempts, now });
    return { id, status: 'pending', replayed: false };
  }

  async getPresentation(id: string): Promise<PresentationView | undefined> {
    const raw = this.readRaw(id);
    if (!raw) return undefined;
    const { feedbackJson, ...view } = raw;
    return { ...view, feedback: feedbackJson === null ? null : (JSON.parse(feedbackJson) as Feedback) };
  }

  async getPresentationRaw(id: string): Promise<(Omit<PresentationView, 'feedback'> & { feedbackJson: string | null }) | undefined> {
    return this.readRaw(id);
  }

  /**
   * GET /api/presentations/:id's body as UTF-8 bytes, byte for byte what the route builds from
   * getPresentationRaw, or undefined; synchronous, and the JSON is made by SQLite: no row object,
   * no Date, no JSON.stringify, no string and no promise on the most frequent request
   * (http/fast-get.ts).
   */
  presentationBody(id: string): Uint8Array | undefined {
    return this.guard(false, () => {
      // A page polls its talk until the feedback is there: between two commits the answer is the
      // same bytes. A kept body is sent only while data_version is the one seen before it was
      // read (no other connection has committed since; a write of this store's that changes a row
      // drops them all).
      // Reading data_version costs what any read's transaction costs (~3 µs), the query ~15 µs;
      // a miss reads only the body: the version it is kept under is older, which only errs on the
      // side of dropping.
      const cached = this.bodies.get(id);
      if (cached !== undefined) {
        const version = this.dataVersion();
        if (version === this.bodiesVersion) return cached;
        this.dropBodies();
        this.bodiesVersion = version;
      } else if (this.bodiesVersion === undefined) this.bodiesVersion = this.dataVersion();
      const body = (this.stmt.getBody.get(id) as { body: Uint8Array } | undefined)?.body;
      const bounds = this.options.bodyCache ?? BODY_CACHE;
      if (body !== undefined && body.byteLength <= bounds.maxBody) {
        if (this.bodies.size >= bounds.entries || this.bodiesBytes + body.byteLength > bounds.bytes) this.dropBodies();
        this.bodies.set(id, body);
        this.bodiesBytes += body.byteLength;
      }
      return body;
    });
  }

  private totalChanges(): number {
    return (this.stmt.totalChanges.get() as { n: number }).n;
  }

  private dropBodiesIfChanged(before: number): void {
    let changed = true;
    try {
      changed = this.totalChanges() !== before;
    } catch {
      // a closed connection: the operation's own error is the one to tell
    }
    if (changed) this.dropBodies();
  }

  /** Changes when another connection (another worker, a CLI command, any tool) has committed. */
  private dataVersion(): number {
    return (this.stmt.dataVersion.get() as { data_version: number }).data_version;
  }

  private dropBodies(): void {
    this.bodies.clear();
    this.bodiesBytes = 0;
  }

  private readRaw(id: string): RawPresentationView | undefined {
    return this.guard(false, () => {
      const row = this.stmt.get.get(id) as PresentationRow | undefined;
      return row ? toRawView(row) : undefined;
    });
  }

  async listPresentations(limit: number, cursor: string | undefined): Promise<{ items: PresentationSummary[]; nextCursor: string | null }> {
    return this.guard(false, () => {
      const { at, id } = decodeCursor(cursor);
      const rows = this.stmt.list.all({ at, id, limit: limit + 1 }) as { id: string; title: string; language: string; created_at: number; status: PresentationStatus }[];
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => ({ id: r.id, title: r.title, language: r.language, createdAt: new Date(r.created_at).toISOString(), status: r.status })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
      };
    });
  }

  async requestFeedback(id: string, maxAttempts: number): Promise<{ version: number; jobId: string } | undefined> {
    return this.guard(true, () => {
      return this.db
        .transaction(() => {
          const bumped = this.stmt.bumpVersion.get(id) as { version: number } | undefined;
          if (!bumped) return undefined;
          const jobId = newRowId();
          this.stmt.insertJob.run({ id: jobId, presentationId: id, version: bumped.version, maxAttempts, now: Date.now() });
          return { version: bumped.version, jobId };
        })
        .immediate();
    });
  }

  async claimJobs(n: number, pid: number, leaseMs: number): Promise<ClaimResult> {
    return this.guard(true, () => {
      // Most wake-ups find nothing (a job just finished, another worker took it): a plain read
      // answers that without the write lock that BEGIN IMMEDIATE takes (~5 µs instead of ~50 µs).
      if ((this.stmt.anyDue.get({ now: Date.now() }) as { due: number }).due === 0) return { jobs: [], exhausted: [] };
      return this.claimTx.immediate(n, pid, leaseMs);
    }, false); // an empty claim writes nothing: it is no sign that a full disk has space again
  }

  async renewLease(jobId: string, lease: string, leaseMs: number): Promise<boolean> {
    return this.guard(true, () => {
      return this.stmt.renew.run({ id: jobId, lease, expires: Date.now() + leaseMs }).changes === 1;
    });
  }

  async completeJobs(inputs: readonly CompleteInput[]): Promise<boolean[]> {
    const claimer = this.claimer;
    const claim = this.claimWanted();
    const { results, claimed } = this.guard(true, () => this.completeTx.immediate(inputs, claim));
    if (claimed && claimer) deliver(claimer, claimed);
    return results;
  }

  async failJob(jobId: string, lease: string, error: { detail: string; public: string }, retryInMs: number | null): Promise<boolean> {
    return this.guard(true, () => {
      const now = Date.now();
      // well-formed, as the talks are (createPresentation): the public error is in the fast read's bytes
      const params = { id: jobId, lease, error: error.detail.toWellFormed(), publicError: error.public.toWellFormed() };
      const result = retryInMs === null ? this.stmt.failFinal.run({ ...params, now }) : this.stmt.retry.run({ ...params, runAt: now + retryInMs });
      return result.changes === 1;
    });
  }

  async releaseJob(jobId: string, lease: string): Promise<boolean> {
    return this.guard(true, () => {
      return this.stmt.release.run({ id: jobId, lease, now: Date.now() }).changes === 1;
    });
  }

  async nextWakeInMs(): Promise<number | null> {
    return this.guard(false, () => {
      const { t } = this.stmt.nextDue.get() as { t: number | null };
      return t === null ? null : Math.max(0, t - Date.now());
    });
  }

  async queueDepth(): Promise<number> {
    return this.guard(false, () => {
      return (this.stmt.depth.get() as { n: number }).n;
    });
  }

  async health(): Promise<StoreHealth> {
    return this.healthNow();
  }

  /** Wake-ups on one host travel through the supervisor (worker/main.ts): nothing to listen to. */
  onJobQueued(): () => void {
    return () => {};
  }

  private healthNow(): StoreHealth {
    if (!this.unusable) {
      try {
        this.checkIdentity();
        this.stmt.ping.get();
      } catch (error) {
        if (!this.unusable) return { ok: false, code: 'STORE_UNAVAILABLE', reason: (error as Error).message };
      }
    }
    return this.unusable ?? { ok: true };
  }

  /**
   * Runs one store operation: refuses writes once the store is unusable, checks after each
   * write that the file is still the one opened (a stat, a few µs: SQLite itself goes on writing
   * into a deleted file, so a removed data dir would otherwise still answer 201; checking after
   * the commit, not before, leaves no window in which a write lands in a file already gone),
   * and turns SQLite's errors into StoreError.
   */
  private guard<T>(write: boolean, operation: () => T, recovers = write): T {
    if (write && this.unusable) throw new StoreError(this.unusable.code, this.unusable.reason);
    try {
      let result: T;
      // rows this connection inserted, changed or deleted: a write that changed none (a claim that
      // found nothing, as most wake-ups do) keeps the polled bodies
      const changes = write ? this.totalChanges() : 0;
      try {
        result = operation();
      } finally {
        // after the commit (or the rollback): a body read inside the transaction would be its own
        if (write) this.dropBodiesIfChanged(changes);
      }
      if (write) {
        this.checkpointer?.noteWrite();
        this.checkIdentity();
      }
      if (recovers && this.full) {
        this.full = false;
        this.options.onEvent?.({ type: 'recovered', code: 'STORAGE_FULL' });
      }
      return result;
    } catch (error) {
      if (error instanceof StoreError) throw error;
      // A write error may be the first sign of a vanished file: say that rather than the errno.
      this.checkIdentity();
      const translated = translateSqliteError(error, this.file);
      if (!translated) throw error;
      if (translated.sticky) this.markUnusable(translated.error);
      else if (translated.error.code === 'STORAGE_FULL' && !this.full) {
        this.full = true;
        this.options.onEvent?.({ type: 'full', code: 'STORAGE_FULL', reason: translated.error.message });
      }
      throw translated.error;
    }
  }

  private checkIdentity(): void {
    if (!this.unusable) {
      let st;
      try {
        st = statSync(this.file, { throwIfNoEntry: false });
      } catch {
        st = undefined; // ENOTDIR, EACCES: the path no longer leads to the file either
      }
      if (!st) this.markUnusable(new StoreError('STORE_UNAVAILABLE', `the database file ${this.file} is gone (the data dir was deleted or moved while serving); restart the server on a data dir that holds the database`));
      else if (st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
        this.markUnusable(new StoreError('STORE_UNAVAILABLE', `the database file ${this.file} was replaced by another file while serving; restart the server to open it`));
      }
    }
    const unusable = this.unusable as StoreHealth | undefined;
    if (unusable && !unusable.ok) throw new StoreError(unusable.code, unusable.reason);
  }

  private markUnusable(error: StoreError): void {
    if (this.unusable) return;
    this.unusable = { ok: false, code: error.code, reason: error.message };
    this.options.onEvent?.({ type: 'unusable', code: error.code, reason: error.message });
  }

  async close(): Promise<void> {
    while (this.pendingCreates.length > 0) this.flushCreates(); // committed (or refused), never dropped
    if (this.db.open) this.db.close();
    // the thread's connection closes last: that close checkpoints the whole log and removes it
    await this.checkpointer?.close();
  }

  /** The polled bodies kept now (presentationBody), for tests. */
  get cachedBodies(): { entries: number; bytes: number } {
    return { entries: this.bodies.size, bytes: this.bodiesBytes };
  }

  /** WAL checkpoints the thread has run (0 without one), for tests. */
  get checkpointsInThread(): number {
    return this.checkpointer?.checkpoints ?? 0;
  }
}
