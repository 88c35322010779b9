import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { FeedbackJsonResult, FeedbackProvider, FeedbackResult } from '../feedback/types.js';
import { ProviderError } from '../feedback/types.js';
import { publicErrorMessage } from '../feedback/public-error.js';
import { newRowId } from '../store/ids.js';
import { isStoreError, type ClaimedJob, type ClaimResult, type CompleteInput, type Store } from '../store/types.js';
import { backoffMs, retryDelayMs } from './backoff.js';
import type { JobMetrics } from './metrics.js';

export interface RunnerOptions {
  store: Store;
  provider: FeedbackProvider;
  logger: Logger;
  /** Jobs this worker runs at once (the profile's `threads`). */
  slots: number;
  leaseMs: number;
  /** Fallback poll when nothing wakes the runner (future retries, expired leases of dead workers). */
  idlePollMs?: number;
  retryBaseMs?: number;
  metrics?: JobMetrics;
  /** Removes secrets (API key, tokens) from error text before it is stored or logged. */
  redact?: (text: string) => string;
}

/** Claims after a failed claim wait 100 ms, 200 ms, … up to this: a full disk must not fill the log. */
export const CLAIM_BACKOFF_MAX_MS = 30_000;
/** A result whose commit failed is committed again after 50 ms, 100 ms, … up to this, while the lease is renewed. */
export const COMMIT_RETRY_MAX_MS = 5_000;
/**
 * A batch of completions written for longer than this (a connection that hangs) no longer holds
 * the results behind it: they go in a batch of their own, on another connection.
 */
export const COMPLETION_STALL_MS = 1_000;

/** A provider's answer as the store writes it: the local analyser's threads send it so already. */
function asJson(result: FeedbackResult): FeedbackJsonResult {
  if ('feedbackJson' in result) return result;
  return { feedbackJson: JSON.stringify(result.feedback), provider: result.feedback.provider, responseHash: createHash('sha256').update(result.raw).digest('hex') };
}

/**
 * The completion, or the abort's reason once the job is aborted (the worker stopping past its
 * timeout, a lost lease): a batch that hangs in the database must not hold its jobs, and stop(),
 * forever. A batch that commits after all commits under the lease's fence.
 */
