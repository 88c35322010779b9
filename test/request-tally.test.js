// The request tally (src/http/request-tally.ts) stands in for prom-client's Counter and
// Histogram on the request path: /metrics must not be able to tell them apart, for one worker
// (Registry) or several (AggregatorRegistry). package.json pins prom-client to 15.1.x, whose
// metric shape the tally copies; this test is what an upgrade must pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { createRequestTally } from '../dist/http/request-tally.js';
import { createMetrics } from '../dist/http/metrics.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const NAMES = { counterName: 'x_requests_total', counterHelp: 'requests', histogramName: 'x_duration_seconds', histogramHelp: 'latency' };

function pair() {
  const real = new Registry();
  const counter = new Counter({ name: NAMES.counterName, help: NAMES.counterHelp, labelNames: ['method', 'route', 'status'], registers: [real] });
  const histogram = new Histogram({ name: NAMES.histogramName, help: NAMES.histogramHelp, labelNames: ['method', 'route'], buckets: BUCKETS, registers: [real] });
  const mine = new Registry();
  const tally = createRequestTally({ ...NAMES, buckets: BUCKETS });
  mine.registerMetric(tally.counter);
  mine.registerMetric(tally.histogram);
  const record = (method, route, status, seconds) => {
    counter.labels(method, route, String(status)).inc();
    histogram.labels(method, route).observe(seconds);
    tally.record(method, route, status, seconds);
  };
  return { real, mine, record, tally };
}

// a small deterministic generator: the same sequence on every run
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ROUTES = [['GET', '/api/presentations/:id'], ['POST', '/api/presentations'], ['GET', '/healthz'], ['GET', 'route with "quotes" and \\ and\nnewline']];
const STATUSES = [200, 201, 400, 404, 413, 503];

function feed(record, rnd, n) {
  for (let i = 0; i < n; i++) {
    const [method, route] = ROUTES[Math.floor(rnd() * ROUTES.length)];
    const status = STATUSES[Math.floor(rnd() * STATUSES.length)];
    const pick = rnd();
    // bucket bounds exactly, zero, beyond the last bound, and ordinary values
    const seconds = pick < 0.2 ? BUCKETS[Math.floor(rnd() * BUCKETS.length)] : pick < 0.25 ? 0 : pick < 0.3 ? 3 + rnd() * 100 : rnd() * rnd();
    record(method, route, status, seconds);
  }
}

