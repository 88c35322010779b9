import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Settings } from '../config/defaults.js';
import { createProvider } from '../feedback/providers.js';
import { buildApp } from '../http/app.js';
import { RequestCounts } from '../http/request-counts.js';
import { createMetrics, type ServiceMetrics } from '../http/metrics.js';
import { makeRedactor, secretsOf } from '../jobs/redact.js';
import { RateCounter } from '../http/rate-counter.js';
import type { RateHit } from '../http/rate-limit.js';
import { openFileLimit } from '../config/open-files.js';
import { JobRunner } from '../jobs/runner.js';
import { LoadSampler, type LoadSample } from './sampler.js';
import { poolSizeFor } from '../store/database-url.js';
import { SqliteStore } from '../store/sqlite.js';
import { LISTEN_BACKLOG } from '../supervisor/listen-socket.js';
import type { AcceptCopies } from './accept-copies.js';
import { isStoreError, type Store, type StoreEvent } from '../store/types.js';

export const DB_FILE = 'presenter.db';
/** How long after `ready` a worker loads prom-client, if no scrape has made it load earlier. */
const METRICS_WARM_MS = 5000;

export interface ServiceStats {
  rssBytes: number;
  heapUsedBytes: number;
  activeJobs: number;
  /** HTTP requests being served now. */
  requests: number;
  /** HTTP requests since the worker started (for --max-requests). */
  served: number;
}

export interface Service {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  /** Another process queued jobs: claim now. */
  wake(): void;
  stats(): ServiceStats;
  /** CPU, requests/s and event-loop delay since the last call, and the shared queue's depth (the last count). */
  sample(): LoadSample & { queueDepth: number | null };
  /** Stops accepting, lets requests and jobs finish within `timeoutMs`, then closes the store. */
  stop(timeoutMs: number): Promise<void>;
}

export interface ServiceOptions {
  settings: Settings;
  logger: Logger;
  /** Per-request lines (serve --access-log); undefined: off. */
  accessLog?: Logger;
  env: NodeJS.ProcessEnv;
  /** Tell the other workers that jobs were queued (cluster mode). */
  broadcastEnqueue?: () => void;
  /** The server's one rate counter (cluster mode: the supervisor's); default: in this process. */
  rateHit?: RateHit;
  /**
   * The supervisor's listening socket (supervisor/listen-socket.ts), which this worker accepts
   * from, instead of a listen of its own: a forked worker. The windows profile's primary listens itself.
   */
  listenSocket?: () => Promise<unknown>;
  /** More descriptors of that socket, accepting into the same server (accept-copies.ts). */
  acceptCopies?: AcceptCopies;
  /** Aggregated metrics over all workers (cluster mode); default: this process only. */
  metricsText?: (local: ServiceMetrics) => Promise<string>;
}

