// Counters, a histogram and a gauge kept in plain numbers, answering get() in prom-client 15.1's
// own shape (as request-tally.ts does for the request metrics): a worker counts with them from its
// first moment and loads prom-client only when /metrics is first asked for (metrics.ts), ~60 ms
// of a worker's start (prom-client with @opentelemetry/api). Each starts, resets and prints as
// prom-client's would (test/plain-metrics.test.js compares them line for line).
import type { MetricValue, RegistrableMetric } from './request-tally.js';

/** A counter with at most one label (prom-client prints an unlabelled one as 0 before any inc). */
export function createPlainCounter(name: string, help: string, labelName?: string): { metric: RegistrableMetric; inc(label?: string): void } {
  const counts = new Map<string, number>();
  const zero = () => {
    counts.clear();
    if (labelName === undefined) counts.set('', 0);
  };
  zero();
  const metric: RegistrableMetric = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    async get() {
      const values = [...counts].map(([label, value]): MetricValue => ({ labels: labelName === undefined ? {} : { [labelName]: label }, value }));
      return { name, help, type: 'counter', aggregator: 'sum', values };
    },
    reset: zero,
  };
  return {
    metric,
    inc: (label = '') => {
      counts.set(label, (counts.get(label) ?? 0) + 1);
    },
  };
}

/**
 * An unlabelled histogram (prom-client prints its zero buckets before any observation, none after
 * a reset). A value that is no finite number is not observed (prom-client throws; a NaN would
 * spoil the sum for good).
 */
export function createPlainHistogram(name: string, help: string, buckets: readonly number[]): { metric: RegistrableMetric; observe(value: number): void } {
  const bounds = [...buckets].sort((a, b) => a - b);
  let series: { counts: number[]; sum: number; n: number } | undefined;
  const empty = () => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, n: 0 });
  series = empty();
  const metric: RegistrableMetric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: MetricValue[] = [];
      if (series) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += series!.counts[i]!;
          values.push({ labels: { le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { le: '+Inf' }, value: series.n, metricName: `${name}_bucket` });
        values.push({ labels: {}, value: series.sum, metricName: `${name}_sum` });
        values.push({ labels: {}, value: series.n, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => {
      series = undefined;
    },
  };
  return {
    metric,
    observe: (value) => {
      if (!Number.isFinite(value)) return;
      series ??= empty();
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      series.counts[i]!++;
      series.sum += value;
      series.n++;
    },
  };
}

/** An unlabelled gauge read when scraped; `read` failing keeps the last value. */
export function createPlainGauge(name: string, help: string, aggregator: 'sum' | 'max', read: () => Promise<number>): RegistrableMetric {
  let value = 0;
  return {
    name,
    help,
    type: 'gauge',
    aggregator,
    async get() {
      try {
        value = await read();
      } catch {
        // the store closed during shutdown, or the database unreachable: the last value stays
      }
      return { name, help, type: 'gauge', aggregator, values: [{ labels: {}, value }] };
    },
    reset: () => {
      value = 0;
    },
  };
}