test('one worker: /metrics text is line for line what prom-client would print', async () => {
  for (const seed of [1, 2, 3]) {
    const { real, mine, record } = pair();
    feed(record, random(seed), 5000);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}`);
    // what crosses the IPC channel to the supervisor: JSON, with prom-client's empty exemplars left out
    const wire = async (registry) => JSON.parse(JSON.stringify(await registry.getMetricsAsJSON(), (key, value) => (key === 'exemplar' && value === null ? undefined : value)));
    assert.deepEqual(await wire(mine), await wire(real), `seed ${seed}`);
  }
});

test('several workers: the aggregated text equals prom-client\'s for its own metrics', async () => {
  const workers = [1, 2, 3].map((seed) => {
    const p = pair();
    feed(p.record, random(seed * 7), 2000);
    return p;
  });
  const real = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.real.getMetricsAsJSON())));
  const mine = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.mine.getMetricsAsJSON())));
  assert.equal(await mine.metrics(), await real.metrics());
  assert.match(await mine.metrics(), /x_duration_seconds_count\{method="POST",route="\/api\/presentations"\} \d+/);
});

test('a duration that is no finite number counts the request and leaves the histogram alone', async () => {
  const tally = createRequestTally({ ...NAMES, buckets: BUCKETS });
  tally.record('GET', '/x', 200, 0.002);
  tally.record('GET', '/x', 200, Number.NaN);
  tally.record('GET', '/x', 200, Infinity);
  const [counter, histogram] = [await tally.counter.get(), await tally.histogram.get()];
  assert.equal(counter.values[0].value, 3);
  const count = histogram.values.find((v) => v.metricName === 'x_duration_seconds_count');
  const sum = histogram.values.find((v) => v.metricName === 'x_duration_seconds_sum');
  assert.deepEqual([count.value, sum.value], [1, 0.002]);
  tally.counter.reset();
  tally.histogram.reset();
  assert.deepEqual([(await tally.counter.get()).values, (await tally.histogram.get()).values], [[], []]);
  // a route seen only without a duration has no latency series (not one of zero buckets)
  tally.record('GET', '/y', 200, Number.NaN);
  assert.equal((await tally.counter.get()).values.length, 1);
  assert.deepEqual((await tally.histogram.get()).values, []);
});

test('the service registry prints the request metrics under their names, with the other metrics', async () => {
  const metrics = createMetrics({ queueDepth: async () => 4 });
  metrics.request('GET', '/api/presentations/:id', 200, 0.0004);
  metrics.request('GET', '/api/presentations/:id', 200, 0.02);
  metrics.request('POST', '/api/presentations', 201, 0.003);
  const text = await (await metrics.registry()).metrics();
  assert.match(text, /^# TYPE presenter_http_requests_total counter$/m);
  assert.match(text, /^presenter_http_requests_total\{method="GET",route="\/api\/presentations\/:id",status="200"\} 2$/m);
  assert.match(text, /^# TYPE presenter_http_request_duration_seconds histogram$/m);
  assert.match(text, /^presenter_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/api\/presentations\/:id"\} 1$/m);
  assert.match(text, /^presenter_http_request_duration_seconds_bucket\{le="0.025",method="GET",route="\/api\/presentations\/:id"\} 2$/m);
  assert.match(text, /^presenter_http_request_duration_seconds_count\{method="POST",route="\/api\/presentations"\} 1$/m);
  assert.match(text, /^presenter_job_queue_depth 4$/m);
});

test('bound labels (the fast path\'s) count into the same series as record, across a reset', async () => {
  for (const seed of [4, 5]) {
    const { real, mine, tally } = pair();
    const realCounter = real.getSingleMetric(NAMES.counterName);
    const realHistogram = real.getSingleMetric(NAMES.histogramName);
    const bound = new Map();
    const rnd = random(seed);
    // half the calls through a recorder bound once per label set, half through record
    const record = (method, route, status, seconds) => {
      realCounter.labels(method, route, String(status)).inc();
      realHistogram.labels(method, route).observe(seconds);
      if (rnd() < 0.5) return tally.record(method, route, status, seconds);
      const key = `${method}\u0000${route}\u0000${status}`;
      if (!bound.has(key)) bound.set(key, tally.bind(method, route, status));
      bound.get(key)(seconds);
    };
    feed(record, random(seed * 3), 3000);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}`);
    // a reset (Registry.resetMetrics) empties the series; recorders bound before it still count
    real.resetMetrics();
    mine.resetMetrics();
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}, after the reset`);
    feed(record, random(seed * 11), 500);
    assert.equal(await mine.metrics(), await real.metrics(), `seed ${seed}, after the reset and more requests`);
  }
});

test('fastGet counts a GET of the talk route with status 200 and the fast-path total; a scrape does not add to it', async () => {
  const metrics = createMetrics({ queueDepth: async () => 0 });
  metrics.fastGet(0.0004);
  metrics.fastGet(0.02);
  metrics.request('GET', '/api/presentations/:id', 200, 0.003);
  for (let scrape = 0; scrape < 2; scrape++) {
    const text = await (await metrics.registry()).metrics();
    assert.match(text, /^presenter_http_requests_total\{method="GET",route="\/api\/presentations\/:id",status="200"\} 3$/m);
    assert.match(text, /^presenter_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/api\/presentations\/:id"\} 1$/m);
    assert.match(text, /^presenter_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/presentations\/:id"\} 2$/m);
    assert.match(text, /^presenter_http_fast_path_total 2$/m);
  }
  // Registry.resetMetrics() zeroes it as it does the tally's series
  (await metrics.registry()).resetMetrics();
  assert.match(await (await metrics.registry()).metrics(), /^presenter_http_fast_path_total 0$/m);
  metrics.fastGet(0.001);
  assert.match(await (await metrics.registry()).metrics(), /^presenter_http_fast_path_total 1$/m);
});
