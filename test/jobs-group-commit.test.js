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
import { openSqlite } from '../dist/store/sqlite-driver.js';
import { makeDataDir, sleep } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';

const FEEDBACK = { provider: 'noop', language: 'en', score: 50, summary: 's', strengths: [], improvements: [], slides: [], metrics: { slides: 1, words: 2, estimatedMinutes: 1, wordsPerSlideMax: 2, readability: 50 } };

/**
 * A runner with the noop provider over `store`, its log lines parsed into `lines`; stopped after
 * the test unless `stopAfter` is false (a test that stops it itself).
 */
function noopRunner(t, store, { slots, leaseMs, stopAfter = true }) {
  const lines = [];
  const logger = pino({ level: 'debug' }, { write: (line) => lines.push(JSON.parse(line)) });
  const provider = { name: 'noop', generate: async ({ presentationId }) => ({ feedback: FEEDBACK, raw: `answer ${presentationId}` }) };
  const runner = new JobRunner({ store, provider, logger, slots, leaseMs, idlePollMs: 50, retryBaseMs: 10 });
  runner.start();
  if (stopAfter) t.after(() => runner.stop(1000));
  return { runner, lines };
}

function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A real SQLite store whose completeJobs runs `before(call)` first (a delay, a failure, a hang)
 * and `after(call)` once written, and records each call (time, batch size), how many were in
 * flight at once, and each lease renewal (lease, answer).
 */
function watchedStore(t, before, after = () => {}) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const real = new SqliteStore(file);
  t.after(() => real.close());
  const seen = { calls: [], inFlight: 0, maxInFlight: 0, renewals: [] };
  const store = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name);
      if (name === 'renewLease') {
        return async (jobId, lease, leaseMs) => {
          const renewed = await real.renewLease(jobId, lease, leaseMs);
          seen.renewals.push({ lease, renewed });
          return renewed;
        };
      }
      if (name !== 'completeJobs') return typeof value === 'function' ? value.bind(target) : value;
      return async (inputs) => {
        seen.calls.push({ at: Date.now(), size: inputs.length });
        const call = seen.calls.length;
        seen.inFlight++;
        seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
        try {
          await before(call, inputs);
          const results = await real.completeJobs(inputs);
          await after(call, inputs);
          return results;
        } finally {
          seen.inFlight--;
        }
      };
    },
  });
  return { store, real, seen, file };
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
  const { runner, lines } = noopRunner(t, store, { slots: 2, leaseMs: 30_000 });
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
  const { runner, lines } = noopRunner(t, store, { slots: 1, leaseMs: 30_000, stopAfter: false });
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

// A renewal that runs just after the batch wrote the result finds the lease cleared by that very
// write (on PostgreSQL it waits on the row lock, then sees lease_token NULL), and its answer can
// come back before the batch's. Seen in the multi-host test: a job done and stored once, but
// logged as "lost its lease; its result was discarded", its feedback.marked line missing.
test("a renewal that finds the lease cleared by the job's own completion does not make it a lost lease; a lease really taken meanwhile still is", { timeout: 30_000 }, async (t) => {
  let steal = false; // another worker takes the leases of the next batch while it is written
  let other;
  const { store, real, file, seen } = watchedStore(
    t,
    async (call, inputs) => {
      if (steal) for (const { jobId } of inputs) other.prepare("UPDATE jobs SET lease_token = 'another worker' WHERE id = ?").run(jobId);
    },
    // the batch is written; its answer is slow to come back, and a renewal runs meanwhile
    async () => {
      const before = seen.renewals.length;
      await waitUntil('a renewal after the write', () => seen.renewals.length > before, 5000, 2);
      await sleep(20);
    },
  );
  other = openSqlite(file);
  t.after(() => other.close());
  const { runner, lines } = noopRunner(t, store, { slots: 1, leaseMs: 150 }); // renewals every 50 ms
  const ours = await newTalk(real);
  runner.wake();
  await waitUntil('the talk done', async () => (await real.getPresentation(ours)).status === 'done', 10_000, 10);
  await waitUntil('its outcome logged', () => lines.some((l) => l.presentationId === ours && ['feedback.marked', 'job.lease_lost'].includes(l.event)), 5000, 5);
  assert.ok(seen.renewals.some((r) => !r.renewed), 'a renewal found the lease cleared while the batch answer was on its way');
  assert.deepEqual(lines.filter((l) => l.event === 'job.lease_lost').map((l) => l.msg), [], 'its own completion is not a lost lease');
  assert.equal(lines.filter((l) => l.event === 'feedback.marked' && l.presentationId === ours).length, 1, 'the stored result is logged as marked');

  // the fence still decides for a lease that another worker took while the batch was written
  steal = true;
  const stolen = await newTalk(real);
  runner.wake();
  await waitUntil('its outcome logged', () => lines.some((l) => l.presentationId === stolen && ['feedback.marked', 'job.lease_lost'].includes(l.event)), 5000, 5);
  const jobId = lines.find((l) => l.presentationId === stolen).jobId;
  assert.deepEqual(lines.filter((l) => l.presentationId === stolen && l.event !== 'feedback.started').map((l) => [l.event, l.msg]), [['job.lease_lost', `Job ${jobId} lost its lease; its result was discarded`]]);
  assert.equal((await real.getPresentation(stolen)).status, 'processing', "not written: the lease is the other worker's");
});

test('a batch that hangs while another worker takes the lease: the job is given up at the second renewal that finds the lease gone, without stop()', { timeout: 30_000 }, async (t) => {
  const { store, real, file, seen, release } = hangingStore(t);
  t.after(release);
  const other = openSqlite(file);
  t.after(() => other.close());
  const { runner, lines } = noopRunner(t, store, { slots: 1, leaseMs: 300 }); // renewals every 100 ms
  const id = await newTalk(real);
  runner.wake();
  await waitUntil('the batch hanging', () => lines.some((l) => l.event === 'feedback.started'), 5000, 5);
  await sleep(50);
  // another worker's lease, for a minute: this runner cannot claim the job again meanwhile
  other.prepare("UPDATE jobs SET lease_token = 'another worker', lease_expires_at = ?").run(Date.now() + 60_000);
  const stolenAt = Date.now();
  const lost = await waitUntil('job.lease_lost', () => lines.find((l) => l.event === 'job.lease_lost'), 5000, 5);
  assert.match(lost.msg, /lost its lease; its result was discarded$/);
  assert.ok(Date.now() - stolenAt < 2000, `given up ${Date.now() - stolenAt} ms after the lease was taken (two renewal periods: 200 ms)`);
  assert.equal(runner.active, 0, 'the attempt has ended: nothing left for stop() to wait for');
  const renewalsOf = (lease) => seen.renewals.filter((r) => r.lease === lease).length;
  const after = renewalsOf(lost.lease);
  await sleep(400);
  assert.equal(renewalsOf(lost.lease), after, 'no more renewals of the lost lease');
  assert.equal((await real.getPresentation(id)).status, 'processing', 'nothing written: the lease is the other worker\'s');
  assert.equal(lines.filter((l) => l.event === 'feedback.marked').length, 0);
});
