// Entry of a forked worker: the service, driven by the supervisor's IPC messages.
import cluster from 'node:cluster';
import type { Settings } from '../config/defaults.js';
import { openFileLimit } from '../config/open-files.js';
import type { RateCount } from '../http/rate-counter.js';
import { createWorkerAccessLogger } from '../logging/access.js';
import { createWorkerLogger, drainLogger, dropLogOutput, flushLoggerSync } from '../logging/logger.js';
import { LISTEN_BACKLOG, listenCopies } from '../supervisor/listen-socket.js';
import { isMessage, SETTINGS_ENV, type FromWorker, type ToWorker } from '../supervisor/messages.js';
import { acceptCopiesFor, AcceptCopies } from './accept-copies.js';
import { startService, type Service } from './service.js';

const settings = JSON.parse(process.env[SETTINGS_ENV] ?? '{}') as Settings;
delete process.env[SETTINGS_ENV];
const workerId = cluster.worker?.id ?? 0;
const logger = createWorkerLogger(settings.logLevel, workerId);
// fd 4, a pipe to the supervisor, exists only when the access log is on (logging/access.ts)
const accessLog = settings.accessLog ? createWorkerAccessLogger(workerId) : undefined;
// A send that fails (EPIPE: the supervisor was killed) would otherwise be an uncaught 'error' on
// process; the 'disconnect' that follows stops the worker. Logging stops at once: see below.
const send = (message: FromWorker): void => {
  if (process.connected) process.send?.(message, undefined, {}, (error) => error && dropLogs());
};

function dropLogs(): void {
  dropLogOutput(logger);
  if (accessLog) dropLogOutput(accessLog);
}

/** How long a stopping worker waits for a log write in flight before it flushes the rest (logger.ts drainLogger). */
const LOG_DRAIN_MS = 2000;

function flushLogs(): void {
  if (accessLog) flushLoggerSync(accessLog);
  flushLoggerSync(logger);
}

function die(error: unknown, event: string): never {
  if (!process.connected) dropLogs(); // pino's fatal() flushes synchronously
  logger.fatal({ event, err: error }, `Worker ${workerId} failed: ${(error as Error)?.message ?? String(error)}`);
  flushLogs();
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}
process.on('uncaughtException', (error) => die(error, 'worker.crashed'));
process.on('unhandledRejection', (error) => die(error, 'worker.crashed'));
// Signals: entry.ts ignores them before this module loads; workers wait for the supervisor's word.

let service: Service | undefined;
let stopping = false;
let metricsRequests = 0;
const pendingMetrics = new Map<number, (text: string) => void>();
let rateRequests = 0;
const pendingRates = new Map<number, { resolve: (count: RateCount) => void; timer: NodeJS.Timeout }>();

// The rate counter is the supervisor's, shared by all workers. No answer within a second (the
// supervisor is gone or stuck): the request is served, not refused (skipOnError in rate-limit.ts).
function rateHit(key: string, windowMs: number): Promise<RateCount> {
  return new Promise((resolve, reject) => {
    const requestId = ++rateRequests;
    const timer = setTimeout(() => {
      pendingRates.delete(requestId);
      reject(new Error('the supervisor did not answer the rate-limit count'));
    }, 1000);
    timer.unref();
    pendingRates.set(requestId, { resolve, timer });
    send({ type: 'rate', requestId, key, windowMs });
  });
}

// The listening socket is the supervisor's (supervisor/listen-socket.ts): asked for once the app
// is ready, so that no connection is accepted before it can be served. It comes as several
// descriptors (accept-copies.ts), each message saying how many: all are taken before the worker
// listens, while its event loop is idle. Node sends handles one at a time, each waiting for the
// receiver's acknowledgement, and every other message waits behind them: a serving worker, 25 ms
// a turn, would have held up the supervisor's answers (rate limits, stop) for a turn per copy. A
// supervisor of an earlier version sends one, without a count: the worker serves from it.
let gotSocket: ((handle: unknown, copies: unknown) => void) | undefined;
const acceptCopies = new AcceptCopies(LISTEN_BACKLOG, acceptCopiesFor(openFileLimit()?.soft, settings.workers));
function requestSocket(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the supervisor sent no listening socket within 10 s')), 10_000);
    timer.unref();
    let first: unknown;
    let expected = 1;
    let received = 0;
    gotSocket = (handle, copies) => {
      if (!handle) {
        clearTimeout(timer);
        gotSocket = undefined;
        reject(new Error('the supervisor sent no listening socket'));
        return;
      }
      if (received === 0) {
        first = handle;
        expected = listenCopies(copies);
      } else acceptCopies.add(handle);
      received++;
      if (received < expected) return;
      clearTimeout(timer);
      gotSocket = undefined;
      resolve(first);
    };
    send({ type: 'listen', copies: acceptCopies.wanted });
  });
}

async function stop(timeoutMs: number, reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ event: 'worker.stopping', reason }, `Worker ${workerId} stopping (${reason})`);
  try {
    await service?.stop(timeoutMs);
  } catch (error) {
    logger.error({ event: 'worker.stop_failed', err: error }, `Worker ${workerId} did not stop cleanly`);
  }
  logger.info({ event: 'worker.stopped' }, `Worker ${workerId} stopped`);
  await Promise.all([drainLogger(logger, LOG_DRAIN_MS), accessLog ? drainLogger(accessLog, LOG_DRAIN_MS) : undefined]);
  flushLogs();
  process.exit(0);
}

