import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobMetrics } from '../jobs/metrics.js';
import type { Store } from '../store/types.js';

export interface ServiceMetrics {
  registry: Registry;
  request(method: string, route: string, status: number, seconds: number): void;
  /** A read answered in front of Fastify (http/fast-get.ts). */
  fastPath(): void;
  jobs: JobMetrics;
}

// One registry per worker; with several workers the supervisor aggregates them (prom-client's
// AggregatorRegistry), so each metric says how workers combine: counters sum, the queue is shared.
export function createMetrics(store: Store): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'presenter_' });
  const requests = new Counter({ name: 'presenter_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'presenter_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const fast = new Counter({ name: 'presenter_http_fast_path_total', help: 'GET /api/presentations/:id answered in front of the framework (also counted in presenter_http_requests_total)', registers: [registry] });
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
  // prom-client hashes the label object on every inc/observe; the few (method, route, status)
  // combinations keep their bound children instead (~3 µs a request, npm run bench --cpu-prof).
  // Routes are the router's patterns, never raw paths, so the map stays small.
  const bound = new Map<string, { inc: () => void; observe: (seconds: number) => void }>();
  return {
    registry,
    request(method, route, status, seconds) {
      const key = `${method} ${route} ${status}`;
      let child = bound.get(key);
      if (!child) {
        const count = requests.labels(method, route, String(status));
        const hist = latency.labels(method, route);
        child = { inc: () => count.inc(), observe: (s) => hist.observe(s) };
        bound.set(key, child);
      }
      child.inc();
      child.observe(seconds);
    },
    fastPath: () => fast.inc(),
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
