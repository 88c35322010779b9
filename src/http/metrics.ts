import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import { createPlainCounter, createRequestTally } from './request-tally.js';
import type { JobMetrics } from '../jobs/metrics.js';
import type { Store } from '../store/types.js';

/** The route the fast path answers, as Fastify names it in the metrics' labels. */
export const FAST_GET_ROUTE = '/api/presentations/:id';

export interface ServiceMetrics {
  registry: Registry;
  request(method: string, route: string, status: number, seconds: number): void;
  /** A read answered in front of Fastify (http/fast-get.ts): a `request` of its route, status 200, and the fast-path count. */
  fastGet(seconds: number): void;
  jobs: JobMetrics;
}

// One registry per worker; with several workers the supervisor aggregates them (prom-client's
// AggregatorRegistry), so each metric says how workers combine: counters sum, the queue is shared.
export function createMetrics(store: Store): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'presenter_' });
  // counted on the request path without prom-client's per-call label hashing (request-tally.ts)
  const tally = createRequestTally({
    counterName: 'presenter_http_requests_total',
    counterHelp: 'HTTP requests by route and status',
    histogramName: 'presenter_http_request_duration_seconds',
    histogramHelp: 'HTTP request latency by route',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  registry.registerMetric(tally.counter as unknown as Metric);
  registry.registerMetric(tally.histogram as unknown as Metric);
  // counted in a number, read by prom-client when scraped (no label object and result per request)
  const fastAnswers = createPlainCounter(
    'presenter_http_fast_path_total',
    'GET /api/presentations/:id answered in front of the framework (also counted in presenter_http_requests_total)',
  );
  registry.registerMetric(fastAnswers.metric as unknown as Metric);
  const fastGet = tally.bind('GET', FAST_GET_ROUTE, 200);
  const outcomes = new Counter({ name: 'presenter_jobs_total', help: 'Feedback job attempts by outcome (done, retried, failed)', labelNames: ['outcome'], registers: [registry] });
  const retries = new Counter({ name: 'presenter_job_retries_total', help: 'Failed attempts that were scheduled again', registers: [registry] });
  const expiries = new Counter({ name: 'presenter_job_lease_expiries_total', help: 'Jobs taken over after their lease expired', registers: [registry] });
  const wait = new Histogram({ name: 'presenter_job_wait_seconds', help: 'Time from a job being due to its start', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers: [registry] });
  const duration = new Histogram({ name: 'presenter_job_duration_seconds', help: 'Provider time of successful jobs', buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60], registers: [registry] });
  new Gauge({
    name: 'presenter_job_queue_depth',
    help: 'Jobs waiting to be claimed (shared by all workers)',
    aggregator: 'max',
    registers: [registry],
    async collect() {
      try {
        this.set(await store.queueDepth());
      } catch {
        // store closed during shutdown, or the database is unreachable: the gauge keeps its last value
      }
    },
  });
  return {
    registry,
    request: tally.record,
    fastGet: (seconds) => {
      fastGet(seconds);
      fastAnswers.inc();
    },
    jobs: {
      started: (waitedMs) => wait.observe(waitedMs / 1000),
      outcome: (outcome, durationMs) => {
        outcomes.inc({ outcome });
        if (outcome === 'retried') retries.inc();
        if (durationMs !== undefined) duration.observe(durationMs / 1000);
      },
      leaseExpired: () => expiries.inc(),
    },
  };
}
