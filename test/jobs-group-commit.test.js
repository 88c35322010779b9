// The runner's group commit: one batch of completions written at a time; results that arrive
// while it is written go together in the next one (on PostgreSQL a commit waits for the WAL
// flush, and each batch in flight took a connection and a transaction of its own). A real SQLite
// store whose completeJobs is made slow and sometimes failing, as a remote database's can be.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { JobRunner } from '../dist/jobs/runner.js';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { makeDataDir, sleep } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';

const FEEDBACK = { provider: 'noop', language: 'en', score: 50, summary: 's', strengths: [], improvements: [], slides: [], metrics: { slides: 1, words: 2, estimatedMinutes: 1, wordsPerSlideMax: 2, readability: 50 } };

function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A real SQLite store whose completeJobs runs `before(call)` first (a delay, a failure, a hang),
 * and records each call (time, batch size) and how many were in flight at once.
 */
function watchedStore(t, before) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const real = new SqliteStore(file);
  t.after(() => real.close());
  const seen = { calls: [], inFlight: 0, maxInFlight: 0 };
  const store = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (name !== 'completeJobs') return typeof value === 'function' ? value.bind(target) : value;
      return async (inputs) => {
        seen.calls.push({ at: Date.now(), size: inputs.length });
        const call = seen.calls.length;
        seen.inFlight++;
        seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
        try {
          await before(call);
          return await real.completeJobs(inputs);
        } finally {
          seen.inFlight--;
        }
      };
    },
  });
  return { store, real, seen };
}

/** The same, its first completeJobs call hanging until `release()`. */
function hangingStore(t) {
  let release;
  const gate = new Promise((r) => (release = r));
  return { ...watchedStore(t, (call) => (call === 1 ? gate : undefined)), release: () => release() };
}