process.on('message', (message: unknown, handle: unknown) => {
  if (!isMessage<ToWorker>(message)) return;
  switch (message.type) {
    case 'socket':
      if (gotSocket) gotSocket(handle, message.copies);
      else acceptCopies.add(handle); // one more than announced, or after the 10 s timeout: armed or closed, never leaked
      break;
    case 'stop':
      void stop(message.timeoutMs, 'asked by the supervisor');
      break;
    case 'stats':
      if (service) send({ type: 'stats', requestId: message.requestId, stats: service.stats() });
      break;
    case 'wake':
      service?.wake();
      break;
    case 'ping': {
      const stats = service?.stats();
      send({ type: 'pong', seq: message.seq, requests: stats?.requests ?? 0, activeJobs: stats?.activeJobs ?? 0, served: stats?.served ?? 0, rssBytes: stats?.rssBytes ?? 0, load: service?.sample() });
      break;
    }
    case 'prom-client:getMetricsReq':
      // prom-client's own answer (an AggregatorRegistry made in the worker) would need prom-client
      // loaded at start; it is loaded 5 s after ready (worker/service.ts) or by the first of these,
      // whichever comes first (http/metrics.ts). Before the service exists: no registry, as
      // prom-client answers with none.
      void answerMetrics(message.requestId);
      break;
    case 'metrics':
      pendingMetrics.get(message.requestId)?.(message.text ?? `# metrics unavailable: ${message.error ?? 'unknown'}\n`);
      pendingMetrics.delete(message.requestId);
      break;
    case 'rate': {
      const pending = pendingRates.get(message.requestId);
      pendingRates.delete(message.requestId);
      clearTimeout(pending?.timer);
      pending?.resolve({ current: message.current, ttl: message.ttl });
      break;
    }
  }
});
async function answerMetrics(requestId: number): Promise<void> {
  try {
    const metrics = service ? [await (await service.metrics.registry()).getMetricsAsJSON()] : [];
    send({ type: 'prom-client:getMetricsRes', requestId, metrics });
  } catch (error) {
    send({ type: 'prom-client:getMetricsRes', requestId, error: (error as Error).message });
  }
}

// Beyond the graceful timeout, what a stop may still take: closing the store, the provider, exit.
const ORPHAN_EXIT_MARGIN_MS = 2000;

// The supervisor is gone (killed): stop by ourselves instead of serving unsupervised. Node's
// cluster exits the worker at once on an unexpected disconnect, right after emitting the worker's
// 'disconnect' (internal/cluster/child.js), without the graceful stop: marking the disconnect as
// expected hands it to us. The supervisor's end of our stdout is closed with it, so logging stops
// first (a flush would retry EPIPE forever), and a watchdog exits if the stop still hangs: nobody
// is left to SIGKILL us.
cluster.worker?.once('disconnect', () => {
  cluster.worker!.exitedAfterDisconnect = true;
  dropLogs();
  setTimeout(() => process.exit(1), settings.gracefulTimeoutMs + ORPHAN_EXIT_MARGIN_MS).unref();
  void stop(settings.gracefulTimeoutMs, 'supervisor gone'); // no-op when already stopping
});

// One `enqueued` message per event-loop turn, however many talks that turn queued: under load a
// message per POST cost ~5 % of a worker's CPU in IPC writes (npm run bench, --cpu-prof).
let broadcastQueued = false;
function broadcastEnqueue(): void {
  if (broadcastQueued) return;
  broadcastQueued = true;
  setImmediate(() => {
    broadcastQueued = false;
    send({ type: 'enqueued' });
  });
}

try {
  service = await startService({
    settings,
    logger,
    accessLog,
    env: process.env,
    broadcastEnqueue,
    rateHit,
    listenSocket: requestSocket,
    acceptCopies,
    metricsText: () =>
      new Promise<string>((resolve) => {
        const requestId = ++metricsRequests;
        pendingMetrics.set(requestId, resolve);
        send({ type: 'metrics', requestId });
        setTimeout(() => {
          if (pendingMetrics.delete(requestId)) resolve('# metrics aggregation timed out\n');
        }, 3000).unref();
      }),
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code ?? 'START_FAILED';
  send({ type: 'fatal', code, message: (error as Error).message });
  die(error, 'worker.start_failed');
}
logger.info({ event: 'worker.ready', host: settings.host, port: settings.port, listenDescriptors: 1 + acceptCopies.armed }, `Worker ${workerId} ready`);
if (acceptCopies.refused > 0) {
  // a Node.js whose net.Server internals differ (accept-copies.ts): correct, but one accept per turn
  logger.warn(
    { event: 'worker.accept_copies_refused', refused: acceptCopies.refused, node: process.version },
    `${acceptCopies.refused} extra descriptors of the listening socket could not be used with Node.js ${process.version}: this worker accepts one new connection per event-loop turn`,
  );
}
send({ type: 'ready', pid: process.pid });
