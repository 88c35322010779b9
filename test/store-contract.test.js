// One contract for every Store (issue #13, item 1): each test below runs against SQLite and
// against PostgreSQL, through the interface only, plus raw SQL where the database itself must
// refuse something. The PostgreSQL half skips, saying why, when no server answers at
// 127.0.0.1:5432 or dist/store/postgres.js is not built. Lease expiry is by the store's clock
// (the database's for PostgreSQL): tests only sleep past short leases, never compare the host's
// clock with the store's; a PostgreSQL-only test gives two instances clocks two hours apart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { requestHash } from '../dist/store/rows.js';
import { IdempotencyConflictError, InvalidCursorError } from '../dist/store/types.js';
import { sleep } from './helpers/cli.js';
import { random } from './helpers/proc.js';
import { migrateTarget, openStore, storeBackends } from './helpers/stores.js';

const FEEDBACK = { provider: 'test', language: 'en', score: 1, summary: '', strengths: [], improvements: [], slides: [], metrics: { slides: 0, words: 0, estimatedMinutes: 0, wordsPerSlideMax: 0, readability: 0 } };
/** A feedback as completeJobs takes it: its provider and its JSON text. */
const stored = (feedback = FEEDBACK) => ({ provider: feedback.provider, feedbackJson: JSON.stringify(feedback) });
const talk = (title = 'T', idempotencyKey = undefined) => ({ title, content: 'hello', language: 'en', targetMinutes: undefined, idempotencyKey });
const LONG = 60_000;
const complete = async (store, job, id = `f-${job.jobId}-${job.attempt}`) => (await store.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: id, ...stored(), responseHash: 'h' }]))[0];
const ERR = { detail: 'model said 500 at http://internal:8080/v1', public: 'The model failed.' };
const PRESENTATION_STATUS = { queued: 'pending', running: 'processing', done: 'done', failed: 'failed' };

