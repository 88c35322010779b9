// A pool of worker threads (piscina) for CPU-bound tasks such as the local analyser: the event
// loop only posts the input and awaits the answer, so requests, heartbeats and lease renewals go
// on while a 1 MiB talk is analysed, and `size` tasks really run at once.
// - Nothing starts with the pool object: piscina is imported and the first thread started by
//   warm() (the service calls it right after the worker is ready) or the first task. Then one
//   thread is always kept ready; more start when tasks need them (up to `size`) and are kept
//   too: a thread costs tens of ms of CPU to start (on its own thread) and ~15 MB.
// - Abort terminates the thread that runs the task (V8 stops it at once, whatever the analyser is
//   doing) and the next task starts a new one: aborts are rare (a lost lease, a stop past the
//   graceful timeout), so that beats waiting for the analyser's next checkpoint.
// - A thread that throws fails its task with the thrown message; one that dies (process.exit,
//   an uncaught error, out of memory) fails it with `analysis thread stopped`; piscina replaces it.
// - A thread that cannot start (its module fails to load, no memory or file descriptors left)
//   fails the tasks waiting for a thread when none is left: piscina would keep them queued
//   forever, and the job runner would renew their leases forever.
import type { Piscina } from 'piscina';

export interface ThreadPoolOptions {
  /** Tasks run at once (the profile's `threads`); more wait in the pool's queue. */
  size: number;
  /** The module whose default export runs one task in a thread. */
  filename: URL;
}

const NICE_INCREMENT = 10;

export class ThreadPool<Input, Output> {
  private pool: Promise<Piscina> | undefined;
  private started: Piscina | undefined;
  private closed = false;
  /** Tasks handed to piscina and not answered yet, each with its own abort. */
  private readonly pending = new Set<AbortController>();

  constructor(private readonly options: ThreadPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`ThreadPool size must be a positive integer, got ${options.size}`);
  }

  /** Threads alive now (started, not yet terminated). */
  get threads(): number {
    return this.started?.threads.length ?? 0;
  }

  /** Starts the pool and its first thread in the background, so the first task does not wait for them. */
  warm(): void {
    if (this.closed) return;
    this.pool ??= this.open();
    this.pool.catch(() => undefined); // a task reports the failure
  }

  async run(input: Input, signal: AbortSignal): Promise<Output> {
    signal.throwIfAborted();
    if (this.closed) throw new Error('the analysis thread pool is closed (the worker is stopping)');
    this.pool ??= this.open();
    const pool = await this.pool;
    signal.throwIfAborted();
    const task = new AbortController();
    const abort = (): void => task.abort(signal.reason);
    signal.addEventListener('abort', abort, { once: true });
    this.pending.add(task);
    try {
      return (await pool.run(input, { signal: task.signal })) as Output;
    } catch (error) {
      // piscina rejects with its own AbortError; the caller expects the signal's reason, as inline.
      if (task.signal.aborted) throw task.signal.reason;
      throw describe(error);
    } finally {
      this.pending.delete(task);
      signal.removeEventListener('abort', abort);
    }
  }

  /** Rejects queued tasks, terminates every thread (running tasks fail) and waits until they have exited. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = await this.pool?.catch(() => undefined);
    await pool?.destroy();
  }

  private async open(): Promise<Piscina> {
    const { Piscina } = await import('piscina');
    const pool = new Piscina({
      filename: this.options.filename.href,
      minThreads: 1,
      maxThreads: this.options.size,
      // kept until close(): no start cost per task
      idleTimeout: Infinity,
      // Linux: the threads run at a lower priority (nice is per thread there), so the event loop
      // gets a core at once when a request comes, even with more analyses than cores; elsewhere
      // nice would lower the whole process.
      niceIncrement: process.platform === 'linux' ? NICE_INCREMENT : 0,
    });
    // A thread that died without a task of its own: between tasks (nothing was lost), or while
    // starting. With no thread left, the waiting tasks would never run: they fail instead.
    pool.on('error', (error: unknown) => {
      if (pool.threads.length > 0) return;
      const reason = new Error(`analysis thread failed to start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      for (const task of this.pending) task.abort(reason);
    });
    this.started = pool;
    return pool;
  }
}

// piscina's words for a thread that died ("worker exited with code: 1", "Terminating worker
// thread") become one message that says what happened; an error thrown by the task keeps its own.
function describe(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  const exited = /^worker exited with code: (-?\d+)/.exec(message);
  if (exited) return new Error(`analysis thread stopped (exit code ${exited[1]}) before answering`, { cause: error });
  if (message === 'Terminating worker thread') return new Error('analysis thread stopped: the pool is closing', { cause: error });
  if ((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY') return new Error('analysis thread stopped: out of memory', { cause: error });
  return error instanceof Error ? error : new Error(message);
}
