// The per-request metrics (presenter_http_requests_total and
// presenter_http_request_duration_seconds), counted in plain series (plain-metrics.ts) on the
// request path and handed to prom-client only when /metrics is scraped: prom-client hashes the
// label set on every inc() and observe(), bound children included (~5 µs of a ~100 µs request,
// npm run bench --cpu-prof). test/request-tally.test.js compares the output with prom-client's own
// Counter and Histogram line for line.
import { createCounterFamily, createHistogramFamily, type RegistrableMetric } from './plain-metrics.js';

export interface RequestTally {
  /** One answered request. `seconds` that is not a finite number counts the request, not its time. */
  record(method: string, route: string, status: number, seconds: number): void;
  /**
   * `record` with the labels given once: for the most frequent answer (fast-get.ts), whose keys
   * are then made and hashed once instead of at every request. The same series as `record`'s.
   */
  bind(method: string, route: string, status: number): (seconds: number) => void;
  counter: RegistrableMetric;
  histogram: RegistrableMetric;
}

export function createRequestTally(options: { counterName: string; counterHelp: string; histogramName: string; histogramHelp: string; buckets: readonly number[] }): RequestTally {
  // keyed by the label values in one string; routes are the router's patterns, so few keys
  const counts = createCounterFamily(options.counterName, options.counterHelp);
  const latencies = createHistogramFamily(options.histogramName, options.histogramHelp, options.buckets);

  const add = (countKey: string, latencyKey: string, method: string, route: string, status: number, seconds: number): void => {
    (counts.series(countKey) ?? counts.add(countKey, { method, route, status: String(status) })).n++;
    if (!Number.isFinite(seconds)) return; // no latency series for it
    latencies.observe(latencies.series(latencyKey) ?? latencies.add(latencyKey, { method, route }), seconds);
  };

  return {
    counter: counts.metric,
    histogram: latencies.metric,
    record: (method, route, status, seconds) => add(`${method} ${route} ${status}`, `${method} ${route}`, method, route, status, seconds),
    bind(method, route, status) {
      const countKey = `${method} ${route} ${status}`;
      const latencyKey = `${method} ${route}`;
      return (seconds) => add(countKey, latencyKey, method, route, status, seconds);
    },
  };
}
