import type { Metric, Registry } from 'prom-client';
import { createLabelledCounter, createPlainCounter, createPlainGauge, createPlainHistogram, type RegistrableMetric } from './plain-metrics.js';
import { createRequestTally } from './request-tally.js';
import type { JobMetrics } from '../jobs/metrics.js';
import type { Store } from '../store/types.js';

/** How long a newly made registry waits for prom-client's event-loop lag samples (every 10 ms). */
const LAG_SAMPLES_MS = 50;

/** The route the fast path answers, as Fastify names it in the metrics' labels. */
export const FAST_GET_ROUTE = '/api/presentations/:id';

export interface ServiceMetrics {
  /**
   * The registry with every metric, prom-client's default ones too. prom-client is loaded on the
   * first call (5 s after the worker is ready, or an earlier /metrics scrape), not at start:
   * everything is counted in plain numbers (plain-metrics.ts, request-tally.ts) from the start.
   */
  registry(): Promise<Registry>;
  request(method: string, route: string, status: number, seconds: number): void;
  /** A read answered in front of Fastify (http/fast-get.ts): a `request` of its route, status 200, and the fast-path count. */
  fastGet(seconds: number): void;
  jobs: JobMetrics;
}

// One registry per worker; with several workers the supervisor aggregates them (prom-client's
// AggregatorRegistry, asking each worker: worker/main.ts answers), so each metric says how
// workers combine: counters sum, the queue is shared.
export function createMetrics(store: Store): ServiceMetrics {
  // counted on the request path without prom-client's per-call label hashing (request-tally.ts)
  const tally = createRequestTally({
    counterName: 'presenter_http_requests_total',
    counterHelp: 'HTTP requests by route and status',
    histogramName: 'presenter_http_request_duration_seconds',
    histogramHelp: 'HTTP request latency by route',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const fastAnswers = createPlainCounter(
    'presenter_http_fast_path_total',
    'GET /api/presentations/:id answered in front of the framework (also counted in presenter_http_requests_total)',
  );
  const fastGet = tally.bind('GET', FAST_GET_ROUTE, 200);
  const outcomes = createLabelledCounter('presenter_jobs_total', 'Feedback job attempts by outcome (done, retried, failed)', 'outcome');
  const retries = createPlainCounter('presenter_job_retries_total', 'Failed attempts that were scheduled again');
  const expiries = createPlainCounter('presenter_job_lease_expiries_total', 'Jobs taken over after their lease expired');
  const wait = createPlainHistogram('presenter_job_wait_seconds', 'Time from a job being due to its start', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30]);
  const duration = createPlainHistogram('presenter_job_duration_seconds', 'Provider time of successful jobs', [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60]);
  const depth = createPlainGauge('presenter_job_queue_depth', 'Jobs waiting to be claimed (shared by all workers)', 'max', () => store.queueDepth());
  const own: RegistrableMetric[] = [tally.counter, tally.histogram, fastAnswers.metric, outcomes.metric, retries.metric, expiries.metric, wait.metric, duration.metric, depth];

  let registry: Promise<Registry> | undefined;
  const load = async (): Promise<Registry> => {
    const { Registry: PromRegistry, collectDefaultMetrics } = await import('prom-client');
    const made = new PromRegistry();
    collectDefaultMetrics({ register: made, prefix: 'presenter_' });
    for (const metric of own) made.registerMetric(metric as unknown as Metric);
    // the event-loop lag is sampled every 10 ms from now on: read before a sample it says a
    // minimum of 9e9 s (no samples) and NaN for the mean; a scrape that had to load waits for some
    await new Promise((resolve) => setTimeout(resolve, LAG_SAMPLES_MS));
    return made;
  };
  return {
    registry: () => {
      registry ??= load().catch((error: unknown) => {
        registry = undefined; // asked again at the next scrape
        throw error;
      });
      return registry;
    },
    request: tally.record,
    fastGet: (seconds) => {
      fastGet(seconds);
      fastAnswers.inc();
    },
    jobs: {
      started: (waitedMs) => wait.observe(waitedMs / 1000),
      outcome: (outcome, durationMs) => {
        outcomes.inc(outcome);
        if (outcome === 'retried') retries.inc();
        if (durationMs !== undefined) duration.observe(durationMs / 1000);
      },
      leaseExpired: () => expiries.inc(),
    },
  };
}
