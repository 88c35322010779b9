// The store interface: HTTP and job code depend on this, not on SQLite, so that a PostgreSQL
// store can be added later. Times are epoch milliseconds.
import type { Feedback } from '../feedback/types.js';
import type { RawPresentationView } from './rows.js';

/** listPresentations was given a cursor it did not make (the HTTP layer answers 400). */
export class InvalidCursorError extends Error {
  constructor() {
    super('not a cursor from an earlier page');
    this.name = 'InvalidCursorError';
  }
}

export type PresentationStatus = 'pending' | 'processing' | 'done' | 'failed';
export type InputLanguage = 'de' | 'en' | 'auto';

export interface NewPresentation {
  title: string;
  content: string;
  language: InputLanguage;
  targetMinutes: number | undefined;
  idempotencyKey: string | undefined;
}

export interface PresentationView {
  id: string;
  title: string;
  language: string;
  createdAt: string;
  status: PresentationStatus;
  attempts: number;
  feedback: Feedback | null;
  error?: string;
}

export interface PresentationSummary {
  id: string;
  title: string;
  language: string;
  createdAt: string;
  status: PresentationStatus;
}

export interface CreateResult {
  id: string;
  status: PresentationStatus;
  /** true when an Idempotency-Key matched an earlier request: nothing new was stored. */
  replayed: boolean;
}

export interface ClaimedJob {
  jobId: string;
  presentationId: string;
  version: number;
  attempt: number;
  maxAttempts: number;
  lease: string;
  title: string;
  content: string;
  language: InputLanguage;
  targetMinutes: number | undefined;
  /** Set when the job was taken over from a worker whose lease expired. */
  expired?: { previousLease: string; previousPid: number | null };
  /** The job's wait in the queue: from its run_at to the claim. */
  waitedMs: number;
}

/** Jobs whose lease expired on their last attempt: failed for good at claim time. */
export interface ExhaustedJob {
  jobId: string;
  presentationId: string;
  version: number;
  attempt: number;
  previousLease: string;
  previousPid: number | null;
}

export interface ClaimResult {
  jobs: ClaimedJob[];
  exhausted: ExhaustedJob[];
}

export interface Claimer {
  /** How many jobs to claim now (free slots), 0 for none; asked once per write transaction. */
  wanted(): number;
  readonly pid: number;
  readonly leaseMs: number;
  /** The claim, after its transaction committed: the runner now owns these leases. */
  claimed(result: ClaimResult): void;
}

export interface CompleteInput {
  jobId: string;
  lease: string;
  feedbackId: string;
  /** The feedback's provider (its `provider` field) and the feedback as JSON text, stored as it is. */
  provider: string;
  feedbackJson: string;
  responseHash: string;
}

/**
 * Why the store refuses work, whatever the backend: `STORAGE_FULL` (the disk is full; reads go
 * on, writes recover once space is freed), `STORE_UNAVAILABLE` (the database cannot be used:
 * its file was deleted or replaced, an I/O error, a lock held too long) and `STORE_CORRUPT`
 * (the database file is damaged). HTTP answers them 503 with Retry-After (http/errors.ts).
 */
export type StoreErrorCode = 'STORAGE_FULL' | 'STORE_UNAVAILABLE' | 'STORE_CORRUPT';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** What the client is told to wait before retrying (Retry-After, seconds). */
  readonly retryAfterSeconds: number;

  constructor(code: StoreErrorCode, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds ?? (code === 'STORAGE_FULL' ? 30 : 60);
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}

export class IdempotencyConflictError extends Error {
  constructor() {
    super('this Idempotency-Key was already used with a different request body');
    this.name = 'IdempotencyConflictError';
  }
}

/** The store's state for /readyz: `ok: false` with the reason once it is unusable for good. */
export type StoreHealth = { ok: true } | { ok: false; code: StoreErrorCode; reason: string };

/**
 * A change of the store's state, reported once per change (not per failed request) so that
 * the log says it once: `unusable` (sticky until restart), `full`, `unavailable` (the database
 * server cannot be reached: it passes), `recovered` (from full or unavailable).
 */
export type StoreEvent = { type: 'unusable' | 'full' | 'unavailable'; code: StoreErrorCode; reason: string } | { type: 'recovered'; code: StoreErrorCode };

/**
 * The store, whatever the backend: SQLite in the data dir (one host) or PostgreSQL (any number
 * of hosts). Every operation is async: the SQLite store answers synchronously inside, the
 * PostgreSQL store over the network.
 */
export interface Store {
  /** Which backend, for logs and /readyz: `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  createPresentation(input: NewPresentation, maxAttempts: number): Promise<CreateResult>;
  getPresentation(id: string): Promise<PresentationView | undefined>;
  /** The same, with the feedback as the stored JSON text (the API sends it on without parsing). */
  getPresentationRaw(id: string): Promise<RawPresentationView | undefined>;
  /** The route's JSON body for a found id as UTF-8 bytes, synchronously; only a store that can (SQLite). */
  presentationBody?(id: string): Uint8Array | undefined;
  listPresentations(limit: number, cursor: string | undefined): Promise<{ items: PresentationSummary[]; nextCursor: string | null }>;
  /** Queues the next feedback version; undefined when the presentation does not exist. */
  requestFeedback(id: string, maxAttempts: number): Promise<{ version: number; jobId: string } | undefined>;

  /**
   * Claims up to `n` due jobs (queued and run_at passed, or running with an expired lease) with
   * a new lease of `leaseMs`; a job whose lease expired on its last attempt is failed instead.
   */
  claimJobs(n: number, pid: number, leaseMs: number): Promise<ClaimResult>;
  /**
   * Lets the runner claim inside the store's other write transactions, the group commit of new
   * talks and the batch of completions (only SQLite: its writes are local and synchronous). A
   * job claimed there costs no claim transaction of its own; the claim is claimJobs' (the oldest
   * due jobs first, not only the new ones).
   */
  setClaimer?(claimer: Claimer | undefined): void;
  renewLease(jobId: string, lease: string, leaseMs: number): Promise<boolean>;
  /** Completes several jobs in one transaction; false for a job whose lease was lost (nothing written for it). */
  completeJobs(inputs: readonly CompleteInput[]): Promise<boolean[]>;
  /**
   * Schedules a retry in `retryInMs`, or fails the job for good when `retryInMs` is null.
   * `error` stays with the job (operators); `publicError` is what the presentation shows.
   */
  failJob(jobId: string, lease: string, error: { detail: string; public: string }, retryInMs: number | null): Promise<boolean>;
  /** Gives a claimed job back without counting the attempt (graceful stop). */
  releaseJob(jobId: string, lease: string): Promise<boolean>;
  /** Milliseconds until the next job becomes claimable (queued run_at or a lease expiry), or null. */
  nextWakeInMs(): Promise<number | null>;
  queueDepth(): Promise<number>;
  /** The store's state for /readyz, with the reason; cheap enough for every /readyz. */
  health(): Promise<StoreHealth>;
  /**
   * Calls `listener` when another process (worker or host) queued a job or gave one back, so
   * runners need not poll; returns the unsubscribe. SQLite has no such channel (its workers
   * share a host and are woken by the supervisor): it returns a no-op.
   */
  onJobQueued(listener: () => void): () => void;
  close(): Promise<void>;
}