function unlessAborted<T>(start: () => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    start()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A running job's lease, as its renewals see it. */
interface Lease {
  /** Until when it is ours for sure (the last renewal's send time + the lease). */
  heldUntil: number;
  /** The result has been handed to commit(): the first failed renewal no longer aborts the job. */
  committing: boolean;
  /** A renewal found the lease gone while committing: a failed attempt is not tried again, and the next failed renewal aborts. */
  lost: boolean;
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
}

// Claims jobs atomically with a lease, runs them in `slots` concurrent slots, renews the lease
// while the provider works, and writes the result only while it still holds the lease.
export class JobRunner {
  private readonly running = new Map<string, Running>();
  /**
   * Jobs whose provider is still working: what the slots bound. A job whose answer is being
   * committed keeps its entry in `running` (stop waits for it) but frees its slot, so the next
   * claim goes out while the commit is in flight: over a network store that halves the round
   * trips a slot waits for.
   */
  private generating = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private filling = false;
  private refill = false;
  /** The claim loop in flight, if any: stop() waits for it, so no claim lands after stop. */
  private filled: Promise<void> = Promise.resolve();
  private lastError: Error | undefined;
  private completions: { input: CompleteInput; resolve: (ok: boolean) => void; reject: (error: unknown) => void }[] = [];
  /** Batches of completions being written and not stalled (see COMPLETION_STALL_MS): 0 or 1. */
  private completing = 0;
  private wakeScheduled = false;
  private claimFailures = 0;
  private claimRetryAt = 0;
  /** A claimJobs call is between its start and accept(). */
  private claiming = false;
  /** Releases of jobs claimed as stop() began: stop waits for them. */
  private readonly releasing = new Set<Promise<unknown>>();

  constructor(private readonly options: RunnerOptions) {}

  start(): void {
    // Claim in the store's own write transactions while slots are free (SQLite): a talk created
    // into an idle worker, or the next job after one finished, then needs no claim transaction.
    // Never while a claimJobs result is still on its way to accept(): its jobs are not counted
    // in `generating` yet, and both claims together could exceed the slots.
    this.options.store.setClaimer?.({
      pid: process.pid,
      leaseMs: this.options.leaseMs,
      wanted: () => (this.stopping || this.claiming || this.claimFailures > 0 ? 0 : Math.max(0, this.options.slots - this.generating)),
      claimed: (result) => this.accept(result),
    });
    this.wake();
  }

  get alive(): boolean {
    return !this.stopping;
  }

  get active(): number {
    return this.running.size;
  }

  /** Set while claiming fails (the store is unusable); cleared by the next successful claim. */
  get lastClaimError(): Error | undefined {
    return this.lastError;
  }

  /** New work may be there: claim now instead of waiting for the poll. */
  wake(): void {
    if (this.stopping) return;
    // Backing off after failed claims: the timer set by schedule() claims again.
    if (this.claimFailures > 0 && Date.now() < this.claimRetryAt) {
      this.schedule(); // a timer may fire a little before Date.now() says it is due: keep one set
      return;
    }
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    this.filled = this.fillLoop();
  }

  /**
   * One claim at a time per worker: wake-ups that arrive while a claim is in flight are folded
   * into one more round (`refill`), so a burst of enqueues costs a few claims, not one each.
   */
  private async fillLoop(): Promise<void> {
    try {
      do {
        this.refill = false;
        await this.fill();
        if (!this.refill) await this.schedule();
      } while (this.refill && !this.stopping);
    } catch (error) {
      this.options.logger.error({ event: 'job.claim_failed', err: error }, 'The job runner failed unexpectedly; it polls again');
      this.timer = setTimeout(() => this.wake(), this.options.idlePollMs ?? 1000);
      this.timer.unref();
    } finally {
      this.filling = false;
    }
  }

  private async fill(): Promise<void> {
    const free = this.options.slots - this.generating;
    if (free <= 0) return;
    let claimed;
    this.claiming = true;
    try {
      claimed = await this.options.store.claimJobs(free, process.pid, this.options.leaseMs);
      if (this.claimFailures > 0) this.options.logger.info({ event: 'job.claim_recovered', failures: this.claimFailures }, `Claiming jobs works again after ${this.claimFailures} failed attempts`);
      this.lastError = undefined;
      this.claimFailures = 0;
    } catch (error) {
      this.lastError = error as Error;
      this.claimFailures += 1;
      const retryInMs = backoffMs(this.claimFailures, { baseMs: 100, capMs: CLAIM_BACKOFF_MAX_MS });
      this.claimRetryAt = Date.now() + retryInMs;
      // A StoreError is a state the store has logged once (store.full, store.unusable): the
      // retries go to debug. Anything else is unexpected and logged at each (backed-off) retry.
      const level = isStoreError(error) ? 'debug' : 'error';
      this.options.logger[level]({ event: 'job.claim_failed', err: error, failures: this.claimFailures, retryInMs }, `Claiming jobs failed; trying again in ${retryInMs} ms`);
      this.claiming = false;
      return;
    }
    this.claiming = false;
    this.accept(claimed);
  }

  /** Runs what a claim brought (claimJobs', or a write transaction's of the store: setClaimer). */
  private accept(claimed: ClaimResult): void {
    for (const gone of claimed.exhausted) {
      // No new lease is taken for a job failed at claim time: its lines carry the lost one.
      const base = { presentationId: gone.presentationId, jobId: gone.jobId, version: gone.version, attempt: gone.attempt, lease: gone.previousLease };
      this.options.logger.warn({ event: 'job.lease_expired', ...base, previousLease: gone.previousLease, previousPid: gone.previousPid }, `Lease of job ${gone.jobId} expired`);
      this.options.logger.error(
        { event: 'feedback.failed', ...base, error: 'worker lost during the last attempt', retryInMs: null, final: true },
        `Feedback generation for presentation ${gone.presentationId} failed`,
      );
      this.options.metrics?.outcome('failed');
    }
    if (this.stopping) {
      // stop() came while the claim was in flight: give the jobs straight back.
      const released = Promise.all(claimed.jobs.map((job) => this.options.store.releaseJob(job.jobId, job.lease).catch(() => false)));
      this.releasing.add(released);
      void released.finally(() => this.releasing.delete(released));
      return;
    }
    for (const job of claimed.jobs) this.run(job);
  }

  private async schedule(): Promise<void> {
    if (this.stopping) return;
    let wait = this.options.idlePollMs ?? 1000;
    if (this.claimFailures > 0) wait = Math.max(1, this.claimRetryAt - Date.now());
    else if (this.generating < this.options.slots) {
      try {
        const next = await this.options.store.nextWakeInMs();
        if (next !== null) wait = Math.min(wait, next + 5);
      } catch {
        // the poll below retries
      }
    }
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref();
  }

  private run(job: ClaimedJob): void {
    const { logger, store, provider, leaseMs, metrics } = this.options;
    const base = { presentationId: job.presentationId, jobId: job.jobId, version: job.version, attempt: job.attempt, lease: job.lease };
    if (job.expired) {
      logger.warn({ event: 'job.lease_expired', ...base, previousLease: job.expired.previousLease, previousPid: job.expired.previousPid }, `Lease of job ${job.jobId} expired`);
      metrics?.leaseExpired();
    }
    metrics?.started(job.waitedMs);
    const controller = new AbortController();
    const entry: Running = { job, controller, done: Promise.resolve() };
    this.running.set(job.lease, entry); // per attempt: a job claimed again while an old attempt lingers is another entry
    logger.info({ event: 'feedback.started', ...base }, `Feedback for presentation ${job.presentationId} started`);
    const startedAt = performance.now();
    const lease: Lease = { heldUntil: Date.now() + leaseMs, committing: false, lost: false };
    // Renew at a third of the lease so two missed renewals still leave time.
    let renewing = false;
    const renew = setInterval(() => {
      if (renewing) return; // the last renewal still waits on the database: never two at once
      renewing = true;
      const renewedAt = Date.now();
      Promise.resolve()
        .then(() => store.renewLease(job.jobId, job.lease, leaseMs))
        .then(
          (renewed) => {
            if (renewed) lease.heldUntil = renewedAt + leaseMs;
            // Once the result is being committed, the commit's own answer (fenced by the lease)
            // decides: a renewal that runs just after our batch wrote the result finds the lease
            // cleared by that very write, and must not call the job lost. A batch still not
            // answered at the next renewal hangs: the job is lost then (its batch, if it ever
            // commits, writes nothing under the fence unless it was ours after all).
            else if (lease.committing && !lease.lost) lease.lost = true;
            else controller.abort(new Error('lease lost'));
          },
          (error: unknown) => logger.warn({ event: 'job.renew_failed', ...base, err: error }, `Renewing the lease of job ${job.jobId} failed`),
        )
        .finally(() => {
          renewing = false;
        });
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref();

    this.generating += 1;
    // The slot is free once the provider has answered (or failed), exactly once. A result's
    // completion is queued before the wake-up, so the completion's transaction is the one that
    // claims this slot's next job (setClaimer) and the wake-up then finds the slot taken.
    let holdsSlot = true;
    const freeSlot = (): void => {
      if (!holdsSlot) return;
      holdsSlot = false;
      this.generating -= 1;
      this.scheduleWake();
    };
    entry.done = provider
      .generate({ presentationId: job.presentationId, title: job.title, content: job.content, language: job.language, targetMinutes: job.targetMinutes }, controller.signal)
      .then(
        async (result) => {
          if (controller.signal.aborted) throw controller.signal.reason;
          const { provider: providerName, feedbackJson, responseHash } = asJson(result);
          const feedbackId = newRowId();
          // From here on a failure is the store's, not the provider's: commit again, never call the model again.
          const committed = this.commit({ jobId: job.jobId, lease: job.lease, feedbackId, provider: providerName, feedbackJson, responseHash }, controller.signal, lease, base);
          freeSlot();
          if (!(await committed)) {
            logger.warn({ event: 'job.lease_lost', ...base }, `Job ${job.jobId} lost its lease; its result was discarded`);
            return;
          }
          const durationMs = Math.round(performance.now() - startedAt);
          logger.info(
            { event: 'feedback.marked', ...base, feedbackId, responseHash, provider: providerName, durationMs },
            `Feedback for presentation ${job.presentationId} marked`,
          );
          metrics?.outcome('done', durationMs);
        },
      )
      .catch((error: unknown) => {
        freeSlot();
        return this.failed(job, controller, error);
      })
      .catch((error: unknown) => logger.error({ event: 'job.store_failed', ...base, err: error }, `Recording the outcome of job ${job.jobId} failed`))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(job.lease); // its slot was freed when the provider answered
      });
  }

  /**
   * Commits a result, and again after a store error (SQLITE_BUSY, a full disk, an I/O error)
   * with backoff, for as long as the lease is held (the renewal timer keeps extending it).
   * False when the lease was lost or ran out meanwhile: another worker may own the job now.
   */
  private async commit(input: CompleteInput, signal: AbortSignal, lease: Lease, base: Record<string, unknown>): Promise<boolean> {
    lease.committing = true;
    for (let failures = 1; ; failures++) {
      try {
        return await unlessAborted(() => this.complete(input), signal);
      } catch (error) {
        // a renewal found the lease gone: after this attempt failed, or twice while it hung (the
        // second aborts it). Not ours to commit any more: the caller says so.
        if (lease.lost && !this.stopping) return false;
        // Never wait longer than a renewal period: the lease must still be ours at the next try.
        const retryInMs = backoffMs(failures, { baseMs: 50, capMs: Math.min(COMMIT_RETRY_MAX_MS, Math.max(50, Math.floor(this.options.leaseMs / 3))) });
        if (signal.aborted || Date.now() >= lease.heldUntil) {
          this.options.logger.error({ event: 'job.commit_failed', ...base, err: error, failures, retryInMs: null }, `Committing the result of job ${input.jobId} failed; the lease runs out, the job will run again`);
          return false;
        }
        // A StoreError is a state the store has logged once (store.full, store.unusable): its retries go to debug.
        this.options.logger[isStoreError(error) ? 'debug' : 'warn']({ event: 'job.commit_failed', ...base, err: error, failures, retryInMs }, `Committing the result of job ${input.jobId} failed; committing again in ${retryInMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, retryInMs);
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
          signal.addEventListener('abort', done, { once: true });
        });
      }
    }
  }

  /**
   * Group commit: the results that arrive together (in one microtask checkpoint) are written in
   * one transaction, without waiting for the next event-loop turn (the write lock is the
   * bottleneck of a SQLite queue); resolves false for a lost lease. One batch at a time: results
   * that arrive while a batch is being written (PostgreSQL: its commit waits for the WAL flush)
   * go together in the next one, as a database's own group commit does, instead of each taking
   * a connection and a transaction of their own. A batch that takes longer than
   * COMPLETION_STALL_MS does not hold the next one back.
   */
  private complete(input: CompleteInput): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.completions.push({ input, resolve, reject });
      // else the batch being written flushes these when it is done or has stalled
      if (this.completions.length === 1 && this.completing === 0) queueMicrotask(() => void this.flushCompletions());
    });
  }

  private async flushCompletions(): Promise<void> {
    const batch = this.completions;
    if (batch.length === 0 || this.completing > 0) return;
    this.completions = [];
    this.completing += 1;
    // A batch that stalls stops counting: the results behind it go on (another connection), and
    // the batches after them one at a time again. It settles later (or the job is aborted).
    let counted = true;
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      this.completing -= 1;
      void this.flushCompletions();
    };
    const stall = setTimeout(uncount, COMPLETION_STALL_MS);
    stall.unref();
    let results: boolean[] | undefined;
    let failure: unknown;
    try {
      results = await this.options.store.completeJobs(batch.map((c) => c.input));
      if (!Array.isArray(results) || results.length !== batch.length) {
        failure = new Error(`the store answered ${Array.isArray(results) ? results.length : typeof results} results for a batch of ${batch.length}`);
        results = undefined;
      }
    } catch (error) {
      failure = error;
    }
    clearTimeout(stall);
    batch.forEach((c, i) => (results ? c.resolve(results[i] === true) : c.reject(failure)));
    uncount();
  }

  /** Claims once after the jobs that finished together, so their slots are claimed in one transaction. */
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  private async failed(job: ClaimedJob, controller: AbortController, error: unknown): Promise<void> {
    const { logger, store, metrics } = this.options;
    const base = { presentationId: job.presentationId, jobId: job.jobId, version: job.version, attempt: job.attempt, lease: job.lease };
    if (controller.signal.aborted) {
      // Stopped by us (shutdown) or the lease was lost: the attempt does not count. A store that
      // fails here costs nothing but time: the lease expires and another worker takes the job.
      try {
        if (await store.releaseJob(job.jobId, job.lease)) {
          logger.info({ event: 'job.released', ...base }, `Job ${job.jobId} released for another worker`);
        } else {
          // the lease was gone before the release (taken over while this worker was frozen or cut off)
          logger.warn({ event: 'job.lease_lost', ...base }, `Job ${job.jobId} lost its lease; its attempt was abandoned`);
        }
      } catch (storeError) {
        logger.warn({ event: 'job.release_failed', ...base, err: storeError }, `Releasing job ${job.jobId} failed; it runs again when its lease expires`);
      }
      return;
    }
    const redact = this.options.redact ?? ((text: string) => text);
    const message = redact(error instanceof Error ? error.message : String(error));
    const retryable = !(error instanceof ProviderError) || error.retryable;
    const final = !retryable || job.attempt >= job.maxAttempts;
    let retryInMs: number | null = null;
    if (!final) {
      retryInMs = retryDelayMs(job.attempt, { baseMs: this.options.retryBaseMs ?? 1000 });
      if (error instanceof ProviderError && error.retryAfterMs !== undefined) retryInMs = Math.max(retryInMs, error.retryAfterMs);
    }
    try {
      if (!(await store.failJob(job.jobId, job.lease, { detail: message, public: publicErrorMessage(error) }, retryInMs))) {
        logger.warn({ event: 'job.lease_lost', ...base }, `Job ${job.jobId} lost its lease; its failure was discarded`);
        return;
      }
    } catch (storeError) {
      logger.error({ event: 'job.store_failed', ...base, err: storeError }, `Recording the failure of job ${job.jobId} failed`);
      return;
    }
    const fields = { event: 'feedback.failed', ...base, error: message, retryInMs, final };
    const msg = `Feedback generation for presentation ${job.presentationId} failed`;
    if (final) logger.error(fields, msg);
    else logger.warn(fields, msg);
    metrics?.outcome(final ? 'failed' : 'retried');
  }

  /**
   * Stops claiming; waits for running jobs up to `timeoutMs`, then aborts the rest and gives
   * their leases back so another worker takes them at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.options.store.setClaimer?.(undefined);
    clearTimeout(this.timer);
    await this.filled;
    await Promise.all(this.releasing);
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const r of this.running.values()) r.controller.abort(new Error('worker stopping'));
      await all();
    }
  }
}