/** Runs one worker thread per task (helpers/store-worker.js), all started at once, and collects their reports. */
async function inWorkers(spec, tasks) {
  const workers = [];
  const ready = [];
  const reports = [];
  for (const [i, task] of tasks.entries()) {
    const worker = new Worker(new URL('./helpers/store-worker.js', import.meta.url), { workerData: { spec, ...task } });
    workers.push(worker);
    ready.push(new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }));
    reports.push(new Promise((resolve, reject) => {
      worker.on('message', (m) => (m.type === 'done' ? resolve(m) : m.type === 'error' ? reject(new Error(`store worker ${i}: ${m.message}`)) : undefined));
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`store worker ${i} exited (${code}) without a report`)));
    }));
  }
  try {
    await Promise.all(ready);
    for (const w of workers) w.postMessage('go');
    return await Promise.all(reports);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const claimLoops = (instances, options) => Array.from({ length: instances }, (_, i) => ({ task: 'claim-loop', pid: 1000 + i, seed: options.seed + i, ...options }));

/** What a caller can see of a view: its keys in order and the type of each value. */
const shape = (view) => Object.entries(view).map(([k, v]) => `${k}:${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const BACKENDS = await storeBackends();

for (const backend of BACKENDS) {
  describe(`store contract: ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());

    test('one claimant per job: 200 jobs, 4 workers racing claim loops of 1..5: each job claimed once, completed once', { timeout: 60_000 }, async (t) => {
      const { spec, stores: [a], raw } = await backend.open(t, 1);
      // On a loaded machine one thread may take every job before the others run: the race is run
      // again (up to 3 rounds of 200) until the claims spread; the invariants hold in every round.
      let spread = [];
      let rounds = 0;
      while (rounds < 3 && spread.filter((n) => n > 0).length < 2) {
        rounds++;
        for (let i = 0; i < 200; i++) await a.createPresentation(talk(`race ${rounds}-${i}`), 5);
        const reports = await inWorkers(spec, claimLoops(4, { leaseMs: LONG, abandonRate: 0, seed: 7 }));
        const claims = reports.flatMap((r) => r.claims);
        const ids = claims.map((c) => c.jobId);
        assert.equal(new Set(ids).size, ids.length, 'a job was claimed twice while its lease was live');
        assert.equal(ids.length, 200, 'every job claimed');
        assert.ok(claims.every((c) => c.attempt === 1 && c.expired === null));
        assert.ok(reports.every((r) => r.exhausted.length === 0));
        const completions = reports.flatMap((r) => r.completions);
        assert.equal(completions.filter((c) => c.ok).length, 200, 'every holder completes its job');
        spread = reports.map((r) => r.claims.length);
      }
      assert.ok(spread.filter((n) => n > 0).length >= 2, `the claims should spread over the workers in one of ${rounds} rounds, got ${spread}`);
      const jobs = await raw.jobs();
      assert.deepEqual([...new Set(jobs.map((j) => j.status))], ['done']);
      assert.equal((await raw.feedbackRows()).length, 200 * rounds);
      assert.equal(await a.queueDepth(), 0);
      assert.equal(await a.nextWakeInMs(), null);
    });

    test('crashing workers: dropped leases are taken over after expiry, late writers are fenced, each job ends done or exhausted once', { timeout: 60_000 }, async (t) => {
      const { spec, stores: [a], raw } = await backend.open(t, 1);
      for (let i = 0; i < 120; i++) await a.createPresentation(talk(`crash ${i}`), 1 + (i % 3)); // a third have one attempt only
      const reports = await inWorkers(spec, claimLoops(3, { leaseMs: 100, abandonRate: 0.2, seed: 1234 }));
      const claims = reports.flatMap((r) => r.claims);
      const completions = reports.flatMap((r) => r.completions);
      const exhausted = reports.flatMap((r) => r.exhausted);
      const jobs = new Map((await raw.jobs()).map((j) => [j.id, j]));
      const feedback = await raw.feedbackRows();
      assert.equal(jobs.size, 120);
      assert.ok(claims.some((c) => c.expired !== null), 'some dropped lease was taken over');
      assert.ok(exhausted.length > 0, 'some job lost its last attempt');
      for (const [id, job] of jobs) {
        const mine = claims.filter((c) => c.jobId === id).sort((x, y) => x.attempt - y.attempt);
        assert.deepEqual(mine.map((c) => c.attempt), mine.map((_, i) => i + 1), `job ${id}: attempts 1..k, each claimed once`);
        assert.ok(mine.length <= job.maxAttempts, `job ${id}: ${mine.length} claims, max ${job.maxAttempts}`);
        for (let i = 1; i < mine.length; i++) {
          // no failJob or releaseJob here: every later claim is a takeover of the one before
          assert.deepEqual(mine[i].expired, { previousLease: mine[i - 1].lease, previousPid: mine[i - 1].pid }, `job ${id} attempt ${i + 1} names the lease it took over`);
        }
        const wins = completions.filter((c) => c.jobId === id && c.ok);
        const rows = feedback.filter((f) => f.jobId === id);
        if (job.status === 'done') {
          assert.equal(wins.length, 1, `job ${id}: one completion written`);
          assert.equal(wins[0].lease, mine[mine.length - 1].lease, `job ${id}: only the last claimant writes`);
          assert.equal(rows.length, 1);
        } else {
          assert.equal(job.status, 'failed', `job ${id} is ${job.status}: every job ends`);
          assert.equal(wins.length, 0);
          assert.equal(rows.length, 0);
          assert.equal(mine.length, job.maxAttempts, `job ${id} exhausted after its last attempt only`);
          assert.equal(exhausted.filter((e) => e.jobId === id).length, 1, `job ${id} reported exhausted once`);
        }
      }
      const late = completions.filter((c) => c.late);
      assert.ok(late.length > 0);
      assert.deepEqual(late.filter((c) => c.ok), [], 'a worker whose lease was taken over writes nothing');
    });

    test('racing workers doing everything at random (claim, renew, complete, retry, fail, release, drop) leave every job in one consistent end state', { timeout: 60_000 }, async (t) => {
      const { spec, stores: [a], raw } = await backend.open(t, 1);
      for (let i = 0; i < 80; i++) await a.createPresentation(talk(`chaos ${i}`), 1 + (i % 4));
      const reports = await inWorkers(spec, Array.from({ length: 3 }, (_, i) => ({ task: 'chaos', pid: 2000 + i, seed: 99 + i })));
      const claims = reports.flatMap((r) => r.claims);
      const writes = reports.flatMap((r) => r.writes);
      const exhausted = reports.flatMap((r) => r.exhausted);
      const jobs = await raw.jobs();
      const feedback = await raw.feedbackRows();
      const leases = claims.map((c) => c.lease);
      assert.equal(new Set(leases).size, leases.length, 'every claim has its own lease');
      const ended = new Map(); // lease -> its one successful terminal write
      for (const w of writes.filter((x) => x.ok && x.op !== 'renew')) {
        assert.ok(!ended.has(w.lease), `lease ${w.lease} wrote twice: ${ended.get(w.lease)} and ${w.op}`);
        ended.set(w.lease, w.op);
      }
      for (const c of claims.filter((x) => x.expired)) {
        assert.ok(!ended.has(c.expired.previousLease), `a lease that had ${ended.get(c.expired.previousLease)} its job was later "taken over"`);
      }
      for (const e of exhausted) assert.ok(!ended.has(e.previousLease), 'an exhausted lease had not ended its job');
      assert.ok(writes.some((w) => !w.ok), 'some writes came too late (the race happened)');
      for (const job of jobs) {
        const wins = (op) => writes.filter((w) => w.jobId === job.id && w.ok && w.op === op).length;
        const gone = exhausted.filter((e) => e.jobId === job.id).length;
        // an attempt number comes back only through a release: more claims of one attempt mean two claimants
        const mine = claims.filter((c) => c.jobId === job.id);
        for (const attempt of new Set(mine.map((c) => c.attempt))) {
          const released = writes.filter((w) => w.jobId === job.id && w.ok && w.op === 'release' && w.attempt === attempt).length;
          assert.ok(mine.filter((c) => c.attempt === attempt).length <= 1 + released, `job ${job.id}: attempt ${attempt} claimed twice without a release between`);
        }
        assert.ok(job.attempts <= job.maxAttempts, `job ${job.id}: ${job.attempts} attempts of ${job.maxAttempts}`);
        assert.equal(job.leaseToken, null, `job ${job.id} is ${job.status}: the workers stopped only when nothing was left`);
        assert.equal(feedback.filter((f) => f.jobId === job.id).length, job.status === 'done' ? 1 : 0);
        if (job.status === 'done') assert.deepEqual([wins('complete'), wins('fail'), gone], [1, 0, 0], `job ${job.id} done once`);
        else {
          assert.equal(job.status, 'failed', `job ${job.id} ended`);
          assert.deepEqual([wins('complete'), wins('fail') + gone], [0, 1], `job ${job.id} failed once, by a final failure or by its last lease expiring`);
        }
      }
    });

    for (const seed of [1, 2, 3]) {
      test(`a seeded random sequence of create/claim/complete/fail/release/renew/expire over 3 instances keeps every invariant (seed ${seed})`, { timeout: 60_000 }, async (t) => {
        await randomSequence(t, backend, seed, 160);
      });
    }

    test('only the lease holder completes; completing twice writes nothing', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      const { id } = await a.createPresentation(talk(), 5);
      const [job] = (await a.claimJobs(4, 111, LONG)).jobs;
      assert.equal(job.presentationId, id);
      assert.equal(job.attempt, 1);
      assert.equal(job.version, 1);
      assert.equal(job.maxAttempts, 5);
      assert.deepEqual([job.title, job.content, job.language, job.targetMinutes], ['T', 'hello', 'en', undefined]);
      assert.ok(job.waitedMs >= 0);
      assert.deepEqual((await b.claimJobs(4, 222, LONG)).jobs, [], 'a leased job is not claimable');
      assert.equal((await b.getPresentation(id)).status, 'processing');
      assert.equal(await complete(b, { ...job, lease: 'forged' }), false, 'a wrong lease writes nothing');
      assert.equal((await a.getPresentation(id)).feedback, null);
      assert.deepEqual(await b.completeJobs([]), []);
      assert.equal(await complete(a, job), true);
      assert.equal(await complete(a, job, 'f2'), false, 'completing twice writes nothing');
      assert.equal(await b.renewLease(job.jobId, job.lease, LONG), false, 'a finished job has no lease to renew');
      const view = await b.getPresentation(id);
      assert.equal(view.status, 'done');
      assert.deepEqual(view.feedback, FEEDBACK);
    });

    test('completeJobs writes the jobs whose lease holds and nothing for the others, in one call', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      for (let i = 0; i < 3; i++) await a.createPresentation(talk(`batch ${i}`), 5);
      const jobs = (await a.claimJobs(3, 1, LONG)).jobs;
      assert.equal(jobs.length, 3);
      const answers = await a.completeJobs(jobs.map((j, i) => ({ jobId: j.jobId, lease: i === 1 ? 'stale' : j.lease, feedbackId: `b${i}`, ...stored(), responseHash: 'h' })));
      assert.deepEqual(answers, [true, false, true]);
      const rows = await raw.feedbackRows();
      assert.deepEqual(rows.map((r) => r.jobId).sort(), [jobs[0].jobId, jobs[2].jobId].sort());
    });

    test('the same job twice in one completeJobs batch: the first writes, the second is refused, the rest of the batch is written', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      for (let i = 0; i < 2; i++) await a.createPresentation(talk(`twice ${i}`), 5);
      const [j, k] = (await a.claimJobs(2, 1, LONG)).jobs;
      const input = (job, id) => ({ jobId: job.jobId, lease: job.lease, feedbackId: id, ...stored(), responseHash: 'h' });
      assert.deepEqual(await a.completeJobs([input(j, 'first'), input(k, 'other'), input(j, 'second')]), [true, true, false]);
      assert.deepEqual((await raw.jobs()).map((x) => x.status), ['done', 'done']);
      assert.equal((await raw.feedbackRows()).length, 2);
    });

    test('lease takeover after expiry: attempt + 1, expired names the previous lease and pid; the old holder is fenced', async (t) => {
      const { stores: [a, b], raw } = await backend.open(t, 2);
      const { id } = await a.createPresentation(talk(), 5);
      const [old] = (await a.claimJobs(1, 111, 50)).jobs;
      await sleep(100);
      const { jobs: [taken], exhausted } = await b.claimJobs(1, 222, LONG);
      assert.deepEqual(exhausted, []);
      assert.equal(taken.jobId, old.jobId);
      assert.equal(taken.attempt, 2);
      assert.notEqual(taken.lease, old.lease);
      assert.deepEqual(taken.expired, { previousLease: old.lease, previousPid: 111 });
      assert.equal(await a.renewLease(old.jobId, old.lease, LONG), false, 'the old lease cannot be renewed');
      assert.equal(await a.failJob(old.jobId, old.lease, ERR, 10), false, 'nor fail the job');
      assert.equal(await a.failJob(old.jobId, old.lease, ERR, null), false, 'nor fail it for good');
      assert.equal(await a.releaseJob(old.jobId, old.lease), false, 'nor give it back');
      assert.equal(await complete(a, old), false, 'nor complete it');
      const [job] = await raw.jobs();
      assert.deepEqual([job.status, job.attempts, job.leaseToken, job.leasePid, job.lastError], ['running', 2, taken.lease, 222, null], 'the late writer changed nothing');
      assert.equal(await complete(b, taken), true);
      assert.equal((await a.getPresentation(id)).attempts, 2);
    });

    test('a renewed lease is not taken over; a renewal after takeover is refused', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      await a.createPresentation(talk(), 5);
      const [job] = (await a.claimJobs(1, 111, 80)).jobs;
      assert.equal(await a.renewLease(job.jobId, job.lease, LONG), true);
      await sleep(130);
      assert.deepEqual(await b.claimJobs(1, 222, LONG), { jobs: [], exhausted: [] }, 'the renewed lease still holds');
      assert.equal(await a.renewLease(job.jobId, job.lease, 50), true, 'renewing can shorten it');
      await sleep(100);
      const [taken] = (await b.claimJobs(1, 222, LONG)).jobs;
      assert.equal(taken.jobId, job.jobId);
      assert.equal(await a.renewLease(job.jobId, job.lease, LONG), false);
    });

    test('a lease that expires on the last attempt fails the job for good (exhausted), once', async (t) => {
      const { stores: [a, b, c], raw } = await backend.open(t, 3);
      const { id } = await a.createPresentation(talk(), 1);
      const [job] = (await a.claimJobs(1, 111, 50)).jobs;
      await sleep(100);
      const [r1, r2] = await Promise.all([b.claimJobs(1, 222, LONG), c.claimJobs(1, 333, LONG)]);
      assert.deepEqual([...r1.jobs, ...r2.jobs], [], 'no attempt is left to run');
      const exhausted = [...r1.exhausted, ...r2.exhausted];
      assert.equal(exhausted.length, 1, 'reported by one claimant only');
      // its log lines (job.lease_expired, final feedback.failed) are keyed by (presentation, version)
      assert.deepEqual(exhausted[0], { jobId: job.jobId, presentationId: id, version: 1, attempt: 1, previousLease: job.lease, previousPid: 111 });
      const view = await a.getPresentation(id);
      assert.deepEqual([view.status, view.attempts, view.error, view.feedback], ['failed', 1, 'The server processing this feedback stopped during the last attempt.', null]);
      assert.equal(await complete(a, job), false, 'the frozen worker, resumed, writes nothing');
      assert.deepEqual(await b.claimJobs(1, 222, LONG), { jobs: [], exhausted: [] }, 'reported once only');
      const [row] = await raw.jobs();
      assert.equal(row.leaseToken, null);
      assert.match(row.lastError, /pid 111/);
      assert.equal(await a.nextWakeInMs(), null);
    });

    test('retries wait for their time; publicError is shown, the detail kept; the final failure is stored; release does not count an attempt', async (t) => {
      const { stores: [a, b], raw } = await backend.open(t, 2);
      const { id } = await a.createPresentation(talk(), 2);
      let [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(await a.failJob(job.jobId, job.lease, ERR, 150), true);
      assert.equal(await a.failJob(job.jobId, job.lease, ERR, 150), false, 'failing twice with one lease writes nothing');
      let view = await b.getPresentation(id);
      assert.deepEqual([view.status, view.attempts, view.error], ['pending', 1, 'The model failed.']);
      let [row] = await raw.jobs();
      assert.deepEqual([row.status, row.lastError, row.publicError, row.leaseToken], ['queued', ERR.detail, ERR.public, null], 'the operator keeps the detail');
      assert.doesNotMatch(JSON.stringify(await b.getPresentationRaw(id)), /internal:8080/, 'the presenter never sees the detail');
      assert.deepEqual((await b.claimJobs(1, 2, LONG)).jobs, [], 'not before its retry time');
      const wake = await a.nextWakeInMs();
      assert.ok(wake > 0 && wake <= 150, `next wake ${wake} within the retry delay`);
      await sleep(200);
      [job] = (await b.claimJobs(1, 2, LONG)).jobs;
      assert.ok(job, 'claimable after its retry time');
      assert.equal(job.attempt, 2);
      assert.equal(job.expired, undefined, 'a retry is no takeover');
      assert.equal(await b.releaseJob(job.jobId, job.lease), true);
      assert.equal(await b.releaseJob(job.jobId, job.lease), false, 'released once');
      assert.equal((await a.getPresentation(id)).attempts, 1, 'a released claim is not an attempt');
      assert.equal(await a.nextWakeInMs(), 0, 'a released job is due at once');
      [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(job.attempt, 2, 'still the second attempt');
      assert.equal(await a.failJob(job.jobId, job.lease, { detail: 'again', public: 'The model failed again.' }, null), true);
      view = await a.getPresentation(id);
      assert.deepEqual([view.status, view.attempts, view.error, view.feedback], ['failed', 2, 'The model failed again.', null]);
      [row] = await raw.jobs();
      assert.deepEqual([row.status, row.lastError, row.leaseToken], ['failed', 'again', null]);
      assert.deepEqual((await a.claimJobs(5, 1, LONG)).jobs, [], 'a failed job is never claimed again');
      assert.equal(await a.nextWakeInMs(), null);
      assert.equal(await a.queueDepth(), 0);
    });

    test('a retry with retryInMs 0 is due at once and a later success clears the error', async (t) => {
      const { stores: [a] } = await backend.open(t, 1);
      const { id } = await a.createPresentation(talk(), 3);
      let [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(await a.failJob(job.jobId, job.lease, ERR, 0), true);
      [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(job.attempt, 2);
      assert.equal(await complete(a, job), true);
      const view = await a.getPresentation(id);
      assert.deepEqual([view.status, view.attempts, 'error' in view], ['done', 2, false], 'a done presentation shows no error');
    });

    // A lone surrogate is stored as U+FFFD (well-formed), but the Idempotency-Key's hash is over the
    // talk as sent (JSON escapes the surrogate): the hash a store kept before talks were stored
    // well-formed still matches a replay, and the talk as read back is another request.
    test('idempotency with a lone surrogate: stored as U+FFFD, hashed as sent, replayed', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      const sent = { title: 'Lone \ud800 title', content: 'a \udc00 b', language: 'en', targetMinutes: undefined, idempotencyKey: 'lone-1' };
      const first = await a.createPresentation(sent, 3);
      const [row] = await raw.query('SELECT title, content, request_hash FROM presentations WHERE id = $1', [first.id]);
      assert.equal(row.title, 'Lone \ufffd title');
      assert.equal(row.content, 'a \ufffd b');
      assert.equal(row.request_hash, requestHash(sent), 'the hash of the talk as sent');
      assert.notEqual(requestHash(sent), requestHash({ ...sent, title: row.title, content: row.content }));
      assert.deepEqual(await a.createPresentation(sent, 3), { id: first.id, status: 'pending', replayed: true });
      await assert.rejects(a.createPresentation({ ...sent, title: row.title, content: row.content }, 3), IdempotencyConflictError, 'the talk as read back is another request');
    });

    test('idempotency: 50 concurrent identical creates with one key store one presentation and one job; another body with the key conflicts', { timeout: 60_000 }, async (t) => {
      const { spec, stores, raw } = await backend.open(t, 3);
      // 5 workers × 10 calls at once, as 50 clients retrying one POST through several workers
      const reports = await inWorkers(spec, Array.from({ length: 5 }, () => ({ task: 'create', input: talk('Same', 'key-1'), count: 10 })));
      const results = reports.flatMap((r) => r.answers);
      assert.deepEqual(results.filter((r) => r.error), [], 'no caller sees an error');
      const ids = new Set(results.map((r) => r.id));
      assert.equal(ids.size, 1, 'all answers name the same presentation');
      assert.equal(results.filter((r) => r.replayed).length, 49);
      assert.ok(results.every((r) => r.status === 'pending'));
      assert.equal((await raw.query('SELECT COUNT(*) AS n FROM presentations'))[0].n * 1, 1);
      assert.equal((await raw.jobs()).length, 1, 'one job enqueued');
      assert.equal(await stores[1].queueDepth(), 1);
      await assert.rejects(stores[2].createPresentation({ ...talk('Same', 'key-1'), content: 'other' }, 5), IdempotencyConflictError);
      await assert.rejects(stores[0].createPresentation({ ...talk('Same', 'key-1'), targetMinutes: 10 }, 5), IdempotencyConflictError);
      // a replay after the job moved on answers the current state, still enqueuing nothing
      const [job] = (await stores[0].claimJobs(1, 1, LONG)).jobs;
      assert.deepEqual(await stores[1].createPresentation(talk('Same', 'key-1'), 5), { id: [...ids][0], status: 'processing', replayed: true });
      await complete(stores[0], job);
      assert.deepEqual(await stores[2].createPresentation(talk('Same', 'key-1'), 5), { id: [...ids][0], status: 'done', replayed: true });
      const other = await stores[0].createPresentation(talk('Same', 'key-2'), 5);
      assert.equal(other.replayed, false, 'another key is another presentation');
      const keyless = await Promise.all([stores[0].createPresentation(talk('Same'), 5), stores[1].createPresentation(talk('Same'), 5)]);
      assert.notEqual(keyless[0].id, keyless[1].id, 'no key, no deduplication');
      assert.equal((await raw.jobs()).length, 4);
    });

    test('creates issued together (one group commit on SQLite) each get their own answer: new, replayed in the same batch, conflicting; a conflict leaves the others stored', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      const taken = await a.createPresentation(talk('Taken', 'key-taken'), 5);
      // all issued in one turn of the event loop, without awaiting in between
      const calls = [
        a.createPresentation(talk('New 1'), 5),
        a.createPresentation(talk('Batch key', 'key-b'), 5),
        a.createPresentation(talk('Batch key', 'key-b'), 5), // the same key and body in the same batch: a replay
        a.createPresentation({ ...talk('Taken', 'key-taken'), content: 'another body' }, 5), // conflict
        a.createPresentation(talk('Taken', 'key-taken'), 5), // replay of an earlier batch
        a.createPresentation({ ...talk('Batch key', 'key-b'), content: 'changed' }, 5), // conflicts with this batch's own insert
        a.createPresentation(talk('New 2'), 5),
      ];
      const settled = await Promise.allSettled(calls);
      const [n1, b1, b2, conflict, replay, conflict2, n2] = settled;
      t.diagnostic(settled.map((r) => r.status).join(' '));
      // deterministic: the new talks, and the key stored before
      for (const r of [n1, replay, n2]) assert.equal(r.status, 'fulfilled', String(r.reason));
      assert.deepEqual([n1.value.replayed, replay.value.replayed, n2.value.replayed], [false, true, false]);
      assert.equal(replay.value.id, taken.id);
      assert.ok(conflict.reason instanceof IdempotencyConflictError, String(conflict.reason));
      // key-b was sent with two bodies at once: whichever is stored first wins (SQLite: the batch's
      // order; PostgreSQL: the pool's), its twin is a replay of it, and the other body conflicts
      const sameBody = [b1, b2];
      const won = sameBody.every((r) => r.status === 'fulfilled');
      if (won) {
        assert.equal(b1.value.id, b2.value.id);
        assert.deepEqual([b1.value.replayed, b2.value.replayed].sort(), [false, true]);
        assert.ok(conflict2.reason instanceof IdempotencyConflictError, String(conflict2.reason));
      } else {
        for (const r of sameBody) assert.ok(r.reason instanceof IdempotencyConflictError, String(r.reason));
        assert.equal(conflict2.status, 'fulfilled', String(conflict2.reason));
        assert.equal(conflict2.value.replayed, false);
      }
      if (backend.name === 'sqlite') assert.ok(won, 'SQLite stores a batch in the order the creates came');
      const batchId = won ? b1.value.id : conflict2.value.id;
      assert.equal(new Set([n1.value.id, batchId, n2.value.id, taken.id]).size, 4);
      assert.equal((await raw.query('SELECT COUNT(*) AS n FROM presentations'))[0].n * 1, 4, 'taken, new 1, key-b, new 2');
      assert.equal((await raw.jobs()).length, 4, 'one job each, none for a replay or a conflict');
      for (const id of [n1.value.id, batchId, n2.value.id]) assert.equal((await a.getPresentation(id)).status, 'pending');
    });

    test('a second feedback row for one (presentation, version) is refused by the database itself', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      const { id } = await a.createPresentation(talk(), 5);
      const [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(await complete(a, job), true);
      await assert.rejects(raw.duplicateFeedback(id, 1), (error) => {
        assert.match(`${error.code} ${error.message}`, raw.dialect === 'sqlite' ? /UNIQUE constraint failed: feedback\.presentation_id, feedback\.version/ : /^23505 duplicate key value violates unique constraint/);
        return true;
      });
      assert.equal((await raw.feedbackRows()).length, 1);
      assert.equal(await complete(a, job, 'again'), false);
      assert.equal((await raw.feedbackRows()).length, 1, 'completing twice writes nothing');
    });

    test('requestFeedback queues the next version; status follows the current version; the last feedback stays visible', async (t) => {
      const { stores: [a, b], raw } = await backend.open(t, 2);
      const { id } = await a.createPresentation(talk(), 5);
      const [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      await complete(a, job);
      const v2 = await b.requestFeedback(id, 5);
      assert.equal(v2.version, 2);
      assert.equal(typeof v2.jobId, 'string');
      assert.notEqual(v2.jobId, job.jobId);
      let view = await a.getPresentation(id);
      assert.deepEqual([view.status, view.attempts], ['pending', 0], 'the status is the new version\'s');
      assert.deepEqual(view.feedback, FEEDBACK, 'the last feedback stays visible while a new one is made');
      const [second] = (await b.claimJobs(1, 2, LONG)).jobs;
      assert.deepEqual([second.jobId, second.version, second.attempt], [v2.jobId, 2, 1]);
      assert.equal((await a.getPresentation(id)).status, 'processing');
      // two requests at once get two versions, never one twice
      const [v3, v4] = await Promise.all([a.requestFeedback(id, 5), b.requestFeedback(id, 5)]);
      assert.deepEqual([v3.version, v4.version].sort(), [3, 4]);
      assert.equal((await a.getPresentation(id)).status, 'pending', 'the current version (4) is queued');
      await b.completeJobs([{ jobId: second.jobId, lease: second.lease, feedbackId: 'v2', ...stored({ ...FEEDBACK, summary: 'second' }), responseHash: 'h2' }]);
      view = await a.getPresentation(id);
      assert.equal(view.feedback.summary, 'second', 'the newest feedback written is shown');
      assert.equal(view.status, 'pending');
      const rows = await raw.feedbackRows();
      assert.deepEqual(rows.map((r) => r.version).sort(), [1, 2]);
      assert.equal(await a.requestFeedback('00000000-0000-4000-8000-000000000000', 5), undefined);
      assert.equal(await a.requestFeedback('no-such-id', 5), undefined);
      assert.equal(await a.getPresentation('no-such-id'), undefined);
      assert.equal(await a.getPresentationRaw('00000000-0000-4000-8000-000000000000'), undefined);
    });

    test('migrations are idempotent: migrating twice applies nothing the second time', async (t) => {
      const spec = await backend.freshTarget(t);
      const first = await migrateTarget(spec);
      assert.ok(first.length >= 1, 'a fresh database gets every migration');
      assert.deepEqual(first, [...first].sort((x, y) => x - y));
      assert.deepEqual(await migrateTarget(spec), []);
      const store = await openStore(spec);
      t.after(() => store.close());
      assert.deepEqual(await store.health(), { ok: true });
    });

    if (backend.name === 'postgres') {
      test('three hosts migrating a fresh database at once: exactly one applies, none fails', async (t) => {
        const spec = await backend.freshTarget(t);
        const results = await Promise.all([migrateTarget(spec), migrateTarget(spec), migrateTarget(spec)]);
        const applying = results.filter((r) => r.length > 0);
        assert.equal(applying.length, 1, `one migrates, got ${JSON.stringify(results)}`);
        assert.deepEqual(await migrateTarget(spec), []);
        const store = await openStore(spec);
        t.after(() => store.close());
        await store.createPresentation(talk(), 1);
        assert.equal(await store.queueDepth(), 1);
      });

      test('two hosts whose clocks are two hours apart share leases, retries and wake-ups: the database clock rules', async (t) => {
        const { stores: [a, b] } = await backend.open(t, 2);
        const realNow = Date.now;
        t.after(() => (Date.now = realNow));
        // each instance is a host with its own clock: Date.now is set for the duration of its call
        const host = (skew) => async (call) => {
          Date.now = () => realNow() + skew;
          try {
            return await call();
          } finally {
            Date.now = realNow;
          }
        };
        const [onA, onB] = [host(3_600_000), host(-3_600_000)];
        // a lease and a retry delay long enough that a loaded machine (CI) still asks before they run out
        const SHORT = 500;
        for (const [first, second] of [[onA, onB], [onB, onA]]) {
          const { id } = await first(() => a.createPresentation(talk(), 3));
          const [job] = (await second(() => b.claimJobs(1, 2, SHORT))).jobs;
          assert.equal(job?.presentationId, id, 'a job queued on one host is due at once on the other');
          assert.ok(job.waitedMs < 5_000, `waited ${job.waitedMs} ms`);
          assert.deepEqual((await first(() => a.claimJobs(1, 1, LONG))).jobs, [], 'the lease holds on the other host');
          let wake = await first(() => a.nextWakeInMs());
          assert.ok(wake > 0 && wake <= SHORT, `wakes at the lease expiry, got ${wake}`);
          await sleep(SHORT + 50);
          const [taken] = (await first(() => a.claimJobs(1, 1, LONG))).jobs;
          assert.equal(taken?.jobId, job.jobId, 'taken over once the lease expired');
          assert.equal(await first(() => a.failJob(taken.jobId, taken.lease, ERR, SHORT)), true);
          assert.deepEqual((await second(() => b.claimJobs(1, 2, LONG))).jobs, [], 'not before its retry time');
          wake = await second(() => b.nextWakeInMs());
          assert.ok(wake > 0 && wake <= SHORT, `wakes within the retry delay, got ${wake}`);
          await sleep(SHORT + 50);
          const [retried] = (await second(() => b.claimJobs(1, 2, LONG))).jobs;
          assert.equal(retried?.attempt, 3, 'claimable after its retry time');
          assert.equal(await second(() => complete(b, retried)), true);
        }
      });

      test('a job queued on one instance wakes a listener on another (LISTEN/NOTIFY)', async (t) => {
        const { stores: [a, b] } = await backend.open(t, 2);
        let woken = 0;
        const unsubscribe = b.onJobQueued(() => woken++);
        await sleep(200); // the listener connects (and wakes once, for what was queued meanwhile)
        const heard = async (what, action) => {
          woken = 0;
          await action();
          for (let i = 0; i < 80 && woken === 0; i++) await sleep(25);
          assert.ok(woken >= 1, `the other instance heard of ${what}`);
        };
        let id;
        await heard('a new talk', async () => ({ id } = await a.createPresentation(talk(), 5)));
        await heard('a new feedback version', () => a.requestFeedback(id, 5));
        const [job] = (await a.claimJobs(1, 1, LONG)).jobs;
        await heard('a job given back', () => a.releaseJob(job.jobId, job.lease));
        unsubscribe();
        woken = 0;
        await a.createPresentation(talk(), 5);
        await sleep(200);
        assert.equal(woken, 0, 'an unsubscribed listener is not called');
      });
    }

    test('nextWakeInMs: null when nothing is queued, ~0 when due, a running job\'s lease expiry, within a retry delay', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      assert.equal(await a.nextWakeInMs(), null);
      await a.createPresentation(talk('one'), 3);
      assert.ok((await b.nextWakeInMs()) <= 5, 'a new job is due now');
      const [job] = (await a.claimJobs(1, 1, 400)).jobs;
      let wake = await b.nextWakeInMs();
      assert.ok(wake > 200 && wake <= 400, `a running job wakes at its lease expiry, got ${wake}`);
      assert.equal(await a.renewLease(job.jobId, job.lease, 10_000), true);
      wake = await b.nextWakeInMs();
      assert.ok(wake > 5_000 && wake <= 10_000, `renewing moves the wake-up, got ${wake}`);
      await a.createPresentation(talk('two'), 3);
      assert.ok((await b.nextWakeInMs()) <= 5, 'the earliest of a due job and a lease');
      const [second] = (await b.claimJobs(5, 2, LONG)).jobs;
      assert.equal(await b.failJob(second.jobId, second.lease, ERR, 300), true);
      wake = await a.nextWakeInMs();
      assert.ok(wake > 100 && wake <= 300, `a retry wakes within its delay, got ${wake}`);
      await sleep(350);
      assert.ok((await a.nextWakeInMs()) <= 5, 'a retry past its time is due (never negative)');
      assert.ok((await a.nextWakeInMs()) >= 0);
      const [again] = (await a.claimJobs(5, 1, LONG)).jobs;
      await complete(a, again);
      await complete(a, job);
      assert.equal(await b.nextWakeInMs(), null, 'nothing queued or running');
    });

    test('queueDepth counts queued jobs (waiting retries included), not running or finished ones', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      assert.equal(await a.queueDepth(), 0);
      for (let i = 0; i < 3; i++) await a.createPresentation(talk(`q${i}`), 3);
      assert.equal(await b.queueDepth(), 3);
      const [job] = (await a.claimJobs(1, 1, LONG)).jobs;
      assert.equal(await b.queueDepth(), 2);
      await a.failJob(job.jobId, job.lease, ERR, 60_000);
      assert.equal(await b.queueDepth(), 3, 'a job waiting for its retry is still queued');
      const jobs = (await b.claimJobs(5, 2, LONG)).jobs;
      assert.equal(jobs.length, 2);
      await b.completeJobs(jobs.map((j) => ({ jobId: j.jobId, lease: j.lease, feedbackId: `q-${j.jobId}`, ...stored(), responseHash: 'h' })));
      assert.equal(await a.queueDepth(), 1);
    });

    test('listPresentations pages newest first with a cursor, each presentation once even while new ones arrive; a forged cursor is refused', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      const created = [];
      for (let i = 0; i < 7; i++) {
        created.push((await a.createPresentation(talk(`p${i}`), 3)).id);
        if (i % 3 === 0) await sleep(3); // some share a millisecond, some do not
      }
      const seen = [];
      let cursor;
      let pages = 0;
      do {
        const page = await b.listPresentations(3, cursor);
        assert.ok(page.items.length <= 3);
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        if (pages === 0) await a.createPresentation(talk('arrives while paging'), 3);
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      assert.deepEqual(seen.map((s) => s.id).sort(), [...created].sort(), 'every presentation once; the newcomer is before the first page');
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].createdAt >= seen[i].createdAt, 'newest first');
      const item = seen[0];
      assert.deepEqual(shape(item), ['id:string', 'title:string', 'language:string', 'createdAt:string', 'status:string']);
      assert.match(item.createdAt, ISO);
      const all = await a.listPresentations(8, undefined);
      assert.equal(all.items.length, 8);
      assert.equal(all.nextCursor, null, 'no cursor after the last page');
      assert.deepEqual((await a.listPresentations(100, undefined)).items.map((s) => s.id), all.items.map((s) => s.id));
      // many created in the same millisecond: ties on createdAt are broken by id, none lost or repeated
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => [a, b][i % 2].createPresentation(talk(`burst ${i}`), 3)));
      const paged = [];
      cursor = undefined;
      do {
        const page = await b.listPresentations(4, cursor);
        paged.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.equal(new Set(paged).size, paged.length, 'no presentation on two pages');
      assert.deepEqual([...paged].sort(), [...created, ...burst.map((r) => r.id), all.items[0].id].sort(), 'every presentation on some page');
      const forged = ['x', 'not a cursor', Buffer.from('hello').toString('base64url'), Buffer.from('1|2|3').toString('base64url'), `${(await a.listPresentations(1, undefined)).nextCursor}x`];
      for (const bad of forged) await assert.rejects(a.listPresentations(3, bad), InvalidCursorError, `cursor ${JSON.stringify(bad)}`);
    });

    test('getPresentation and getPresentationRaw answer the same shape in every state (keys, ISO createdAt, error only when set)', async (t) => {
      const { stores: [a] } = await backend.open(t, 1);
      const pending = await a.createPresentation({ title: 'Shapes', content: 'x', language: 'de', targetMinutes: 12, idempotencyKey: undefined }, 1);
      const failed = await a.createPresentation(talk('Fails'), 1);
      const BASE = ['id:string', 'title:string', 'language:string', 'createdAt:string', 'status:string', 'attempts:number'];
      let view = await a.getPresentation(pending.id);
      assert.deepEqual(shape(view), [...BASE, 'feedback:null']);
      assert.deepEqual([view.id, view.title, view.language, view.status, view.attempts], [pending.id, 'Shapes', 'de', 'pending', 0]);
      assert.match(view.createdAt, ISO);
      assert.ok((await a.getPresentation(failed.id)).createdAt >= view.createdAt, 'createdAt is the creation time (by the store\'s clock)');
      assert.deepEqual(shape(await a.getPresentationRaw(pending.id)), [...BASE, 'feedbackJson:null']);
      const jobs = (await a.claimJobs(2, 1, LONG)).jobs;
      const byId = Object.fromEntries(jobs.map((j) => [j.presentationId, j]));
      assert.equal(byId[pending.id].targetMinutes, 12);
      assert.equal(byId[pending.id].language, 'de');
      await a.failJob(byId[failed.id].jobId, byId[failed.id].lease, ERR, null);
      view = await a.getPresentation(failed.id);
      assert.deepEqual(shape(view), [...BASE, 'error:string', 'feedback:null'], 'the same keys in the same order: the API sends the same JSON whatever the store');
      assert.equal(view.error, ERR.public);
      assert.deepEqual(shape(await a.getPresentationRaw(failed.id)), [...BASE, 'error:string', 'feedbackJson:null']);
      await complete(a, byId[pending.id]);
      view = await a.getPresentation(pending.id);
      assert.deepEqual(shape(view), [...BASE, 'feedback:object']);
      assert.deepEqual(view.feedback, FEEDBACK);
      const raw = await a.getPresentationRaw(pending.id);
      assert.deepEqual(shape(raw), [...BASE, 'feedbackJson:string']);
      assert.deepEqual(JSON.parse(raw.feedbackJson), FEEDBACK);
      assert.equal(raw.createdAt, view.createdAt);
    });

    // The fast read path (http/fast-get.ts) sends presentationBody's bytes where the route sends
    // JSON.stringify of getPresentationRaw's view as UTF-8: they must be the same bytes, for any
    // title, error or feedback (escaping is SQLite's json_object's and json_quote's there; the
    // feedback's text is passed on as stored) and any creation time (strftime's %f there).
    test('presentationBody, where the store has it, is byte for byte the route\'s body: random titles, errors, feedback and times', async (t) => {
      const { stores: [a], raw } = await backend.open(t, 1);
      if (typeof a.presentationBody !== 'function') {
        assert.equal(backend.name, 'postgres', 'every SQLite store has the synchronous read');
        t.skip('PostgreSQL reads asynchronously: the fast path builds the body from getPresentationRaw');
        return;
      }
      const rnd = random(20261129);
      const POOL = [...Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)), '"', '\\', '/', '\u007f', '\u0080', '\u00ff', 'é', '\u2028', '\u2029', '\ufeff', '\uffff', '🎤', '𝔘', '<', '>', '&', "'", 'a', 'Z', ' ', '0', '\ud800', '\udfff'];
      const text = (n) => Array.from({ length: n }, () => POOL[Math.floor(rnd() * POOL.length)]).join('');
      const ids = [];
      for (let i = 0; i < 150; i++) ids.push((await a.createPresentation({ title: text(1 + Math.floor(rnd() * 40)), content: 'x', language: 'en', targetMinutes: undefined, idempotencyKey: undefined }, 1)).id);
      // creation times across 1970..2200, with every millisecond ending (.000, .001, .999...)
      for (const [i, id] of ids.entries()) {
        const at = i < 3 ? [0, 999, 253402300799999][i] : Math.floor(rnd() * 7_258_118_400_000) + (i % 10 === 0 ? 999 : 0);
        await raw.query('UPDATE presentations SET created_at = $1 WHERE id = $2', [at, id]);
      }
      // a third fail with random public errors, a third get feedback, the rest stay pending
      const claimed = (await a.claimJobs(ids.length, 1, LONG)).jobs;
      for (const [i, job] of claimed.entries()) {
        if (i % 3 === 0) await a.failJob(job.jobId, job.lease, { detail: 'd', public: text(1 + Math.floor(rnd() * 30)) }, null);
        else if (i % 3 === 1) {
          // feedback with any characters, as the local analyser's dashes or a model's answer
          const feedback = { ...FEEDBACK, summary: text(Math.floor(rnd() * 60)), improvements: [text(1 + Math.floor(rnd() * 20))] };
          await a.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `f-${job.jobId}`, ...stored(feedback), responseHash: 'h' }]);
        } else await a.releaseJob(job.jobId, job.lease);
      }
      // a second feedback version for some: the newest is the one sent
      const renewed = claimed.filter((_, i) => i % 3 === 1).slice(0, 10).map((job) => job.presentationId);
      for (const id of renewed) await a.requestFeedback(id, 1);
      // (the released talks are due again too: claimed with them, and released again)
      for (const job of (await a.claimJobs(ids.length, 1, LONG)).jobs) {
        if (!renewed.includes(job.presentationId)) await a.releaseJob(job.jobId, job.lease);
        else await a.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `f2-${job.jobId}`, ...stored({ ...FEEDBACK, summary: `version 2 ${text(5)}` }), responseHash: 'h' }]);
      }
      assert.equal(renewed.length, 10);
      for (const id of ids) {
        const bytes = a.presentationBody(id);
        assert.ok(bytes instanceof Uint8Array, `${id}: bytes, not text`);
        assert.equal(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'), Buffer.from(routeBody(await a.getPresentationRaw(id)), 'utf8').toString('hex'), id);
      }
      for (const id of renewed) assert.match(JSON.parse(Buffer.from(a.presentationBody(id)).toString('utf8')).feedback.summary, /^version 2 /, id);
      assert.equal(a.presentationBody('00000000-0000-4000-8000-000000000000'), undefined);
    });

    // SQLite keeps the polled bodies between writes. What is kept: the same bytes again while
    // nothing changed (else nothing is kept and the cache is dead weight), within its bounds
    // (entries, bytes; a body over maxBody is read every time), and nothing once anything commits.
    // Two bounds: the number of entries binds in the first, the bytes in the second.
    for (const bodyCache of [{ entries: 5, bytes: 1_000_000, maxBody: 1200 }, { entries: 1000, bytes: 2000, maxBody: 1200 }]) test(`presentationBody keeps bodies between writes within its bounds (${JSON.stringify(bodyCache)}), and drops them at any commit`, async (t) => {
      const { stores: [a, b], raw } = await backend.open(t, 2, { bodyCache });
      if (typeof a.presentationBody !== 'function') {
        t.skip('PostgreSQL reads asynchronously: no synchronous body to keep');
        return;
      }
      const ids = [];
      for (let i = 0; i < 12; i++) ids.push((await a.createPresentation(talk(`talk ${i}`), 1)).id);
      const jobs = (await a.claimJobs(12, 1, LONG)).jobs;
      // sizes from ~300 bytes to over maxBody: job 0's feedback makes its body ~1,500 bytes
      for (const [i, job] of jobs.entries()) {
        await a.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `f-${i}`, ...stored({ ...FEEDBACK, summary: 'w'.repeat(i === 0 ? 1200 : i * 40) }), responseHash: 'h' }]);
      }
      const big = jobs[0].presentationId;
      const text = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      const rnd = random(20261130);
      let hits = 0;
      const last = new Map();
      for (let n = 0; n < 200; n++) {
        const id = ids[Math.floor(rnd() * ids.length)];
        const bytes = a.presentationBody(id);
        assert.equal(text(bytes), routeBody(await a.getPresentationRaw(id)), id);
        if (last.get(id) === bytes) hits++;
        last.set(id, bytes);
        const kept = a.cachedBodies;
        assert.ok(kept.entries <= bodyCache.entries && kept.bytes <= bodyCache.bytes, `within bounds: ${JSON.stringify(kept)}`);
        if (id === big) assert.notEqual(a.presentationBody(big), bytes, 'a body over maxBody is read again, not kept');
      }
      assert.ok(hits > 20, `the same bytes again while nothing changed: ${hits} of 200`);
      // a commit by another instance (another worker), then by another tool: nothing stale is sent
      const id = ids[5];
      a.presentationBody(id);
      assert.ok(a.cachedBodies.entries >= 1);
      await b.requestFeedback(id, 1);
      assert.equal(JSON.parse(text(a.presentationBody(id))).status, 'pending', "another worker's new version shows at once");
      await raw.query('UPDATE presentations SET title = $1 WHERE id = $2', ['renamed by a tool', id]);
      assert.equal(JSON.parse(text(a.presentationBody(id))).title, 'renamed by a tool');
      // and it keeps bodies again after that (each later read of one talk: the same bytes)
      const again = a.presentationBody(id);
      for (let n = 0; n < 10; n++) assert.equal(a.presentationBody(id), again, "kept again after another connection's commit");
      // a write of its own that changed no row keeps them (a claim finding nothing: most wake-ups)
      assert.deepEqual((await a.claimJobs(4, 1, LONG)).jobs.length, 1, "the version b requested");
      const kept = a.presentationBody(ids[7]);
      assert.equal((await a.claimJobs(4, 1, LONG)).jobs.length, 0);
      assert.equal(await a.renewLease(jobs[7].jobId, 'not-the-lease', LONG), false);
      assert.equal(a.presentationBody(ids[7]), kept, 'a write that changed nothing keeps them');
      // and this instance's own write empties it
      a.presentationBody(ids[6]);
      await a.requestFeedback(ids[6], 1);
      assert.equal(a.cachedBodies.entries, 0, 'dropped by its own commit');
      assert.equal(JSON.parse(text(a.presentationBody(ids[6]))).status, 'pending');
    });

    // The version a kept body is checked against must be read before the body: a commit landing
    // between the two reads (another process runs at any time) must not leave the old body kept
    // under the new version. The body's read is hooked so that another connection commits right
    // after it, synchronously (the worst moment).
    test('presentationBody: a commit between the version and the body read never leaves an old body kept', async (t) => {
      const { stores: [a, b], raw } = await backend.open(t, 2);
      if (typeof a.presentationBody !== 'function') {
        t.skip('PostgreSQL reads asynchronously: no synchronous body to keep');
        return;
      }
      const { id } = await a.createPresentation(talk('before'), 1);
      const other = (await a.createPresentation(talk('other'), 1)).id;
      await b.claimJobs(2, 1, LONG);
      const text = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      const getBody = a.stmt.getBody;
      let commitAfterRead = false;
      a.stmt.getBody = { get: (...params) => {
        const row = getBody.get(...params);
        if (commitAfterRead) {
          commitAfterRead = false;
          raw.commitNow('UPDATE presentations SET title = ? WHERE id = ?', [`after ${params[0]}`, params[0]]);
        }
        return row;
      } };
      // on the first read (no version seen yet), and on a read after a version change
      for (const target of [id, other]) {
        if (target === other) {
          a.presentationBody(target);
          raw.commitNow('UPDATE presentations SET language = ? WHERE id = ?', ['de', target]);
        }
        commitAfterRead = true;
        const first = JSON.parse(text(a.presentationBody(target)));
        assert.ok(first.title === 'before' || first.title === 'other', 'read before the commit');
        assert.equal(JSON.parse(text(a.presentationBody(target))).title, `after ${target}`, 'the next read sees the commit');
      }
    });

    // U+0000 is refused by the HTTP layer for both stores (PostgreSQL text cannot hold it): test/api.test.js
    test('a talk holding any Unicode but U+0000 is stored and read back exactly as sent', async (t) => {
      const { stores: [a] } = await backend.open(t, 1);
      const texts = ['control \u0001\u001f inside', 'emoji 🎤 and ümlauts', 'rtl \u202e and zero-width \u200b', "quote ' and backslash \\"];
      for (const text of texts) {
        const { id } = await a.createPresentation({ title: text, content: `# ${text}\n\n${text}`, language: 'auto', targetMinutes: undefined, idempotencyKey: text }, 1);
        assert.equal((await a.getPresentation(id)).title, text);
        assert.equal((await a.createPresentation({ title: text, content: `# ${text}\n\n${text}`, language: 'auto', targetMinutes: undefined, idempotencyKey: text }, 1)).replayed, true);
      }
      const claimed = (await a.claimJobs(10, 1, LONG)).jobs;
      assert.deepEqual(claimed.map((j) => j.content).sort(), texts.map((text) => `# ${text}\n\n${text}`).sort());
    });

    test('health() is ok on an open store, and the store names its kind', async (t) => {
      const { stores: [a] } = await backend.open(t, 1);
      assert.equal(a.kind, backend.kind ?? backend.name);
      assert.deepEqual(await a.health(), { ok: true });
      const unsubscribe = a.onJobQueued(() => {});
      assert.equal(typeof unsubscribe, 'function');
      unsubscribe();
    });

    test('a closed store says so: health() not ok, operations refused, closing twice is harmless', async (t) => {
      const { stores: [a, b] } = await backend.open(t, 2);
      await a.createPresentation(talk(), 3);
      await a.close();
      const health = await a.health();
      assert.equal(health.ok, false);
      assert.equal(health.code, 'STORE_UNAVAILABLE');
      await assert.rejects(a.claimJobs(1, 1, LONG));
      await assert.rejects(a.createPresentation(talk(), 3));
      await a.close();
      assert.equal(await b.queueDepth(), 1, 'the other workers go on');
    });
  });
}

