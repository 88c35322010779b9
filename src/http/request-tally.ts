// The per-request metrics (presenter_http_requests_total and
// presenter_http_request_duration_seconds), counted in plain arrays on the request path and
// handed to prom-client only when /metrics is scraped. prom-client hashes the label set on every
// inc() and observe(), bound children included: ~5 µs of a ~100 µs request
// (npm run bench --cpu-prof). Both objects answer get() in prom-client's own shape, so the
// registry prints them and AggregatorRegistry sums them across workers exactly as it does its own
// Counter and Histogram (test/request-tally.test.js compares the output line for line).

export type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

export interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram' | 'gauge';
  values: MetricValue[];
  aggregator: 'sum' | 'max';
}

/** What prom-client's Registry calls on a registered metric. */
export interface RegistrableMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram' | 'gauge';
  readonly aggregator: 'sum' | 'max';
  get(): Promise<MetricData>;
  reset(): void;
}

interface CountSeries {
  labels: { method: string; route: string; status: string };
  n: number;
}

interface LatencySeries {
  labels: { method: string; route: string };
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one: above every bound */
  counts: number[];
  sum: number;
  n: number;
}

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
  const bounds = [...options.buckets].sort((a, b) => a - b);
  // keyed by the label values in one string; routes are the router's patterns, so few keys
  const counts = new Map<string, CountSeries>();
  const latencies = new Map<string, LatencySeries>();

  const counter: RegistrableMetric = {
    name: options.counterName,
    help: options.counterHelp,
    type: 'counter',
    aggregator: 'sum',
    async get() {
      return {
        name: this.name,
        help: this.help,
        type: this.type,
        aggregator: this.aggregator,
        values: [...counts.values()].map((s) => ({ labels: { ...s.labels }, value: s.n })),
      };
    },
    reset: () => counts.clear(),
  };

  const histogram: RegistrableMetric = {
    name: options.histogramName,
    help: options.histogramHelp,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: MetricValue[] = [];
      for (const s of latencies.values()) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += s.counts[i]!;
          values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
        });
        values.push({ labels: { le: '+Inf', ...s.labels }, value: s.n, metricName: `${this.name}_bucket` });
        values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
        values.push({ labels: { ...s.labels }, value: s.n, metricName: `${this.name}_count` });
      }
      return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
    reset: () => latencies.clear(),
  };

  // the series are looked up at each call, not kept: reset() empties the maps
  const add = (countKey: string, latencyKey: string, method: string, route: string, status: number, seconds: number): void => {
    let c = counts.get(countKey);
    if (!c) {
      c = { labels: { method, route, status: String(status) }, n: 0 };
      counts.set(countKey, c);
    }
    c.n++;
    if (!Number.isFinite(seconds)) return;
    let l = latencies.get(latencyKey);
    if (!l) {
      l = { labels: { method, route }, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, n: 0 };
      latencies.set(latencyKey, l);
    }
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    l.counts[i]!++;
    l.sum += seconds;
    l.n++;
  };

  return {
    counter,
    histogram,
    record: (method, route, status, seconds) => add(`${method} ${route} ${status}`, `${method} ${route}`, method, route, status, seconds),
    bind(method, route, status) {
      const countKey = `${method} ${route} ${status}`;
      const latencyKey = `${method} ${route}`;
      return (seconds) => add(countKey, latencyKey, method, route, status, seconds);
    },
  };
}
