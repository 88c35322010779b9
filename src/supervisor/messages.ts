// IPC between the supervisor and its workers. Never POSIX signals: one code path for every platform.
import type { LoadSample } from '../worker/sampler.js';
import type { ServiceStats } from '../worker/service.js';

export type ToWorker =
  | { type: 'stop'; timeoutMs: number }
  | { type: 'stats'; requestId: number }
  | { type: 'wake' }
  /** Sent with the listening socket's handle, `copies` times: the answer to `listen`. The worker accepts from it. */
  | { type: 'socket'; copies?: number }
  /** The heartbeat: answered from the worker's event loop, so a blocked or stopped loop never answers. */
  | { type: 'ping'; seq: number }
  | { type: 'metrics'; requestId: number; text?: string; error?: string }
  | { type: 'rate'; requestId: number; current: number; ttl: number }
  /** prom-client's AggregatorRegistry (the supervisor's clusterMetrics) asking for this worker's metrics. */
  | { type: 'prom-client:getMetricsReq'; requestId: number };

export type FromWorker =
  | { type: 'ready'; pid: number }
  | { type: 'fatal'; code: string; message: string }
  | { type: 'stats'; requestId: number; stats: ServiceStats }
  | { type: 'enqueued' }
  /**
   * The worker's app is ready: send the listening socket (`socket`), `copies` times (each a
   * descriptor of its own: worker/accept-copies.ts); absent (a worker of an earlier version): once.
   */
  | { type: 'listen'; copies?: number }
  /** `requests` in flight now, `served` since the worker started, its RSS: the heartbeat's answer. */
  | { type: 'pong'; seq: number; requests: number; activeJobs: number; served: number; rssBytes: number; load?: LoadSample & { queueDepth: number | null } }
  | { type: 'metrics'; requestId: number }
  /** Count a client's request in the supervisor's one rate counter (http/rate-counter.ts). */
  | { type: 'rate'; requestId: number; key: string; windowMs: number }
  /** The answer prom-client's AggregatorRegistry waits for: one registry's metrics as JSON, or the error. */
  | { type: 'prom-client:getMetricsRes'; requestId: number; metrics?: unknown[]; error?: string };

export const SETTINGS_ENV = 'PRESENTER_WORKER_SETTINGS';

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