// One worker's HTTP app and job runner over the shared store: the same code runs in a forked
// worker and, for the windows profile, in the primary itself.
export async function startService(options: ServiceOptions): Promise<Service> {
  const { settings, logger } = options;
  const store = await openStore(settings, logger);
  const redact = makeRedactor(secretsOf({ apiKey: settings.ai.apiKey, adminToken: settings.adminToken, databaseUrl: settings.databaseUrl }));
  const metrics = createMetrics(store);
  // the local analyser's thread pool has one thread per job slot: the slots are the pool's queue
  const provider = createProvider(settings.ai, options.env, { threads: settings.threads });
  const runner = new JobRunner({
    store,
    provider,
    logger,
    slots: settings.threads,
    leaseMs: settings.leaseMs,
    metrics: metrics.jobs,
    retryBaseMs: Number(options.env.PRESENTER_RETRY_BASE_MS ?? '') || 1000,
    redact,
  });
  const counts = new RequestCounts();
  let app: FastifyInstance;
  try {
    app = await buildApp({
      counts,
      store,
      logger,
      accessLog: options.accessLog,
      metrics,
      bodyLimit: settings.bodyLimit,
      jobAttempts: settings.jobAttempts,
      adminToken: settings.adminToken,
      rateLimit: settings.rateLimit,
      rateHit: options.rateHit ?? localRateHit(),
      maxQueue: settings.maxQueue,
      trustProxy: settings.trustProxy,
      onEnqueue: () => {
        runner.wake();
        options.broadcastEnqueue?.();
      },
      // A full disk keeps the worker ready: reads go on, writes answer 503 STORAGE_FULL.
      jobsAlive: () => runner.alive && (runner.lastClaimError === undefined || (isStoreError(runner.lastClaimError) && runner.lastClaimError.code === 'STORAGE_FULL')),
      metricsText: async () => (options.metricsText ? options.metricsText(metrics) : (await metrics.registry()).metrics()),
    });
    logConnectionRefusals(app, logger, Math.max(0, (options.acceptCopies?.wanted ?? 1) - 1));
    if (options.listenSocket) {
      await app.ready();
      const handle = await options.listenSocket();
      await new Promise<void>((resolve, reject) => {
        app.server.once('error', reject);
        app.server.listen(handle as never, LISTEN_BACKLOG, () => {
          app.server.off('error', reject);
          options.acceptCopies?.attach(app.server);
          resolve();
        });
      });
    } else {
      await app.listen({ host: settings.host, port: settings.port, backlog: LISTEN_BACKLOG });
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  runner.start();
  // The analyser's first thread starts right after `ready` is sent (an immediate runs after the
  // caller's continuation), not on the way to it: loading piscina costs the event loop ~15 ms once,
  // and the thread's start (50-100 ms, more under load) runs beside it. Started by the first job
  // instead, that job would wait for it all.
  const warm = setImmediate(() => (provider as { warm?: () => void }).warm?.());
  // prom-client (~60-100 ms of loading) is not on the way to `ready` (http/metrics.ts): loaded a
  // while after it, so that its default metrics have samples by the first scrape (an event-loop
  // lag histogram read at once has none: a 9e9 s minimum) and a scrape does not wait for it; a
  // scrape that comes earlier loads it itself.
  const metricsWarm = setTimeout(() => void metrics.registry().catch(() => {}), METRICS_WARM_MS);
  metricsWarm.unref();
  // PostgreSQL: jobs queued on other hosts announce themselves (LISTEN/NOTIFY); SQLite: a no-op.
  const unsubscribe = store.onJobQueued(() => runner.wake());

  const sampler = new LoadSampler();
  let queueDepth: number | null = null;
  return {
    app,
    metrics,
    wake: () => runner.wake(),
    stats: () => {
      const mem = process.memoryUsage();
      return { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, activeJobs: runner.active, requests: counts.inFlight, served: counts.served };
    },
    sample: () => {
      // the count is asked for now and reported at the next sample: a sample never waits on the database
      store.queueDepth().then(
        (n) => (queueDepth = n),
        () => (queueDepth = null),
      );
      return { ...sampler.sample(counts.served), queueDepth };
    },
    async stop(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      await drainAndClose(app, timeoutMs, logger);
      clearImmediate(warm);
      clearTimeout(metricsWarm);
      await runner.stop(Math.max(0, deadline - Date.now()));
      await (provider as { close?: () => Promise<void> }).close?.();
      unsubscribe();
      sampler.stop();
      await store.close();
    },
  };
}

/** SQLite in the data dir, or PostgreSQL when a database URL is set (the pg module is loaded only then). */
async function openStore(settings: Settings, logger: Logger): Promise<Store> {
  const onEvent = (event: StoreEvent): void => logStoreEvent(logger, event);
  if (!settings.databaseUrl) {
    return new SqliteStore(join(settings.dataDir, DB_FILE), {
      onEvent,
      ...(settings.sqliteDriver === 'auto' ? {} : { driver: settings.sqliteDriver }),
      // WAL checkpoints in a thread: never a 40 ms commit on the event loop (store/wal-checkpointer.ts)
      checkpointThread: true,
      onCheckpointer: (event) => {
        if (event.type === 'failed') logger.warn({ event: 'store.checkpointer_failed', reason: event.reason }, `WAL checkpoints run inside commits again (the checkpoint thread failed: ${event.reason})`);
        // a deleted data dir or a full disk the store has reported already (store.unusable,
        // store.full) is not said again at warn; a disk found full by a checkpoint alone is
        else logger[event.known ? 'debug' : 'warn']({ event: 'store.checkpoint_failed', code: event.code, reason: event.reason }, `A WAL checkpoint failed (${event.code}): ${event.reason}; the next one tries again`);
      },
    });
  }
  const { PostgresStore } = await import('../store/postgres.js');
  return PostgresStore.open(settings.databaseUrl, {
    poolSize: poolSizeFor(settings.threads),
    onEvent,
    onListener: (event) => {
      if (event.type === 'lost') {
        logger.warn({ event: 'store.listen_lost', error: event.error, retryInMs: event.retryInMs }, `Lost the LISTEN connection (${event.error}); polling every 250 ms, listening again in ${event.retryInMs} ms`);
      } else logger.info({ event: 'store.listening', failures: event.after }, `Listening for new jobs again after ${event.after} failed attempts`);
    },
  });
}

// One line per change of the store's state; the requests it refuses meanwhile log nothing.
function logStoreEvent(logger: Logger, event: StoreEvent): void {
  if (event.type === 'recovered' && event.code === 'STORE_UNAVAILABLE') logger.info({ event: 'store.recovered', code: event.code }, 'The database answers again: writes work');
  else if (event.type === 'recovered') logger.info({ event: 'store.recovered', code: event.code }, 'The disk has space again: writes work');
  else if (event.type === 'unavailable') logger.error({ event: 'store.unavailable', code: event.code, reason: event.reason }, `Writes refused (503 STORE_UNAVAILABLE) while the database cannot be reached: ${event.reason}`);
  else if (event.type === 'full') logger.error({ event: 'store.full', code: event.code, reason: event.reason }, `Writes refused (503 STORAGE_FULL): ${event.reason}`);
  else logger.error({ event: 'store.unusable', code: event.code, reason: event.reason }, `Writes refused (503 STORE_UNAVAILABLE) until restart: ${event.reason}`);
}

function localRateHit(): RateHit {
  const counter = new RateCounter();
  return async (key, windowMs) => counter.hit(key, windowMs);
}

// File descriptors kept for what is not a connection: the database and its WAL, the log pipe,
// IPC, the worker threads, DNS and the provider's outgoing sockets.
const RESERVED_FDS = 128;

// Out of file descriptors, libuv accepts and closes new connections without telling Node (its
// EMFILE trick): clients are refused and nothing is logged. So the worker stops at the open-file
// limit minus a reserve itself (server.maxConnections) and logs each refusal ('drop', at most
// once a second), naming the fix. Accept errors that do reach Node are logged the same way.
function connectionLimit(soft: number, listenCopies: number): number {
  return Math.max(16, soft - Math.min(RESERVED_FDS + listenCopies, Math.floor(soft / 2)));
}

/** One `http.out_of_files` line per second at most, with the count of those it held back. */
function refusalReporter(logger: Logger, maxConnections: () => number | undefined): (code: string, detail: string) => void {
  let lastLoggedAt = 0;
  let suppressed = 0;
  return (code, detail) => {
    const now = Date.now();
    if (now - lastLoggedAt < 1000) {
      suppressed++;
      return;
    }
    lastLoggedAt = now;
    const max = maxConnections();
    logger.error(
      { event: 'http.out_of_files', code, maxConnections: max === undefined || max === Infinity ? null : max, nofile: openFileLimit() ?? null, suppressed },
      `Refused a connection: ${detail}; raise the open-file limit (ulimit -n, LimitNOFILE= in the systemd unit)`,
    );
    suppressed = 0;
  };
}

function logConnectionRefusals(app: FastifyInstance, logger: Logger, listenCopies: number): void {
  const soft = openFileLimit()?.soft;
  if (soft) app.server.maxConnections = connectionLimit(soft, listenCopies);
  const report = refusalReporter(logger, () => app.server.maxConnections);
  app.server.on('drop', () => report('MAX_CONNECTIONS', `${app.server.maxConnections} connections are open, as many as the open-file limit allows`));
  app.server.on('error', (error: NodeJS.ErrnoException) => {
    if (!app.server.listening) return; // a listen error: app.listen() reports it
    if (error.code === 'EMFILE' || error.code === 'ENFILE') report(error.code, 'no file descriptors left');
    else logger.error({ event: 'http.accept_failed', code: error.code, err: error }, `Cannot accept a connection: ${error.message}`);
  });
}

const DRAIN_MS = 1000;

/**
 * Stops listening, then gives keep-alive clients up to a second to send their next request,
 * which is answered with `Connection: close` (app.ts); only then are idle connections closed.
 * Closing them at once races with a client that is just sending on one: it sees ECONNRESET.
 */
async function drainAndClose(app: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const server = app.server;
  const closeIdle = server.closeIdleConnections.bind(server);
  // Node's server.close() closes idle connections itself; hold that back during the drain.
  server.closeIdleConnections = () => {};
  const closed = app.close();
  const connections = (): Promise<number> => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n ?? 0)));
  const deadline = Date.now() + timeoutMs;
  const drainUntil = Date.now() + Math.min(DRAIN_MS, timeoutMs);
  while (Date.now() < drainUntil && (await connections()) > 0) await new Promise((r) => setTimeout(r, 20));
  server.closeIdleConnections = closeIdle;
  closeIdle();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    closed.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    logger.warn({ event: 'worker.graceful_timeout' }, `Requests still open after ${timeoutMs} ms; closing their connections`);
    server.closeAllConnections();
    await closed;
  }
}

