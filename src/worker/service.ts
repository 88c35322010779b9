import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Settings } from '../config/defaults.js';
import { createProvider } from '../feedback/providers.js';
import { buildApp } from '../http/app.js';
import { createMetrics, type ServiceMetrics } from '../http/metrics.js';
import { JobRunner } from '../jobs/runner.js';
import { SqliteStore } from '../store/sqlite.js';

export const DB_FILE = 'presenter.db';

export interface ServiceStats {
  rssBytes: number;
  heapUsedBytes: number;
  activeJobs: number;
}

export interface Service {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  /** Another process queued jobs: claim now. */
  wake(): void;
  stats(): ServiceStats;
  /** Stops accepting, lets requests and jobs finish within `timeoutMs`, then closes the store. */
  stop(timeoutMs: number): Promise<void>;
}

export interface ServiceOptions {
  settings: Settings;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Tell the other workers that jobs were queued (cluster mode). */
  broadcastEnqueue?: () => void;
  /** Aggregated metrics over all workers (cluster mode); default: this process only. */
  metricsText?: (local: ServiceMetrics) => Promise<string>;
}

// One worker's HTTP app and job runner over the shared store: the same code runs in a forked
// worker and, for the windows profile, in the primary itself.
export async function startService(options: ServiceOptions): Promise<Service> {
  const { settings, logger } = options;
  const store = new SqliteStore(join(settings.dataDir, DB_FILE));
  const metrics = createMetrics(store);
  const runner = new JobRunner({
    store,
    provider: createProvider(settings.ai, options.env),
    logger,
    slots: settings.threads,
    leaseMs: settings.leaseMs,
    metrics: metrics.jobs,
    retryBaseMs: Number(options.env.PRESENTER_RETRY_BASE_MS ?? '') || 1000,
  });
  let app: FastifyInstance;
  try {
    app = await buildApp({
      store,
      logger,
      metrics,
      bodyLimit: settings.bodyLimit,
      jobAttempts: settings.jobAttempts,
      adminToken: settings.adminToken,
      onEnqueue: () => {
        runner.wake();
        options.broadcastEnqueue?.();
      },
      jobsAlive: () => runner.alive,
      metricsText: () => (options.metricsText ? options.metricsText(metrics) : metrics.registry.metrics()),
    });
    await app.listen({ host: settings.host, port: settings.port });
  } catch (error) {
    store.close();
    throw error;
  }
  runner.start();

  return {
    app,
    metrics,
    wake: () => runner.wake(),
    stats: () => {
      const mem = process.memoryUsage();
      return { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, activeJobs: runner.active };
    },
    async stop(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const closed = app.close();
      const timedOut = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        logger.warn({ event: 'worker.graceful_timeout' }, `Requests still open after ${timeoutMs} ms; closing their connections`);
        app.server.closeAllConnections();
        await closed;
      }
      await runner.stop(Math.max(0, deadline - Date.now()));
      store.close();
    },
  };
}
