import { redactDatabaseUrl } from '../store/database-url.js';
import cluster from 'node:cluster';
import { randomInt } from 'node:crypto';
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
import { ACCESS_STDIO } from '../logging/access.js';
import { AccessSink } from '../logging/access-sink.js';
import { LogSink } from '../logging/sink.js';
import { startService, type Service } from '../worker/service.js';
import { bootFailureVerdict, BootFailures, RESTART_POLICY, SlotHistory } from './backoff.js';
import { listenCopies, ListenSocket } from './listen-socket.js';
import { Heartbeats } from './heartbeat.js';
import { listenControl, type ControlArgs, type ControlCommand } from './control.js';
import type { DataDirLock } from './lock.js';
import { SETTINGS_ENV, type FromWorker, type ToWorker } from './messages.js';
import { createNotifier, type Notifier } from './notify.js';
import { removePidFile } from './pidfile.js';
import { installSignals } from './signals.js';
import { SlotTable, type ReplaceOutcome } from './slots.js';
import { baseStatus, describeDriver, loadFields, workerRows, type SupervisorStatus } from './status.js';
import { channelGone, describeExit, forkWorker, sendTo, stopWorker, type WorkerProcess } from './worker-process.js';

export type { SupervisorStatus } from './status.js';

/** The most workers `scale` starts (as --workers allows). */
const MAX_WORKERS = 64;

/** A worker is replaced for its memory only after this long in service (see maybeRecycle). */
const RECYCLE_MIN_AGE_MS = 5000;
/** Recycling a slot whose replacement could not start: tried again after 1 s, doubling to 60 s. */
const RECYCLE_RETRY_MS = { initial: 1000, cap: 60_000 };

const WORKER_ENTRY = fileURLToPath(new URL('../worker/entry.js', import.meta.url));

export interface RunResult {
  exitCode: number;
}

// The primary process: owns the log file, the control channel and the data dir lock. The slots'
// bookkeeping is the SlotTable (slots.ts); this class is the state machine around it:
// starting → running ⇄ reloading → stopping, and it carries out the table's effects.
export class Supervisor {
  private readonly sink: LogSink;
  private readonly accessSink: AccessSink | undefined;
  readonly logger: Logger;
  private readonly table: SlotTable<WorkerProcess>;
  /** Per slot: restarts, backoff, boot failures, why the last worker went; new when scale reuses a slot. */
  private readonly history: SlotHistory[];
  /** Why the supervisor itself ended a worker, for lastExit: hung, recycled. */
  private readonly endedBecause = new WeakMap<WorkerProcess, string>();
  private readonly restartTimers: (NodeJS.Timeout | undefined)[];
  private readonly pendingReplace = new Map<number, (outcome: ReplaceOutcome<WorkerProcess>) => void>();
  private readonly bootFailures = new BootFailures();
  private readonly startedAt = Date.now();
  private control: Server | undefined;
  private service: Service | undefined;
  private aggregator: AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> | undefined;
  private state: 'starting' | 'running' | 'reloading' | 'stopping' = 'starting';
  private quick = false;
  private finish!: (result: RunResult) => void;
  private readonly done = new Promise<RunResult>((resolve) => {
    this.finish = resolve;
  });
  private requestId = 0;
  private readonly pendingStats = new Map<number, (stats: FromWorker & { type: 'stats' }) => void>();
  // one count per client for all workers: per-worker counts would multiply the limit by their number
  private readonly rates = new RateCounter();
  private listenSocket: ListenSocket | undefined;
  private scaling = false;
  private readonly heartbeats: Heartbeats<WorkerProcess>;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private pingSeq = 0;
  /** Slots whose worker is being replaced for --max-memory / --max-requests, and when that is done. */
  private readonly recycling = new Map<number, Promise<void>>();
  /** Each worker's --max-requests plus its own jitter, drawn when it became ready. */
  private readonly requestLimits = new WeakMap<WorkerProcess, number>();
  private readonly notify: Notifier;

