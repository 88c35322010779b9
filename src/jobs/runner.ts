import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { FeedbackProvider } from '../feedback/types.js';
import { ProviderError } from '../feedback/types.js';
import { publicErrorMessage } from '../feedback/public-error.js';
import type { ClaimedJob, CompleteInput, Store } from '../store/types.js';
import { retryDelayMs } from './backoff.js';
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
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private filling = false;
  private refill = false;
  private lastError: Error | undefined;
  private completions: { input: CompleteInput; resolve: (ok: boolean) => void; reject: (error: unknown) => void }[] = [];
  private wakeScheduled = false;

  constructor(private readonly options: RunnerOptions) {}

  start(): void {
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
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.refill = false;
        this.fill();
      } while (this.refill && !this.stopping);
    } finally {
      this.filling = false;
    }
    this.schedule();
  }

  private fill(): void {
    const free = this.options.slots - this.running.size;
    if (free <= 0) return;
    let claimed;
    try {
      claimed = this.options.store.claimJobs(free, process.pid, this.options.leaseMs);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error as Error;
      this.options.logger.error({ event: 'job.claim_failed', err: error }, 'Claiming jobs failed');
      return;
    }
    for (const gone of claimed.exhausted) {
      this.options.logger.warn(
        { event: 'job.lease_expired', jobId: gone.jobId, presentationId: gone.presentationId, attempt: gone.attempt, previousLease: gone.previousLease, previousPid: gone.previousPid },
        `Lease of job ${gone.jobId} expired`,
      );
      this.options.logger.error(
        { event: 'feedback.failed', presentationId: gone.presentationId, jobId: gone.jobId, attempt: gone.attempt, lease: gone.previousLease, error: 'worker lost during the last attempt', retryInMs: null, final: true },
        `Feedback generation for presentation ${gone.presentationId} failed`,
      );
      this.options.metrics?.outcome('failed');
    }
    for (const job of claimed.jobs) this.run(job);
  }

  private schedule(): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    let wait = this.options.idlePollMs ?? 1000;
    if (this.running.size < this.options.slots) {
      try {
        const next = this.options.store.nextWakeInMs();
        if (next !== null) wait = Math.min(wait, next + 5);
      } catch {
        // the poll below retries
      }
    }
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
    this.running.set(job.jobId, entry);
    logger.info({ event: 'feedback.started', ...base }, `Feedback for presentation ${job.presentationId} started`);
    const startedAt = performance.now();
    // Renew at a third of the lease so two missed renewals still leave time.
    const renew = setInterval(() => {
      try {
        if (!store.renewLease(job.jobId, job.lease, leaseMs)) controller.abort(new Error('lease lost'));
      } catch (error) {
        logger.warn({ event: 'job.renew_failed', ...base, err: error }, `Renewing the lease of job ${job.jobId} failed`);
      }
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref();

    entry.done = provider
      .generate({ presentationId: job.presentationId, title: job.title, content: job.content, language: job.language, targetMinutes: job.targetMinutes }, controller.signal)
      .then(
        async (result) => {
          if (controller.signal.aborted) throw controller.signal.reason;
          const responseHash = createHash('sha256').update(result.raw).digest('hex');
          const feedbackId = randomUUID();
          if (!(await this.complete({ jobId: job.jobId, lease: job.lease, feedbackId, feedback: result.feedback, responseHash }))) {
            logger.warn({ event: 'job.lease_lost', ...base }, `Job ${job.jobId} lost its lease; its result was discarded`);
            return;
          }
          const durationMs = Math.round(performance.now() - startedAt);
          logger.info(
            { event: 'feedback.marked', ...base, feedbackId, responseHash, provider: result.feedback.provider, durationMs },
            `Feedback for presentation ${job.presentationId} marked`,
          );
          metrics?.outcome('done', durationMs);
        },
      )
      .catch((error: unknown) => this.failed(job, controller, error))
      .finally(() => {
        clearInterval(renew);
        this.running.delete(job.jobId);
        this.scheduleWake();
      });
  }

  /**
   * Group commit: the results that arrive together (in one microtask checkpoint) are written in
   * one transaction, without waiting for the next event-loop turn (the write lock is the
   * bottleneck of a SQLite queue); resolves false for a lost lease.
   */
  private complete(input: CompleteInput): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.completions.push({ input, resolve, reject });
      if (this.completions.length === 1) queueMicrotask(() => this.flushCompletions());
    });
  }

  private flushCompletions(): void {
    const batch = this.completions;
    this.completions = [];
    let results: boolean[];
    try {
      results = this.options.store.completeJobs(batch.map((c) => c.input));
    } catch (error) {
      for (const c of batch) c.reject(error);
      return;
    }
    batch.forEach((c, i) => c.resolve(results[i] === true));
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

  private failed(job: ClaimedJob, controller: AbortController, error: unknown): void {
    const { logger, store, metrics } = this.options;
    const base = { presentationId: job.presentationId, jobId: job.jobId, version: job.version, attempt: job.attempt, lease: job.lease };
    if (controller.signal.aborted) {
      // Stopped by us (shutdown) or the lease was lost: the attempt does not count.
      if (store.releaseJob(job.jobId, job.lease)) {
        logger.info({ event: 'job.released', ...base }, `Job ${job.jobId} released for another worker`);
      }
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const retryable = !(error instanceof ProviderError) || error.retryable;
    const final = !retryable || job.attempt >= job.maxAttempts;
    let retryInMs: number | null = null;
    if (!final) {
      retryInMs = retryDelayMs(job.attempt, { baseMs: this.options.retryBaseMs ?? 1000 });
      if (error instanceof ProviderError && error.retryAfterMs !== undefined) retryInMs = Math.max(retryInMs, error.retryAfterMs);
    }
    try {
      if (!store.failJob(job.jobId, job.lease, { detail: message, public: publicErrorMessage(error) }, retryInMs)) {
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
    clearTimeout(this.timer);
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
