// Counters, histograms and a gauge kept in plain numbers, answering get() in prom-client 15.1's
// own shape, so that its Registry prints them and AggregatorRegistry sums them across workers as
// it does its own. Two reasons not to count with prom-client itself: it hashes the label set at
// every inc() and observe() (~3–5 µs of a request in the profile), and loading it costs ~60 ms of
// a worker's start (with @opentelemetry/api), so a worker counts with these from its first moment
// and loads prom-client later (metrics.ts). test/plain-metrics.test.js and
// test/request-tally.test.js compare the output with prom-client's line for line.

export type Labels = Readonly<Record<string, string>>;

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

export interface CounterSeries {
  readonly labels: Labels;
  n: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last one: above every bound */
  readonly counts: number[];
  sum: number;
  n: number;
}

/**
 * Labelled series kept by a key the caller makes from the label values, once where it can
 * (`series(key) ?? add(key, labels)`): counting then makes no object and hashes no label set.
 * Look a series up at each use rather than keeping it: reset() drops them all.
 */
interface Family<S> {
  metric: RegistrableMetric;
  series(key: string): S | undefined;
  add(key: string, labels: Labels): S;
}

export function createCounterFamily(name: string, help: string): Family<CounterSeries> {
  const all = new Map<string, CounterSeries>();
  return {
    metric: {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      async get() {
        const values = [...all.values()].map((s): MetricValue => ({ labels: { ...s.labels }, value: s.n }));
        return { name, help, type: 'counter', aggregator: 'sum', values };
      },
      reset: () => all.clear(),
    },
    series: (key) => all.get(key),
    add: (key, labels) => {
      const made = { labels, n: 0 };
      all.set(key, made);
      return made;
    },
  };
}

/** A histogram's series; `observe` ignores a value that is no finite number (prom-client throws; a NaN would spoil the sum for good). */
export function createHistogramFamily(name: string, help: string, buckets: readonly number[]): Family<HistogramSeries> & { observe(series: HistogramSeries, value: number): void } {
  const bounds = [...buckets].sort((a, b) => a - b);
  const all = new Map<string, HistogramSeries>();
  return {
    metric: {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        const values: MetricValue[] = [];
        for (const s of all.values()) {
          let cumulative = 0;
          bounds.forEach((le, i) => {
            cumulative += s.counts[i]!;
            values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` });
          });
          values.push({ labels: { le: '+Inf', ...s.labels }, value: s.n, metricName: `${name}_bucket` });
          values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
          values.push({ labels: { ...s.labels }, value: s.n, metricName: `${name}_count` });
        }
        return { name, help, type: 'histogram', aggregator: 'sum', values };
      },
      reset: () => all.clear(),
    },
    series: (key) => all.get(key),
    add: (key, labels) => {
      const made = { labels, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, n: 0 };
      all.set(key, made);
      return made;
    },
    observe: (series, value) => {
      if (!Number.isFinite(value)) return;
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      series.counts[i]!++;
      series.sum += value;
      series.n++;
    },
  };
}

/** An unlabelled counter: one number (prom-client prints it as 0 before any inc and after a reset). */
export function createPlainCounter(name: string, help: string): { metric: RegistrableMetric; inc(): void } {
  let n = 0;
  return {
    metric: {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: [{ labels: {}, value: n }] }),
      reset: () => {
        n = 0;
      },
    },
    inc: () => {
      n++;
    },
  };
}

/** A counter with one label (prom-client prints no series of it before the first inc). */
export function createLabelledCounter(name: string, help: string, labelName: string): { metric: RegistrableMetric; inc(label: string): void } {
  const family = createCounterFamily(name, help);
  return {
    metric: family.metric,
    inc: (label) => {
      (family.series(label) ?? family.add(label, { [labelName]: label })).n++;
    },
  };
}

/** An unlabelled histogram (prom-client prints its zero buckets before any observation, none after a reset). */
export function createPlainHistogram(name: string, help: string, buckets: readonly number[]): { metric: RegistrableMetric; observe(value: number): void } {
  const family = createHistogramFamily(name, help, buckets);
  family.add('', {});
  return {
    metric: family.metric,
    observe: (value) => {
      if (!Number.isFinite(value)) return; // not even the series
      family.observe(family.series('') ?? family.add('', {}), value);
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