  constructor(
    private settings: Settings,
    private readonly ctx: Context,
    private readonly options: {
      quiet?: boolean;
      lock?: DataDirLock;
      /** The settings resolved again (the profile file re-read), for a reload; throws a ConfigError for a broken profile. */
      reread?: () => Settings;
    } = {},
  ) {
    this.sink = new LogSink({
      logDir: join(settings.dataDir, 'logs'),
      maxBytes: settings.logMaxBytes,
      maxFiles: settings.logMaxFiles,
      console: ctx.stdout,
      quiet: options.quiet,
    });
    this.logger = createLogger(settings.logLevel, 0, this.sink);
    this.heartbeats = new Heartbeats<WorkerProcess>(settings.fork ? settings.heartbeatTimeoutMs : 0);
    if (settings.accessLog) this.accessSink = new AccessSink({ target: settings.accessLog, maxBytes: settings.logMaxBytes, maxFiles: settings.logMaxFiles, stdout: ctx.stdout });
    this.notify = createNotifier(ctx.env, this.logger);
    const count = settings.fork ? settings.workers : 0;
    this.history = Array.from({ length: count }, () => new SlotHistory());
    this.restartTimers = new Array<NodeJS.Timeout | undefined>(count).fill(undefined);
    this.table = new SlotTable<WorkerProcess>(count, {
      fork: (slot) => this.forkWorker(slot),
      stop: (proc) => stopWorker(proc, this.stopTimeoutMs(), () => this.logger.warn({ event: 'worker.killed', workerId: proc.id }, `Worker ${proc.id} did not stop in time: killing it`)),
      crashed: (slot, proc) => this.onCrash(slot, proc),
      cancelRestart: (slot) => {
        clearTimeout(this.restartTimers[slot]);
        this.restartTimers[slot] = undefined;
      },
      replaced: (slot, outcome) => {
        const resolve = this.pendingReplace.get(slot);
        this.pendingReplace.delete(slot);
        resolve?.(outcome);
      },
    });
  }

