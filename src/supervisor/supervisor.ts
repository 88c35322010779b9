import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import type { Settings } from '../config/defaults.js';
import { openFileLimit } from '../config/open-files.js';
import type { Context } from '../context.js';
import { createLogger, flushLoggerSync } from '../logging/logger.js';
import { RateCounter } from '../http/rate-counter.js';
import { LogSink } from '../logging/sink.js';
import { startService, type Service } from '../worker/service.js';
import { RestartBackoff } from './backoff.js';
import { listenControl } from './control.js';
import { isMessage, SETTINGS_ENV, type FromWorker, type ToWorker } from './messages.js';
import { removePidFile, writePidFile } from './pidfile.js';

const WORKER_ENTRY = fileURLToPath(new URL('../worker/main.js', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STDERR_TAIL_LINES = 30;

interface Slot {
  index: number;
  worker: Worker | undefined;
  pid: number | undefined;
  startedAt: number;
  readyAt: number | undefined;
  restarts: number;
  stopping: boolean;
  stderrTail: string[];
  restartTimer: NodeJS.Timeout | undefined;
}

export interface SupervisorStatus {
  pid: number;
  profile: string;
  host: string;
  port: number;
  dataDir: string;
  startedAt: string;
  uptimeSec: number;
  mode: 'cluster' | 'single';
  workers: { id: number; pid: number | undefined; state: string; uptimeSec: number; restarts: number; rssBytes: number | null; activeJobs: number | null }[];
}

export interface RunResult {
  exitCode: number;
}

// The primary process: owns the log file and the control channel, forks and supervises
// workers (restart with backoff, crash-loop stop, rolling reload, graceful stop).
export class Supervisor {
  private readonly sink: LogSink;
  readonly logger: Logger;
  private readonly slots: Slot[] = [];
  private readonly backoff = new RestartBackoff();
  private readonly startedAt = Date.now();
  private control: Server | undefined;
  private service: Service | undefined;
  private aggregator: AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> | undefined;
  private state: 'starting' | 'running' | 'reloading' | 'stopping' = 'starting';
  private finish!: (result: RunResult) => void;
  private readonly done = new Promise<RunResult>((resolve) => {
    this.finish = resolve;
  });
  private requestId = 0;
  private readonly pendingStats = new Map<number, (stats: FromWorker & { type: 'stats' }) => void>();
  // one count per client for all workers: per-worker counts would multiply the limit by their number
  private readonly rates = new RateCounter();

  constructor(
    private readonly settings: Settings,
    private readonly ctx: Context,
    options: { quiet?: boolean } = {},
  ) {
    this.sink = new LogSink({
      logDir: join(settings.dataDir, 'logs'),
      maxBytes: settings.logMaxBytes,
      maxFiles: settings.logMaxFiles,
      console: ctx.stdout,
      quiet: options.quiet,
    });
    this.logger = createLogger(settings.logLevel, 0, this.sink);
  }

  /** Runs until stopped; resolves with the exit code. */
  async run(): Promise<RunResult> {
    const s = this.settings;
    writePidFile(s.dataDir, process.pid);
    this.logger.info(
      { event: 'supervisor.started', profile: s.profile, reason: s.profileReason, workers: s.fork ? s.workers : 0, threads: s.threads, host: s.host, port: s.port, dataDir: s.dataDir, node: process.version, nofile: openFileLimit(), rateLimit: s.rateLimit, maxQueue: s.maxQueue },
      `presenter-serve ${s.profile} profile (${s.profileReason}): ${s.fork ? `${s.workers} worker(s)` : 'serving from the primary'} × ${s.threads} job slots on ${s.host}:${s.port}`,
    );
    this.control = await listenControl(s.dataDir, (command) => this.onControl(command));
    this.installSignals();
    if (s.fork) {
      this.aggregator = new AggregatorRegistry();
      // One worker accepts its own connections (SCHED_NONE): with round-robin the primary would
      // accept every connection and pass it over IPC for nothing. Several workers keep
      // round-robin, which spreads connections evenly. NODE_CLUSTER_SCHED_POLICY still wins.
      if (!this.ctx.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = s.workers === 1 ? cluster.SCHED_NONE : cluster.SCHED_RR;
      cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], silent: true });
      for (let i = 0; i < s.workers; i++) {
        const slot: Slot = { index: i, worker: undefined, pid: undefined, startedAt: 0, readyAt: undefined, restarts: 0, stopping: false, stderrTail: [], restartTimer: undefined };
        this.slots.push(slot);
      }
      // A worker that crashes at start-up is restarted like any other; a port or permission
      // problem is the operator's to fix: stop with exit 2.
      const results = await Promise.allSettled(this.slots.map((slot) => this.fork(slot)));
      const configError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && (r.reason as { config?: boolean }).config === true);
      if (configError && this.state === 'starting') {
        await this.shutdown(2, (configError.reason as Error).message);
        return this.done;
      }
    } else {
      try {
        this.service = await startService({ settings: s, logger: this.logger, env: this.ctx.env });
      } catch (error) {
        await this.shutdown(2, this.describeStartError((error as NodeJS.ErrnoException).code, (error as Error).message));
        return this.done;
      }
      this.logger.info({ event: 'worker.ready', host: s.host, port: s.port }, 'Serving from the primary process');
    }
    if (this.state === 'starting') {
      this.state = 'running';
      if (s.fork && !this.slots.some((slot) => slot.readyAt)) return this.done;
      this.logger.info({ event: 'supervisor.ready', url: `http://${s.host === '0.0.0.0' ? '127.0.0.1' : s.host}:${s.port}/` }, `Ready on http://${s.host}:${s.port}/`);
    }
    return this.done;
  }

  private describeStartError(code: string | undefined, message: string): string {
    if (code === 'EADDRINUSE') return `port ${this.settings.port} on ${this.settings.host} is already in use`;
    if (code === 'EACCES') return `no permission to listen on ${this.settings.host}:${this.settings.port}`;
    return message;
  }

  private fork(slot: Slot): Promise<void> {
    const env = { ...this.ctx.env, [SETTINGS_ENV]: JSON.stringify(this.settings) };
    const worker = cluster.fork(env);
    slot.worker = worker;
    slot.pid = worker.process.pid;
    slot.startedAt = Date.now();
    slot.readyAt = undefined;
    slot.stopping = false;
    slot.stderrTail = [];
    if (worker.process.stdout) this.sink.forward(worker.process.stdout);
    worker.process.stderr?.setEncoding('utf8');
    worker.process.stderr?.on('data', (chunk: string) => {
      this.ctx.stderr.write(chunk);
      slot.stderrTail.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
      if (slot.stderrTail.length > STDERR_TAIL_LINES) slot.stderrTail.splice(0, slot.stderrTail.length - STDERR_TAIL_LINES);
    });
    this.logger.info({ event: 'worker.started', workerId: worker.id, workerPid: worker.process.pid, slot: slot.index }, `Worker ${worker.id} started (pid ${worker.process.pid})`);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`worker ${worker.id} was not ready within ${READY_TIMEOUT_MS / 1000} s`));
        worker.process.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      worker.on('message', (message: unknown) => {
        if (!isMessage<FromWorker>(message)) return;
        switch (message.type) {
          case 'ready':
            slot.readyAt = Date.now();
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              resolve();
            }
            break;
          case 'fatal':
            if (!settled && (message.code === 'EADDRINUSE' || message.code === 'EACCES')) {
              settled = true;
              clearTimeout(timer);
              reject(Object.assign(new Error(this.describeStartError(message.code, message.message)), { config: true }));
            }
            break;
          case 'stats':
            this.pendingStats.get(message.requestId)?.(message);
            this.pendingStats.delete(message.requestId);
            break;
          case 'enqueued':
            for (const other of this.slots) if (other.worker && other.worker !== worker && other.readyAt) this.send(other.worker, { type: 'wake' });
            break;
          case 'metrics':
            this.aggregateMetrics(worker, message.requestId);
            break;
          case 'rate':
            this.send(worker, { type: 'rate', requestId: message.requestId, ...this.rates.hit(message.key, message.windowMs) });
            break;
        }
      });
      worker.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(new Error(`worker ${worker.id} exited during start-up (${signal ?? `code ${code}`})${slot.stderrTail.length ? `: ${slot.stderrTail[slot.stderrTail.length - 1]}` : ''}`));
        }
        this.onExit(slot, worker, code, signal);
      });
    });
  }

  private aggregateMetrics(worker: Worker, requestId: number): void {
    const aggregator = this.aggregator;
    if (!aggregator) return;
    aggregator.clusterMetrics().then(
      (text: string) => this.send(worker, { type: 'metrics', requestId, text }),
      (error: Error) => this.send(worker, { type: 'metrics', requestId, error: error.message }),
    );
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const expected = slot.stopping || this.state === 'stopping' || slot.worker !== worker;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    this.logger[expected ? 'info' : 'warn'](
      { event: 'worker.exited', workerId: worker.id, workerPid: worker.process.pid, code, signal, expected },
      `Worker ${worker.id} (pid ${worker.process.pid}) exited with ${how}`,
    );
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.pid = undefined;
    if (expected) return;

    const delay = this.backoff.crashed(Date.now(), slot.readyAt);
    if (delay === 'loop') {
      const lastError = slot.stderrTail.slice(-12).join('\n') || `(the worker printed nothing; it exited with ${how})`;
      this.logger.error({ event: 'worker.crash_loop', workerId: worker.id, lastError }, 'Workers crashed 10 times within 60 s: stopping');
      this.ctx.stderr.write(`error: crash loop: workers crashed 10 times within 60 s. The last worker's error:\n${lastError}\n`);
      void this.shutdown(1, 'crash loop');
      return;
    }
    slot.restarts++;
    this.logger.warn({ event: 'worker.restarting', slot: slot.index, delayMs: delay, restarts: slot.restarts }, `Restarting worker in ${delay} ms`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.state === 'stopping') return;
      this.fork(slot).catch((error: Error) => this.logger.error({ event: 'worker.start_failed', err: error }, error.message));
    }, delay);
  }

  private async onControl(command: 'status' | 'reload' | 'stop'): Promise<unknown> {
    switch (command) {
      case 'status':
        return this.status();
      case 'reload':
        return this.reload();
      case 'stop':
        setImmediate(() => void this.shutdown(0, 'asked by `presenter-serve stop`'));
        return { stopping: true, pid: process.pid };
    }
  }

  async status(): Promise<SupervisorStatus> {
    const now = Date.now();
    const s = this.settings;
    const base = {
      pid: process.pid,
      profile: s.profile,
      host: s.host,
      port: s.port,
      dataDir: s.dataDir,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSec: Math.round((now - this.startedAt) / 1000),
    };
    if (!s.fork) {
      const stats = this.service?.stats();
      return { ...base, mode: 'single', workers: [{ id: 0, pid: process.pid, state: this.service ? 'ready' : 'starting', uptimeSec: base.uptimeSec, restarts: 0, rssBytes: stats?.rssBytes ?? null, activeJobs: stats?.activeJobs ?? null }] };
    }
    const workers = await Promise.all(
      this.slots.map(async (slot) => {
        const stats = slot.worker ? await this.workerStats(slot.worker) : undefined;
        return {
          id: slot.worker?.id ?? 0,
          pid: slot.pid,
          state: !slot.worker ? 'restarting' : slot.stopping ? 'stopping' : slot.readyAt ? 'ready' : 'starting',
          uptimeSec: slot.worker ? Math.round((now - slot.startedAt) / 1000) : 0,
          restarts: slot.restarts,
          rssBytes: stats?.rssBytes ?? null,
          activeJobs: stats?.activeJobs ?? null,
        };
      }),
    );
    return { ...base, mode: 'cluster', workers };
  }

  private workerStats(worker: Worker): Promise<{ rssBytes: number; activeJobs: number } | undefined> {
    return new Promise((resolve) => {
      const requestId = ++this.requestId;
      const timer = setTimeout(() => {
        this.pendingStats.delete(requestId);
        resolve(undefined);
      }, 1000);
      this.pendingStats.set(requestId, (message) => {
        clearTimeout(timer);
        resolve(message.stats);
      });
      this.send(worker, { type: 'stats', requestId });
    });
  }

  /** Rolling reload: per slot, a new worker must be ready before the old one is asked to stop. */
  async reload(): Promise<{ reloaded: number; pids: (number | undefined)[] }> {
    if (!this.settings.fork) throw new Error('the windows profile serves from one process: there is no second worker to hand over to; restart it instead (stop, then serve)');
    if (this.state !== 'running') throw new Error(`cannot reload while ${this.state}`);
    this.state = 'reloading';
    this.logger.info({ event: 'supervisor.reloading', workers: this.slots.length }, 'Reloading workers one at a time');
    let reloaded = 0;
    try {
      for (const slot of this.slots) {
        if (this.state !== 'reloading') break;
        const old = { ...slot };
        try {
          await this.fork(slot);
        } catch (error) {
          // the new worker failed: keep the old one serving and stop the reload
          Object.assign(slot, { worker: old.worker, pid: old.pid, startedAt: old.startedAt, readyAt: old.readyAt, stderrTail: old.stderrTail, stopping: false });
          throw error;
        }
        if (old.worker) await this.stopWorker(old.worker);
        reloaded++;
      }
    } finally {
      if (this.state === 'reloading') this.state = 'running';
    }
    this.logger.info({ event: 'supervisor.reloaded', workers: reloaded }, `Reloaded ${reloaded} worker(s)`);
    return { reloaded, pids: this.slots.map((s) => s.pid) };
  }

  private stopWorker(worker: Worker): Promise<void> {
    return new Promise((resolve) => {
      if (worker.isDead()) return resolve();
      const timer = setTimeout(() => {
        this.logger.warn({ event: 'worker.killed', workerId: worker.id }, `Worker ${worker.id} did not stop in time: killing it`);
        worker.process.kill('SIGKILL');
      }, this.settings.gracefulTimeoutMs + 5000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send(worker, { type: 'stop', timeoutMs: this.settings.gracefulTimeoutMs });
    });
  }

  private installSignals(): void {
    const onSignal = (signal: string) => {
      if (this.state === 'stopping') {
        this.logger.warn({ event: 'supervisor.forced', signal }, `Second ${signal}: forcing exit`);
        for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
        flushLoggerSync(this.logger);
        removePidFile(this.settings.dataDir);
        process.exit(1);
      }
      void this.shutdown(0, `${signal} received`);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGBREAK'] as const) {
      try {
        process.on(signal, () => onSignal(signal));
      } catch {
        // not on this platform
      }
    }
    try {
      process.on('SIGHUP', () => {
        this.reload().catch((error: Error) => this.logger.error({ event: 'supervisor.reload_failed', err: error }, `Reload failed: ${error.message}`));
      });
    } catch {
      // no SIGHUP on Windows: use `presenter-serve reload`
    }
  }

  /** Graceful stop: workers finish in-flight requests and jobs within the timeout. */
  async shutdown(exitCode: number, reason: string): Promise<void> {
    if (this.state === 'stopping') return;
    const startError = this.state === 'starting' && exitCode !== 0;
    this.state = 'stopping';
    this.logger.info({ event: 'supervisor.stopping', reason, gracefulTimeoutMs: this.settings.gracefulTimeoutMs }, `Stopping: ${reason}`);
    if (startError && exitCode === 2) this.ctx.stderr.write(`error: ${reason}\n  fix: ${this.fixFor(reason)}\n`);
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    await Promise.all(
      this.slots.map((slot) => {
        const worker = slot.worker;
        if (!worker) return undefined;
        slot.stopping = true;
        return this.stopWorker(worker);
      }),
    );
    if (this.service) await this.service.stop(this.settings.gracefulTimeoutMs);
    this.control?.close();
    removePidFile(this.settings.dataDir);
    this.logger.info({ event: 'supervisor.stopped', exitCode, uptimeSec: Math.round((Date.now() - this.startedAt) / 1000) }, 'Stopped');
    flushLoggerSync(this.logger);
    await this.sink.close();
    this.finish({ exitCode });
  }

  private fixFor(reason: string): string {
    if (reason.includes('already in use')) return `stop what holds port ${this.settings.port} (\`lsof -i :${this.settings.port}\` or \`ss -ltnp\`), or choose another port with --port`;
    if (reason.includes('permission')) return 'use a port above 1024, or grant the capability to bind low ports';
    return 'see the log lines above';
  }
}