const newTalk = async (real) => (await real.createPresentation({ title: 'T', content: '# T\n\nwords', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 3)).id;

for (const seed of [1, 2, 3, 4]) {
  test(`group commit (seed ${seed}): never two batches in flight, results that come meanwhile share the next, a failed batch committed again, every talk marked once`, { timeout: 60_000 }, async (t) => {
    const rnd = random(seed);
    const { store, real, seen } = watchedStore(t, async (call) => {
      await sleep(5 + Math.floor(rnd() * 40));
      if (call % 7 === 3) throw Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' });
    });
    const lines = [];
    const logger = pino({ level: 'debug' }, { write: (line) => lines.push(JSON.parse(line)) });
    const modelCalls = new Map();
    const provider = {
      name: 'noop',
      generate: async ({ presentationId }) => {
        modelCalls.set(presentationId, (modelCalls.get(presentationId) ?? 0) + 1);
        await sleep(Math.floor(rnd() * 8));
        return { feedback: FEEDBACK, raw: `answer ${presentationId}` };
      },
    };
    const runner = new JobRunner({ store, provider, logger, slots: 4, leaseMs: 10_000, idlePollMs: 50, retryBaseMs: 10 });
    runner.start();
    t.after(() => runner.stop(1000));
    const ids = [];
    for (let burst = 0; burst < 6; burst++) {
      const n = 1 + Math.floor(rnd() * 12);
      for (let i = 0; i < n; i++) ids.push(await newTalk(real));
      runner.wake();
      await sleep(Math.floor(rnd() * 60));
    }
    await waitUntil('every talk done', async () => (await Promise.all(ids.map((id) => real.getPresentation(id)))).every((v) => v.status === 'done'), 30_000, 20);
    assert.equal(seen.maxInFlight, 1, 'one batch of completions in flight at a time');
    const marked = lines.filter((l) => l.event === 'feedback.marked');
    assert.equal(marked.length, ids.length, 'one feedback.marked per talk');
    assert.deepEqual([...new Set(marked.map((l) => l.presentationId))].sort(), [...ids].sort());
    for (const id of ids) assert.equal(modelCalls.get(id), 1, `talk ${id}: the model called once (a failed commit is committed again, never generated again)`);
    assert.ok(lines.some((l) => l.event === 'job.commit_failed'), 'some batches failed and were committed again');
    assert.equal(lines.filter((l) => l.event === 'feedback.failed').length, 0);
    // the slow commits made results wait: some batch carried several
    const sizes = seen.calls.map((c) => c.size);
    assert.ok(Math.max(...sizes) > 1, `batch sizes ${sizes.join(',')}`);
    t.diagnostic(`${ids.length} talks, ${sizes.length} completeJobs calls carrying ${sizes.reduce((a, b) => a + b, 0)} results (max ${Math.max(...sizes)})`);
  });
}

test('a batch that hangs (a connection gone silent) holds the results behind it for COMPLETION_STALL_MS, then no longer: later results are written one batch at a time as they come', { timeout: 30_000 }, async (t) => {
  const { store, real, seen, release } = hangingStore(t);
  const lines = [];
  const logger = pino({ level: 'debug' }, { write: (line) => lines.push(JSON.parse(line)) });
  const provider = { name: 'noop', generate: async ({ presentationId }) => ({ feedback: FEEDBACK, raw: `answer ${presentationId}` }) };
  const runner = new JobRunner({ store, provider, logger, slots: 2, leaseMs: 30_000, idlePollMs: 50, retryBaseMs: 10 });
  runner.start();
  t.after(() => runner.stop(1000));
  const first = await newTalk(real);
  runner.wake();
  await waitUntil('the first batch hanging', () => seen.calls.length === 1, 5000, 5);
  const hungAt = seen.calls[0].at;
  // a talk every 100 ms for 2.5 s while the first batch hangs
  const later = [];
  for (let i = 0; i < 25; i++) {
    later.push(await newTalk(real));
    runner.wake();
    await sleep(100);
  }
  await waitUntil('the later talks done while the first batch hangs', async () => (await Promise.all(later.map((id) => real.getPresentation(id)))).every((v) => v.status === 'done'), 10_000, 20);
  assert.equal((await real.getPresentation(first)).status, 'processing', 'the hanging batch has not been written');
  const starts = seen.calls.map((c) => c.at - hungAt);
  assert.ok(starts[1] >= 900 && starts[1] < 3000, `the second batch waited for the stall limit: ${starts[1]} ms`);
  // once the stalled batch stopped counting, each batch goes as the one before is written: no
  // batch waits for another stall limit (before, one a second: batches at ~1000, 2000, 3000 ms)
  const gaps = starts.slice(2).map((at, i) => at - starts[i + 1]);
  assert.ok(gaps.length >= 5, `batches after the stall: ${starts.join(', ')} ms`);
  assert.ok(Math.max(...gaps) < 700, `gaps between batches after the stall: ${gaps.join(', ')} ms`);
  release();
  await waitUntil('the first talk done once its batch is written', async () => (await real.getPresentation(first)).status === 'done', 5000, 20);
  assert.equal(seen.maxInFlight, 2, 'the stalled batch and one other, never more');
  assert.equal(lines.filter((l) => l.event === 'feedback.marked').length, 26);
});

test('stop() with a batch that never settles: the runner stops after its timeout, the job is not marked, and says why', { timeout: 30_000 }, async (t) => {
  const { store, real, release } = hangingStore(t);
  t.after(release);
  const lines = [];
  const logger = pino({ level: 'debug' }, { write: (line) => lines.push(JSON.parse(line)) });
  const provider = { name: 'noop', generate: async ({ presentationId }) => ({ feedback: FEEDBACK, raw: `answer ${presentationId}` }) };
  const runner = new JobRunner({ store, provider, logger, slots: 1, leaseMs: 30_000, idlePollMs: 50, retryBaseMs: 10 });
  runner.start();
  const id = await newTalk(real);
  runner.wake();
  await waitUntil('the batch hanging', () => lines.some((l) => l.event === 'feedback.started'), 5000, 5);
  await sleep(50);
  const started = Date.now();
  const stopped = await Promise.race([runner.stop(300).then(() => true), sleep(10_000).then(() => false)]);
  assert.ok(stopped, 'stop() returned');
  assert.ok(Date.now() - started < 5000, `within ${Date.now() - started} ms`);
  assert.equal((await real.getPresentation(id)).status, 'processing', 'not marked: its lease runs out and another worker runs it');
  const gaveUp = lines.find((l) => l.event === 'job.commit_failed' && l.retryInMs === null);
  assert.ok(gaveUp, 'job.commit_failed says the result was not written');
  assert.equal(gaveUp.err?.message, 'worker stopping');
  assert.equal(lines.filter((l) => l.event === 'feedback.marked').length, 0);
});