  /** Runs until stopped; resolves with the exit code. */
  async run(): Promise<RunResult> {
    const s = this.settings;
    this.logger.info(
      { event: 'supervisor.started', profile: s.profile, reason: s.profileReason, workers: s.fork ? s.workers : 0, threads: s.threads, host: s.host, port: s.port, dataDir: s.dataDir, store: s.databaseUrl ? redactDatabaseUrl(s.databaseUrl) : 'sqlite', ...(s.databaseUrl ? {} : { sqliteDriver: s.sqliteDriver, sqliteDriverReason: s.sqliteDriverReason }), node: process.version, nofile: openFileLimit(), rateLimit: s.rateLimit, maxQueue: s.maxQueue },
      `presenter-serve ${s.profile} profile (${s.profileReason}): ${s.fork ? `${s.workers} worker(s)` : 'serving from the primary'} × ${s.threads} job slots on ${s.host}:${s.port}, store ${s.databaseUrl ? `PostgreSQL ${redactDatabaseUrl(s.databaseUrl)}` : `SQLite in the data dir, sqlite driver: ${describeDriver({ name: s.sqliteDriver, reason: s.sqliteDriverReason })}`}`,
    );
    this.control = await listenControl(s.dataDir, (command, args) => this.onControl(command, args));
    installSignals(
      {
        stop: (signal) => this.onStopSignal(signal),
        quickStop: (signal) => this.onQuickStop(signal),
        reload: () => this.onHangup(),
        scale: (delta, signal) => this.onScaleSignal(delta, signal),
        reopenLogs: () => {
          this.sink.reopen();
          this.accessSink?.reopen();
        },
      },
      this.logger,
    );
    if (s.fork) {
      this.aggregator = new AggregatorRegistry();
      // The supervisor owns the listening socket for its whole life and every worker accepts from
      // it (listen-socket.ts): while a worker is replaced, clients wait instead of being refused.
      try {
        this.listenSocket = await ListenSocket.bind(s.host, s.port);
      } catch (error) {
        await this.shutdown(2, this.describeStartError((error as NodeJS.ErrnoException).code, (error as Error).message));
        return this.done;
      }
      cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], silent: true, ...(this.accessSink ? { stdio: [...ACCESS_STDIO] } : {}) });
      // the pings are the heartbeat and carry what recycling reads (RSS, requests served)
      this.heartbeatTimer = setInterval(() => this.checkHeartbeats(), this.heartbeats.intervalMs);
      this.heartbeatTimer.unref();
      // `running` once every slot has a ready worker (see onReady); a crashing worker is restarted.
      this.table.start();
    } else {
      try {
        this.service = await startService({ settings: s, logger: this.logger, accessLog: this.accessSink?.logger(), env: this.ctx.env });
      } catch (error) {
        await this.shutdown(2, this.describeStartError((error as NodeJS.ErrnoException).code, (error as Error).message));
        return this.done;
      }
      this.logger.info({ event: 'worker.ready', host: s.host, port: s.port }, 'Serving from the primary process');
      this.markRunning();
    }
    return this.done;
  }

  private markRunning(): void {
    if (this.state !== 'starting') return;
    this.state = 'running';
    const s = this.settings;
    this.logger.info({ event: 'supervisor.ready', url: `http://${s.host === '0.0.0.0' ? '127.0.0.1' : s.host}:${s.port}/` }, `Ready on http://${s.host}:${s.port}/`);
    this.notify.ready(this.workerSummary());
  }

  /** systemd's STATUS= line: what `systemctl status` shows. */
  private workerSummary(): string {
    if (!this.settings.fork) return 'serving from the primary process';
    const ready = this.table.workers().filter((w) => w.role === 'current' && w.ready).length;
    const restarting = this.restartTimers.filter((timer) => timer !== undefined).length;
    return `${ready} worker(s) ready, ${restarting} restarting`;
  }

  private slotHistory(slot: number): SlotHistory {
    return (this.history[slot] ??= new SlotHistory());
  }

  private describeStartError(code: string | undefined, message: string): string {
    if (code === 'EADDRINUSE') return `port ${this.settings.port} on ${this.settings.host} is already in use`;
    if (code === 'EACCES') return `no permission to listen on ${this.settings.host}:${this.settings.port}`;
    return message;
  }

  private forkWorker(slot: number): WorkerProcess {
    const env = { ...this.ctx.env, [SETTINGS_ENV]: JSON.stringify(this.settings) };
    const proc = forkWorker(env, this.sink, this.accessSink, this.ctx.stderr, {
      ready: (p) => {
        this.bootFailures.booted();
        const history = this.slotHistory(slot);
        const failed = history.bootFailures;
        history.bootFailures = 0;
        if (failed >= RESTART_POLICY.loopCrashes) this.logger.info({ event: 'worker.boot_recovered', slot, failures: failed }, `Slot ${slot} has a ready worker again after ${failed} that died before they were ready`);
        this.heartbeats.watch(p, Date.now());
        const { maxRequests, maxRequestsJitter } = this.settings;
        if (maxRequests > 0) this.requestLimits.set(p, maxRequests + (maxRequestsJitter > 0 ? randomInt(0, maxRequestsJitter + 1) : 0));
        this.table.ready(p);
        // Asked to stop while it was starting (a stop or a scale down during its start): that
        // message may have come before the worker listened for any, and is then lost. Its `ready`
        // proves it listens now: ask again, or it would serve on until the kill timer.
        if (this.table.workers().find((w) => w.worker === p)?.role === 'retiring') sendTo(p, { type: 'stop', timeoutMs: this.settings.gracefulTimeoutMs });
        // a restarted worker is back (READY=1 itself says so at start-up)
        if (this.state === 'running') this.notify.status(this.workerSummary());
        if (this.table.settled()) this.markRunning();
      },
      exited: (p) => this.onExit(p),
      message: (p, message) => this.onMessage(p, message),
      error: (p, error) => {
        if (channelGone(error)) this.logger.debug({ event: 'worker.ipc_error', workerId: p.id, code: error.code }, `Worker ${p.id} could not be reached (${error.code}): it is exiting`);
        else this.logger.warn({ event: 'worker.ipc_error', workerId: p.id, code: error.code }, `Worker ${p.id}: ${error.message}`);
      },
    });
    this.logger.info({ event: 'worker.started', workerId: proc.id, workerPid: proc.pid, slot }, `Worker ${proc.id} started (pid ${proc.pid})`);
    return proc;
  }

  private onMessage(proc: WorkerProcess, message: FromWorker): void {
    switch (message.type) {
      case 'fatal':
        // A port or permission problem at start-up is the operator's to fix: stop with exit 2.
        if (this.state === 'starting' && (message.code === 'EADDRINUSE' || message.code === 'EACCES')) {
          void this.shutdown(2, this.describeStartError(message.code, message.message));
        }
        break;
      case 'stats':
        this.pendingStats.get(message.requestId)?.(message);
        this.pendingStats.delete(message.requestId);
        break;
      case 'enqueued':
        for (const other of this.table.workers()) if (other.role === 'current' && other.ready && other.worker !== proc) sendTo(other.worker, { type: 'wake' });
        break;
      case 'metrics':
        this.aggregator?.clusterMetrics().then(
          (text: string) => sendTo(proc, { type: 'metrics', requestId: message.requestId, text }),
          (error: Error) => sendTo(proc, { type: 'metrics', requestId: message.requestId, error: error.message }),
        );
        break;
      case 'rate':
        sendTo(proc, { type: 'rate', requestId: message.requestId, ...this.rates.hit(message.key, message.windowMs) });
        break;
      case 'listen': {
        // a starting worker asks for the socket once its app is ready to serve
        const handle = this.listenSocket?.sendable;
        const copies = listenCopies(message.copies);
        for (let i = 0; i < copies && handle && proc.worker.isConnected(); i++) proc.worker.send({ type: 'socket', copies } satisfies ToWorker, handle as never, () => {});
        break;
      }
      case 'pong':
        this.heartbeats.answered(proc, Date.now(), message.requests, message.activeJobs, message.load);
        this.maybeRecycle(proc, message);
        break;
      case 'ready':
        break;
    }
  }

  /**
   * Pings every serving worker, and kills the ones silent for longer than --timeout: a blocked
   * event loop or a stopped process. Its exit is then a crash like any other (restarted with
   * backoff); its jobs are taken over when their leases expire.
   */
  private checkHeartbeats(): void {
    const now = Date.now();
    const serving = new Set(this.table.workers().filter((w) => w.role !== 'retiring').map((w) => w.worker));
    // a worker asked to stop has a deadline of its own (stopWorker): not watched any more
    for (const proc of this.heartbeats.watched()) if (!serving.has(proc) || proc.exit) this.heartbeats.forget(proc);
    if (this.state === 'stopping') return;
    for (const hung of this.heartbeats.takeHung(now)) {
      const proc = hung.worker;
      this.logger.error(
        { event: 'worker.hung', workerId: proc.id, workerPid: proc.pid, silentMs: hung.silentMs, timeoutMs: this.heartbeats.timeoutMs, requests: hung.requests, activeJobs: hung.activeJobs },
        `Worker ${proc.id} (pid ${proc.pid}) has not answered for ${Math.round(hung.silentMs / 1000)} s (--timeout ${this.heartbeats.timeoutMs / 1000} s) while serving ${hung.requests} request(s) and holding ${hung.activeJobs} job(s): killing it; its jobs are taken over when their leases expire`,
      );
      this.endedBecause.set(proc, `hung (no heartbeat for ${Math.round(hung.silentMs / 1000)} s)`);
      proc.worker.process.kill('SIGKILL');
    }
    const seq = ++this.pingSeq;
    for (const proc of this.heartbeats.watched()) sendTo(proc, { type: 'ping', seq });
  }

  private onExit(proc: WorkerProcess): void {
    this.heartbeats.forget(proc);
    const tracked = this.table.workers().find((w) => w.worker === proc);
    const role = tracked?.role;
    if (tracked && this.state !== 'stopping') this.slotHistory(tracked.slot).lastExit = this.endedBecause.get(proc) ?? (role === 'retiring' ? 'replaced (reload)' : describeExit(proc));
    const expected = role === 'retiring' || this.state === 'stopping';
    this.logger[expected ? 'info' : 'warn'](
      { event: 'worker.exited', workerId: proc.id, workerPid: proc.pid, code: proc.exit?.code, signal: proc.exit?.signal, expected },
      `Worker ${proc.id} (pid ${proc.pid}) exited with ${describeExit(proc)}`,
    );
    this.table.exited(proc);
  }

  // The table asks for a restart: a serving worker crashed (or a replacement died with no
  // worker left in its slot). backoff.ts has the policy: per-slot delays; only workers that keep
  // dying before they are ready stop the service.
  private onCrash(slot: number, proc: WorkerProcess): void {
    const now = Date.now();
    const history = this.slotHistory(slot);
    if (proc.readyAt === undefined) {
      const slotFailures = ++history.bootFailures;
      const serving = this.table.workers().filter((w) => w.role === 'current' && w.ready).length;
      const verdict = bootFailureVerdict({ starting: this.state === 'starting', bootLoop: this.bootFailures.failed(now), serving, slotFailures });
      const lastError = proc.stderrTail.slice(-12).join('\n') || `(the worker printed nothing; it exited with ${describeExit(proc)})`;
      if (verdict === 'stop') {
        const why = this.state === 'starting' ? 'Workers died before they were ready 10 times within 60 s: the service cannot start; stopping' : `No worker serves and slot ${slot}'s new workers died before they were ready ${slotFailures} times in a row; stopping`;
        this.logger.error({ event: 'worker.crash_loop', workerId: proc.id, slot, lastError }, why);
        this.ctx.stderr.write(`error: crash loop: ${this.state === 'starting' ? 'workers crashed 10 times within 60 s before they were ready' : `no worker serves and slot ${slot}'s workers crashed ${slotFailures} times in a row before they were ready`}. The last worker's error:\n${lastError}\n`);
        setImmediate(() => void this.shutdown(1, 'crash loop'));
        return;
      }
      // Once the service runs, the workers that still serve are never taken down by a slot whose
      // new workers cannot boot: it retries at its capped delay, said at error every 10th time.
      if (verdict === 'failing') {
        this.logger.error(
          { event: 'worker.boot_failing', slot, workerId: proc.id, failures: slotFailures, serving, lastError },
          `Slot ${slot}'s new workers died before they were ready ${slotFailures} times in a row; ${serving} worker(s) still serve, the slot keeps retrying`,
        );
      }
    }
    const delay = history.backoff.next(now, proc.readyAt);
    history.restarts++;
    this.logger.warn(
      { event: 'worker.restarting', slot, delayMs: delay, restarts: history.restarts, wasReady: proc.readyAt !== undefined },
      `Restarting worker in ${delay} ms`,
    );
    this.restartTimers[slot] = setTimeout(() => {
      this.restartTimers[slot] = undefined;
      this.table.restartDue(slot);
    }, delay);
    this.notify.status(this.workerSummary());
  }

  private async onControl(command: ControlCommand, args: ControlArgs): Promise<unknown> {
    switch (command) {
      case 'status':
        return this.status();
      case 'reload':
        return this.reload();
      case 'scale':
        if (args.workers === undefined) throw new Error('scale needs the number of workers');
        return this.scale(args.workers);
      case 'stop':
        setImmediate(() => void this.shutdown(0, 'asked by `presenter-serve stop`'));
        return { stopping: true, pid: process.pid };
    }
  }

  async status(): Promise<SupervisorStatus> {
    const now = Date.now();
    const base = baseStatus(this.settings, this.startedAt, now);
    if (!this.settings.fork) {
      // the windows profile: the primary serves; its load is measured since the previous status
      const stats = this.service?.stats();
      const load = this.service?.sample();
      return {
        ...base,
        mode: 'single',
        queueDepth: load?.queueDepth ?? null,
        workers: [
          { id: 0, slot: 0, pid: process.pid, state: this.service ? 'ready' : 'starting', uptimeSec: base.uptimeSec, restarts: 0, rssBytes: stats?.rssBytes ?? null, activeJobs: stats?.activeJobs ?? null, ...loadFields(load), lastExit: null },
        ],
      };
    }
    const workers = await workerRows(this.table, (slot) => this.slotHistory(slot), now, (proc) => this.workerStats(proc), (proc) => this.heartbeats.unresponsive(proc, Date.now()), {
      load: (proc) => this.heartbeats.lastAnswer(proc)?.load,
    });
    const depths = this.heartbeats
      .watched()
      .map((proc) => this.heartbeats.lastAnswer(proc)?.load?.queueDepth)
      .filter((n): n is number => typeof n === 'number');
    return { ...base, mode: 'cluster', workers, queueDepth: depths.length > 0 ? Math.max(...depths) : null };
  }

  private workerStats(proc: WorkerProcess): Promise<{ rssBytes: number; activeJobs: number } | undefined> {
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
      sendTo(proc, { type: 'stats', requestId });
    });
  }

  /**
   * Live scaling (`presenter-serve scale N`, TTIN/TTOU): new slots are forked; removed slots'
   * workers drain as in a reload, so no request fails. Answers once every remaining slot serves.
   */
  async scale(workers: number): Promise<{ from: number; to: number; pids: (number | undefined)[] }> {
    if (!this.settings.fork) throw new Error('the windows profile serves from one process: it has no workers to add or remove');
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new Error(`the number of workers must be from 1 to ${MAX_WORKERS}, not ${workers}`);
    if (this.state !== 'running') throw new Error(this.state === 'reloading' ? 'a reload is running; scale once it is done' : `the server is ${this.state}`);
    if (this.scaling) throw new Error('a scale is already running');
    this.scaling = true;
    const from = this.table.openCount;
    try {
      while (this.table.openCount < workers) {
        // a new slot, or a removed one used again: its history starts afresh
        this.history[this.table.grow()] = new SlotHistory();
      }
      while (this.table.openCount > workers) if (this.table.shrink() === undefined) break;
      this.logger.info({ event: 'supervisor.scaled', from, to: workers }, `Scaled from ${from} to ${workers} worker(s)`);
      const deadline = Date.now() + 60_000;
      while (!this.table.serving() && Date.now() < deadline && this.state === 'running') await new Promise((r) => setTimeout(r, 50));
      if (!this.table.serving()) throw new Error(`not every worker was ready within 60 s (${this.table.openCount} wanted); see \`presenter-serve status\` and the log`);
    } finally {
      this.scaling = false;
    }
    return { from, to: workers, pids: this.table.workers().filter((w) => w.role === 'current').map((w) => w.worker.pid) };
  }

  private onScaleSignal(delta: 1 | -1, signal: string): void {
    const to = (this.settings.fork ? this.table.openCount : 1) + delta;
    this.scale(to).catch((error: Error) => this.logger.warn({ event: 'supervisor.scale_refused', signal, reason: error.message }, `${signal} ignored: ${error.message}`));
  }

  /** Why a reload cannot start now, in the words `reload` prints; undefined when it can. */
  private reloadRefusal(): string | undefined {
    if (!this.settings.fork) return 'the windows profile serves from one process: there is no second worker to hand over to; restart it instead (stop, then serve)';
    if (this.state === 'reloading') return 'a reload is already running';
    if (this.scaling) return 'a scale is running; reload once it is done';
    if (this.state === 'starting') return 'the server is still starting; reload once `status` shows every worker ready';
    if (this.state === 'stopping') return 'the server is stopping';
    return undefined;
  }

  /**
   * --max-memory / --max-requests: the worker is replaced the reload way (the new one ready first,
   * the old one drains), so no request fails. A worker is judged on memory only after 5 s of
   * service: a limit below a fresh worker's size must not replace workers in a loop.
   */
  private maybeRecycle(proc: WorkerProcess, beat: { served: number; rssBytes: number }): void {
    const s = this.settings;
    if (this.state !== 'running' || (s.maxMemoryBytes === 0 && s.maxRequests === 0)) return;
    const tracked = this.table.workers().find((w) => w.worker === proc);
    if (!tracked || tracked.role !== 'current' || !tracked.ready || this.recycling.has(tracked.slot)) return;
    // a replacement that could not start (a broken install on disk) is tried again later, not at every heartbeat
    if (Date.now() < (this.slotHistory(tracked.slot).recycleRetry?.retryAt ?? 0)) return;
    const limit = this.requestLimits.get(proc);
    let reason: Record<string, unknown> | undefined;
    if (s.maxMemoryBytes > 0 && beat.rssBytes > s.maxMemoryBytes && Date.now() - (proc.readyAt ?? Date.now()) >= RECYCLE_MIN_AGE_MS) {
      reason = { reason: 'max-memory', rssBytes: beat.rssBytes, limitBytes: s.maxMemoryBytes };
    } else if (limit !== undefined && beat.served >= limit) {
      reason = { reason: 'max-requests', served: beat.served, limit };
    }
    if (!reason) return;
    const slot = tracked.slot;
    this.endedBecause.set(proc, `recycled: ${String(reason.reason)}`);
    this.logger.info(
      { event: 'worker.recycled', workerId: proc.id, workerPid: proc.pid, slot, ...reason },
      reason.reason === 'max-memory'
        ? `Replacing worker ${proc.id} (pid ${proc.pid}): ${Math.round(beat.rssBytes / 1048576)} MB is above --max-memory ${Math.round(s.maxMemoryBytes / 1048576)} MB`
        : `Replacing worker ${proc.id} (pid ${proc.pid}): ${beat.served} requests served (--max-requests, its limit ${limit})`,
    );
    const done = this.replaceSlot(slot).then(
      async (outcome) => {
        if (outcome.ok) {
          this.slotHistory(slot).recycleRetry = undefined;
          await proc.exited;
          return;
        }
        this.endedBecause.delete(proc); // it serves on: a later exit is not this recycling's
        if (outcome.reason === 'stopping') return;
        const history = this.slotHistory(slot);
        const previous = history.recycleRetry?.delayMs;
        const delayMs = previous === undefined ? RECYCLE_RETRY_MS.initial : Math.min(RECYCLE_RETRY_MS.cap, previous * 2);
        history.recycleRetry = { delayMs, retryAt: Date.now() + delayMs };
        this.logger.warn({ event: 'worker.recycle_failed', workerId: proc.id, slot, reason: outcome.reason, retryInMs: delayMs }, `Replacing worker ${proc.id} failed (${outcome.reason}); it keeps serving, the next try in ${delayMs} ms`);
      },
    ).finally(() => this.recycling.delete(slot));
    this.recycling.set(slot, done);
  }

  private replaceSlot(slot: number): Promise<ReplaceOutcome<WorkerProcess>> {
    return new Promise<ReplaceOutcome<WorkerProcess>>((resolve) => {
      this.pendingReplace.set(slot, resolve);
      this.table.replace(slot);
    });
  }

  /** Rolling reload: per slot, a new worker must be ready before the old one is asked to stop. */
  async reload(): Promise<{ reloaded: number; pids: (number | undefined)[]; changed: string[]; notLive: string[] }> {
    const refusal = this.reloadRefusal();
    if (refusal) throw new Error(refusal);
    // the profile and the environment are read again: a broken profile refuses the reload and
    // the workers serve on with what they have
    const { changed, notLive, next } = this.rereadSettings();
    this.state = 'reloading';
    if (next) this.settings = next;
    this.logger.info(
      { event: 'supervisor.reloading', workers: this.table.openCount, changed, notLive },
      `Reloading workers one at a time${changed.length > 0 ? `; changed: ${changed.join(', ')}` : '; no setting changed'}${notLive.length > 0 ? `; not applied until a restart: ${notLive.join(', ')}` : ''}`,
    );
    this.notify.reloading(`reloading ${this.table.size} worker(s)`);
    let reloaded = 0;
    try {
      await Promise.all(this.recycling.values()); // a worker being recycled is replaced first
      for (let slot = 0; slot < this.table.size; slot++) {
        if (!this.table.isOpen(slot)) continue; // removed by a scale down: its worker drains
        const old = this.table.current(slot);
        const outcome = await this.replaceSlot(slot);
        if (!outcome.ok) {
          if (outcome.reason === 'stopping') throw new Error('the server is stopping');
          const proc = outcome.worker;
          const left = old === undefined ? `slot ${slot} has no serving worker (it is restarting)` : 'the old worker keeps serving';
          throw new Error(`the new worker ${proc?.id ?? ''} exited before it was ready (${proc ? describeExit(proc) : 'unknown'}); ${left}`);
        }
        // one slot at a time: the next replacement starts once the old worker has gone
        await old?.exited;
        reloaded++;
      }
    } finally {
      if (this.state === 'reloading') {
        this.state = 'running';
        // a failed reload leaves the old workers serving: running again either way
        this.notify.ready(this.workerSummary());
      }
    }
    this.logger.info({ event: 'supervisor.reloaded', workers: reloaded }, `Reloaded ${reloaded} worker(s)`);
    // a new worker count in the profile is applied the scale way, after the reload
    const wanted = this.settings.workers;
    if (wanted !== this.table.openCount && this.state === 'running') await this.scale(wanted);
    return { reloaded, pids: this.table.workers().filter((w) => w.role === 'current').map((w) => w.worker.pid), changed, notLive };
  }

  /**
   * Settings that a reload can apply (the new workers start with them) and those it cannot: the
   * address, the data dir, the store, the log files and the mode are the supervisor's own, fixed
   * for its life; they are said, never silently ignored, and kept as they are.
   */
  private rereadSettings(): { changed: string[]; notLive: string[]; next: Settings | undefined } {
    if (!this.options.reread) return { changed: [], notLive: [], next: undefined };
    let fresh: Settings;
    try {
      fresh = this.options.reread();
    } catch (error) {
      const fix = (error as { fix?: string }).fix;
      throw new Error(`the profile cannot be read again: ${(error as Error).message}${fix ? ` (${fix})` : ''}; the workers keep serving with the settings they have`);
    }
    const fixedKeys = ['host', 'port', 'dataDir', 'fork', 'databaseUrl', 'accessLog', 'logMaxBytes', 'logMaxFiles', 'heartbeatTimeoutMs'] as const;
    const old = this.settings as unknown as Record<string, unknown>;
    const now = fresh as unknown as Record<string, unknown>;
    const changed: string[] = [];
    const notLive: string[] = [];
    for (const key of new Set([...Object.keys(old), ...Object.keys(now)])) {
      if (key === 'profileReason' || JSON.stringify(old[key]) === JSON.stringify(now[key])) continue;
      if ((fixedKeys as readonly string[]).includes(key)) notLive.push(key);
      else changed.push(key);
    }
    const next = { ...fresh };
    for (const key of fixedKeys) (next as unknown as Record<string, unknown>)[key] = old[key];
    return { changed, notLive, next };
  }

  // A SIGHUP during a reload (or at start-up) is refused with a log line, not a stack trace.
  private onHangup(): void {
    const refusal = this.reloadRefusal();
    if (refusal) {
      this.logger.warn({ event: 'supervisor.reload_refused', reason: refusal, signal: 'SIGHUP' }, `SIGHUP ignored: ${refusal}`);
      return;
    }
    this.reload().catch((error: Error) => this.logger.error({ event: 'supervisor.reload_failed', reason: error.message }, `Reload failed: ${error.message}`));
  }

  // QUIT: stop without the grace period (in-flight requests are cut, running jobs are left to
  // their leases); once stopping, it forces like a second TERM.
  private onQuickStop(signal: string): void {
    if (this.state !== 'stopping') this.quick = true;
    this.onStopSignal(signal);
  }

  private stopTimeoutMs(): number {
    return this.quick ? 0 : this.settings.gracefulTimeoutMs;
  }

  private onStopSignal(signal: string): void {
    if (this.state !== 'stopping') {
      void this.shutdown(0, `${signal} received${this.quick ? ': quick stop' : ''}`);
      return;
    }
    this.logger.warn({ event: 'supervisor.forced', signal }, `Second ${signal}: forcing exit`);
    for (const { worker } of this.table.workers()) worker.worker.process.kill('SIGKILL');
    flushLoggerSync(this.logger);
    removePidFile(this.settings.dataDir);
    process.exit(1);
  }

  /** Graceful stop: workers finish in-flight requests and jobs within the timeout. */
  async shutdown(exitCode: number, reason: string): Promise<void> {
    if (this.state === 'stopping') return;
    const startError = this.state === 'starting' && exitCode !== 0;
    this.state = 'stopping';
    clearInterval(this.heartbeatTimer);
    this.logger.info({ event: 'supervisor.stopping', reason, gracefulTimeoutMs: this.stopTimeoutMs() }, `Stopping: ${reason}`);
    this.notify.stopping(`stopping: ${reason}`);
    if (startError && exitCode === 2) this.ctx.stderr.write(`error: ${reason}\n  fix: ${this.fixFor(reason)}\n`);
    this.listenSocket?.close(); // the workers close theirs as they stop accepting, then the socket closes
    this.table.stop();
    await Promise.all(this.table.workers().map(({ worker }) => worker.exited));
    if (this.service) await this.service.stop(this.stopTimeoutMs());
    this.control?.close();
    await this.notify.close();
    removePidFile(this.settings.dataDir);
    this.logger.info({ event: 'supervisor.stopped', exitCode, uptimeSec: Math.round((Date.now() - this.startedAt) / 1000) }, 'Stopped');
    flushLoggerSync(this.logger);
    await this.accessSink?.close();
    await this.sink.close();
    this.options.lock?.release();
    this.finish({ exitCode });
  }

  private fixFor(reason: string): string {
    if (reason.includes('already in use')) return `stop what holds port ${this.settings.port} (\`lsof -i :${this.settings.port}\` or \`ss -ltnp\`), or choose another port with --port`;
    if (reason.includes('permission')) return 'use a port above 1024, or grant the capability to bind low ports';
    return 'see the log lines above';
  }
}
