// The job metrics and the fast-path count are kept in plain numbers until /metrics is first asked
// for (src/http/plain-metrics.ts): prom-client is not loaded at a worker's start. What a scrape
// prints must not tell them from prom-client 15.1's own Counter, Histogram and Gauge: before
// anything is counted, after random use, after a reset, and summed over workers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../dist/http/metrics.js';
import { createLabelledCounter, createPlainCounter, createPlainGauge, createPlainHistogram } from '../dist/http/plain-metrics.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function pair(depth) {
  const real = new Registry();
  const mine = new Registry();
  const realOutcomes = new Counter({ name: 'x_jobs_total', help: 'jobs', labelNames: ['outcome'], registers: [real] });
  const realRetries = new Counter({ name: 'x_retries_total', help: 'retries', registers: [real] });
  const realWait = new Histogram({ name: 'x_wait_seconds', help: 'wait', buckets: BUCKETS, registers: [real] });
  new Gauge({
    name: 'x_depth',
    help: 'depth',
    aggregator: 'max',
    registers: [real],
    async collect() {
      this.set(await depth());
    },
  });
  const outcomes = createLabelledCounter('x_jobs_total', 'jobs', 'outcome');
  const retries = createPlainCounter('x_retries_total', 'retries');
  const wait = createPlainHistogram('x_wait_seconds', 'wait', BUCKETS);
  for (const metric of [outcomes.metric, retries.metric, wait.metric, createPlainGauge('x_depth', 'depth', 'max', depth)]) mine.registerMetric(metric);
  const use = (rnd, n) => {
    for (let i = 0; i < n; i++) {
      const outcome = ['done', 'retried', 'failed'][Math.floor(rnd() * 3)];
      realOutcomes.labels(outcome).inc();
      outcomes.inc(outcome);
      if (outcome === 'retried') {
        realRetries.inc();
        retries.inc();
      }
      const pick = rnd();
      // bucket bounds exactly, zero, beyond the last bound, ordinary values
      const seconds = pick < 0.2 ? BUCKETS[Math.floor(rnd() * BUCKETS.length)] : pick < 0.25 ? 0 : pick < 0.3 ? 30 + rnd() * 100 : rnd() * rnd();
      realWait.observe(seconds);
      wait.observe(seconds);
    }
  };
  return { real, mine, use };
}

// what crosses the IPC channel to the supervisor: JSON, with prom-client's empty exemplars left out
const wire = async (registry) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON(), (key, value) => (key === 'exemplar' && value === null ? undefined : value)));

test('plain counters, histogram and gauge print what prom-client prints: unused, used, reset, used again', async () => {
  for (const seed of [1, 2, 3]) {
    const { real, mine, use } = pair(async () => seed * 3);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}, nothing counted yet`);
    use(random(seed), 3000);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}`);
    assert.deepEqual(await wire(mine), await wire(real), `seed ${seed}`);
    real.resetMetrics();
    mine.resetMetrics();
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}, after the reset`);
    use(random(seed + 10), 500);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}, after the reset and more`);
  }
});

test('summed over workers as prom-client sums its own', async () => {
  const workers = [1, 2, 3].map((seed) => {
    const p = pair(async () => seed);
    p.use(random(seed * 7), 1000);
    return p;
  });
  const real = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.real.getMetricsAsJSON())));
  const mine = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.mine.getMetricsAsJSON())));
  assert.equal(await mine.metrics(), await real.metrics());
  // the queue is shared: the largest, not the sum
  assert.match(await mine.metrics(), /^x_depth 3$/m);
});

test('a histogram leaves a value that is no finite number out', async () => {
  const histogram = createPlainHistogram('x_wait_seconds', 'wait', BUCKETS);
  histogram.observe(0.002);
  histogram.observe(Number.NaN);
  histogram.observe(Infinity);
  const values = (await histogram.metric.get()).values;
  assert.equal(values.find((v) => v.metricName === 'x_wait_seconds_count').value, 1);
  assert.equal(values.find((v) => v.metricName === 'x_wait_seconds_sum').value, 0.002);
});

test('a gauge whose read fails keeps its last value', async () => {
  let fail = false;
  const gauge = createPlainGauge('x_depth', 'depth', 'max', async () => {
    if (fail) throw new Error('store closed');
    return 7;
  });
  assert.equal((await gauge.get()).values[0].value, 7);
  fail = true;
  assert.equal((await gauge.get()).values[0].value, 7);
});

test('the service counts jobs before prom-client is loaded and prints them once it is', async () => {
  const metrics = createMetrics({ queueDepth: async () => 2 });
  metrics.jobs.started(3);
  metrics.jobs.outcome('retried', 250);
  metrics.jobs.outcome('done', 500);
  metrics.jobs.leaseExpired();
  const registry = await metrics.registry();
  assert.equal(await metrics.registry(), registry, 'one registry');
  const text = await registry.metrics();
  assert.match(text, /^presenter_jobs_total\{outcome="retried"\} 1$/m);
  assert.match(text, /^presenter_jobs_total\{outcome="done"\} 1$/m);
  assert.match(text, /^presenter_job_retries_total 1$/m);
  assert.match(text, /^presenter_job_lease_expiries_total 1$/m);
  assert.match(text, /^presenter_job_wait_seconds_bucket\{le="0.005"\} 1$/m);
  assert.match(text, /^presenter_job_duration_seconds_count 2$/m);
  assert.match(text, /^presenter_job_duration_seconds_sum 0.75$/m);
  assert.match(text, /^presenter_job_queue_depth 2$/m);
  assert.match(text, /^presenter_process_cpu_user_seconds_total \d/m);
});