/**
 * A seeded random sequence of what workers do (create, request a version, claim with a long or a
 * short lease, complete, fail with or without retry, release, renew, let short leases expire)
 * over 3 store instances, with held leases kept around after they went stale, so late writers
 * are tried too. After every step the database must satisfy every invariant.
 */
async function randomSequence(t, backend, seed, steps) {
  const { stores, raw } = await backend.open(t, 3);
  const rand = random(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const presentations = []; // { id, versions }
  let held = []; // leases a worker got and has not acted on yet (stale ones stay)
  const longLeases = new Map(); // jobId -> lease of a claim whose 60 s lease cannot have expired
  const trace = [];
  const say = (line) => trace.push(line);
  const where = () => `seed ${seed}, after:\n  ${trace.slice(-8).join('\n  ')}`;

  // An answer to a write by a lease holder: refused when the lease is not the job's current one,
  // accepted when it is and cannot have expired; either when it is current but short.
  const checkAnswer = (ok, before, entry, op) => {
    const current = before.status === 'running' && before.leaseToken === entry.lease;
    if (!current) assert.equal(ok, false, `${op} with a lease that is not the job's must be refused (${where()})`);
    else if (entry.long) assert.equal(ok, true, `${op} by the live lease holder must succeed (${where()})`);
  };

  for (let step = 0; step < steps; step++) {
    const before = new Map((await raw.jobs()).map((j) => [j.id, j]));
    const r = rand();
    const i = Math.floor(rand() * 3);
    const store = stores[i];
    if (r < 0.12 || presentations.length === 0) {
      const maxAttempts = 1 + Math.floor(rand() * 3);
      const { id } = await store.createPresentation(talk(`s${step}`), maxAttempts);
      presentations.push({ id, versions: 1, maxAttempts });
      say(`#${step} create on ${i} (max ${maxAttempts})`);
    } else if (r < 0.17) {
      const p = pick(presentations);
      const v = await store.requestFeedback(p.id, p.maxAttempts);
      assert.equal(v.version, ++p.versions, where());
      say(`#${step} requestFeedback v${v.version} on ${i}`);
    } else if (r < 0.47) {
      const n = 1 + Math.floor(rand() * 3);
      const long = rand() < 0.5;
      const result = await store.claimJobs(n, 100 + i, long ? LONG : 40);
      say(`#${step} claim ${n} on ${i} (${long ? 'long' : 'short'}): ${result.jobs.map((j) => `${j.jobId.slice(0, 4)}#${j.attempt}`)} exhausted ${result.exhausted.length}`);
      assert.ok(result.jobs.length <= n, where());
      for (const job of result.jobs) {
        const was = before.get(job.jobId);
        assert.ok(was, where());
        assert.ok(!longLeases.has(job.jobId), `job ${job.jobId} was claimed while its long lease was live (${where()})`);
        assert.equal(job.attempt, was.attempts + 1, `attempt counts up by one (${where()})`);
        assert.ok(job.attempt <= job.maxAttempts, where());
        if (was.status === 'running') assert.deepEqual(job.expired, { previousLease: was.leaseToken, previousPid: was.leasePid }, where());
        else {
          assert.equal(was.status, 'queued', `only queued or expired jobs are claimed (${where()})`);
          assert.equal(job.expired, undefined, where());
        }
        held.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, maxAttempts: job.maxAttempts, long, store: i });
        if (long) longLeases.set(job.jobId, job.lease);
      }
      for (const e of result.exhausted) {
        const was = before.get(e.jobId);
        assert.equal(was.status, 'running', where());
        assert.ok(!longLeases.has(e.jobId), where());
        assert.equal(was.attempts, was.maxAttempts, `only the last attempt's expiry exhausts a job (${where()})`);
        assert.equal(e.previousLease, was.leaseToken, where());
      }
    } else if (held.length > 0 && r < 0.85) {
      const entry = pick(held);
      const was = before.get(entry.jobId);
      const actor = stores[entry.store];
      if (r < 0.65) {
        const ok = await complete(actor, entry);
        say(`#${step} complete ${entry.jobId.slice(0, 4)} → ${ok}`);
        checkAnswer(ok, was, entry, 'complete');
        held = held.filter((h) => h !== entry);
      } else if (r < 0.75) {
        // as the job runner does: a retry only while attempts are left (the store does not check)
        const retry = rand() < 0.6 && entry.attempt < entry.maxAttempts ? Math.floor(rand() * 30) : null;
        const ok = await actor.failJob(entry.jobId, entry.lease, ERR, retry);
        say(`#${step} fail ${entry.jobId.slice(0, 4)} retry ${retry} → ${ok}`);
        checkAnswer(ok, was, entry, 'failJob');
        held = held.filter((h) => h !== entry);
      } else if (r < 0.8) {
        const ok = await actor.releaseJob(entry.jobId, entry.lease);
        say(`#${step} release ${entry.jobId.slice(0, 4)} → ${ok}`);
        checkAnswer(ok, was, entry, 'releaseJob');
        if (ok) assert.equal(before.get(entry.jobId).attempts - 1, (await raw.jobs()).find((j) => j.id === entry.jobId).attempts, `release gives the attempt back (${where()})`);
        held = held.filter((h) => h !== entry);
      } else {
        const ok = await actor.renewLease(entry.jobId, entry.lease, entry.long ? LONG : 40);
        say(`#${step} renew ${entry.jobId.slice(0, 4)} → ${ok}`);
        checkAnswer(ok, was, entry, 'renewLease');
      }
      if (longLeases.get(entry.jobId) === entry.lease && !held.includes(entry)) longLeases.delete(entry.jobId);
    } else if (r >= 0.85 && r < 0.89) {
      // another tool (or an operator's sqlite3) renames a talk: no store of this test wrote it
      const p = pick(presentations);
      await raw.query('UPDATE presentations SET title = $1 WHERE id = $2', [`renamed at ${step}`, p.id]);
      say(`#${step} raw rename ${p.id.slice(0, 4)}`);
    } else {
      say(`#${step} wait 60 ms`);
      await sleep(60); // short leases expire
    }
    await checkInvariants(raw, stores, presentations, longLeases, before, where, step % 20 === 0);
    await checkBodies(stores, presentations, where);
  }
}

/** The route's body from a view read now (getPresentationRaw: a query of its own, never kept). */
function routeBody(view) {
  const { feedbackJson, ...rest } = view;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"feedback":${feedbackJson ?? 'null'}}`;
}

// The fast read (presentationBody) keeps bodies between writes (SQLite: until the store writes or
// another connection commits). After every step, every instance's fast body of every talk must be
// the one read fresh: a step's write by one instance, or by another tool, must show in the others'.
async function checkBodies(stores, presentations, where) {
  for (const [i, store] of stores.entries()) {
    if (typeof store.presentationBody !== 'function') return;
    for (const p of presentations) {
      const bytes = store.presentationBody(p.id);
      assert.ok(bytes, where());
      assert.equal(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), routeBody(await store.getPresentationRaw(p.id)), `instance ${i}'s fast body of ${p.id} is the current one (${where()})`);
    }
  }
}

async function checkInvariants(raw, stores, presentations, longLeases, before, where, views) {
  const jobs = await raw.jobs();
  const feedback = await raw.feedbackRows();
  const versions = new Map();
  for (const j of jobs) {
    assert.ok(['queued', 'running', 'done', 'failed'].includes(j.status), `job ${j.id} in one known state, got ${j.status} (${where()})`);
    assert.equal(j.leaseToken !== null, j.status === 'running', `a lease exactly while running: ${j.status} with ${j.leaseToken} (${where()})`);
    assert.ok(j.attempts >= 0 && j.attempts <= j.maxAttempts, `attempts ${j.attempts} of ${j.maxAttempts} (${where()})`);
    if (j.status === 'running' || j.status === 'done') assert.ok(j.attempts >= 1, where());
    const was = before.get(j.id);
    if (was && (was.status === 'done' || was.status === 'failed')) assert.equal(j.status, was.status, `a finished job stays finished (${where()})`);
    const key = `${j.presentationId}/${j.version}`;
    assert.ok(!versions.has(key), `one job per (presentation, version) (${where()})`);
    versions.set(key, j);
    const rows = feedback.filter((f) => f.presentationId === j.presentationId && f.version === j.version);
    assert.ok(rows.length <= 1, `at most one feedback row per (presentation, version) (${where()})`);
    assert.equal(rows.length === 1, j.status === 'done', `feedback exactly for done jobs (${where()})`);
  }
  for (const [jobId, lease] of longLeases) {
    const j = jobs.find((x) => x.id === jobId);
    assert.deepEqual([j.status, j.leaseToken, j.live], ['running', lease, true], `a live long lease is the job's (${where()})`);
  }
  if (!views) return;
  for (const p of presentations) {
    const view = await stores[0].getPresentation(p.id);
    const current = versions.get(`${p.id}/${p.versions}`);
    assert.equal(view.status, PRESENTATION_STATUS[current.status], `status follows the current version (${where()})`);
    assert.equal(view.attempts, current.attempts, where());
    assert.equal('error' in view, current.publicError !== null, where());
  }
}
