import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'node:test';
import { migrateDatabase, SqliteStore } from '../dist/store/sqlite.js';
import { sleep, makeDataDir } from './helpers/cli.js';

const FEEDBACK = { provider: 'test', language: 'en', score: 1, summary: '', strengths: [], improvements: [], slides: [], metrics: { slides: 0, words: 0, estimatedMinutes: 0, wordsPerSlideMax: 0, readability: 0 } };
const talk = (title = 'T') => ({ title, content: 'hello', language: 'en', targetMinutes: undefined, idempotencyKey: undefined });

function open(t) {
  const file = join(makeDataDir(t), 'presenter.db');
  migrateDatabase(file);
  const a = new SqliteStore(file);
  const b = new SqliteStore(file); // a second "worker" on the same file
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, file };
}
const complete = async (store, job, id = 'f1') => (await store.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: id, feedback: FEEDBACK, responseHash: 'h' }]))[0];

test('a job is claimed by one store only, and only the lease holder can complete it', async (t) => {
  const { a, b } = open(t);
  const { id } = (await a.createPresentation(talk(), 5));
  const [job] = (await a.claimJobs(4, 111, 60_000)).jobs;
  assert.equal(job.presentationId, id);
  assert.equal(job.attempt, 1);
  assert.deepEqual((await b.claimJobs(4, 222, 60_000)).jobs, [], 'a leased job is not claimable');
  assert.equal((await a.getPresentation(id)).status, 'processing');
  assert.equal(await complete(b, { ...job, lease: 'forged' }), false, 'a wrong lease writes nothing');
  assert.equal((await a.getPresentation(id)).feedback, null);
  assert.equal(await complete(a, job), true);
  assert.equal(await complete(a, job, 'f2'), false, 'completing twice writes nothing');
  const view = (await a.getPresentation(id));
  assert.equal(view.status, 'done');
  assert.equal(view.feedback.provider, 'test');
});

test('an expired lease is taken over; the old holder can then write nothing', async (t) => {
  const { a, b } = open(t);
  (await a.createPresentation(talk(), 5));
  const [old] = (await a.claimJobs(1, 111, 50)).jobs;
  await sleep(80);
  const { jobs: [taken] } = (await b.claimJobs(1, 222, 60_000));
  assert.equal(taken.jobId, old.jobId);
  assert.equal(taken.attempt, 2);
  assert.deepEqual(taken.expired, { previousLease: old.lease, previousPid: 111 });
  assert.equal((await a.renewLease(old.jobId, old.lease, 60_000)), false, 'the old lease cannot be renewed');
  assert.equal((await a.failJob(old.jobId, old.lease, { detail: 'x', public: 'x' }, 10)), false);
  assert.equal(await complete(a, old), false);
  assert.equal(await complete(b, taken), true);
});

test('a lease that expires on the last attempt fails the job for good', async (t) => {
  const { a, b } = open(t);
  const { id } = (await a.createPresentation(talk(), 1));
  (await a.claimJobs(1, 111, 30));
  await sleep(60);
  const result = (await b.claimJobs(1, 222, 60_000));
  assert.deepEqual(result.jobs, []);
  assert.equal(result.exhausted.length, 1);
  // its log lines (job.lease_expired, final feedback.failed) are keyed by (presentation, version)
  assert.equal(result.exhausted[0].presentationId, id);
  assert.equal(result.exhausted[0].version, 1);
  assert.equal(result.exhausted[0].previousPid, 111);
  const view = (await a.getPresentation(id));
  assert.equal(view.status, 'failed');
  assert.equal(view.error, 'The server processing this feedback stopped during the last attempt.');
});

test('retries wait for their time; the final failure is stored; release does not count an attempt', async (t) => {
  const { a } = open(t);
  const { id } = (await a.createPresentation(talk(), 2));
  let [job] = (await a.claimJobs(1, 1, 60_000)).jobs;
  assert.equal((await a.failJob(job.jobId, job.lease, { detail: 'model said 500 at http://internal', public: 'The model failed.' }, 100)), true);
  assert.equal((await a.getPresentation(id)).status, 'pending');
  assert.equal((await a.getPresentation(id)).error, 'The model failed.');
  assert.deepEqual((await a.claimJobs(1, 1, 60_000)).jobs, [], 'not before its retry time');
  assert.ok((await a.nextWakeInMs()) <= 100);
  await sleep(120);
  [job] = (await a.claimJobs(1, 1, 60_000)).jobs;
  assert.equal(job.attempt, 2);
  assert.equal((await a.releaseJob(job.jobId, job.lease)), true);
  [job] = (await a.claimJobs(1, 1, 60_000)).jobs;
  assert.equal(job.attempt, 2, 'a released claim is not an attempt');
  assert.equal((await a.failJob(job.jobId, job.lease, { detail: 'again', public: 'The model failed.' }, null)), true);
  const view = (await a.getPresentation(id));
  assert.deepEqual([view.status, view.attempts, view.error, view.feedback], ['failed', 2, 'The model failed.', null]);
});

test('a second feedback row for one version is impossible, whatever the caller does', async (t) => {
  const { a, file } = open(t);
  const { id } = (await a.createPresentation(talk(), 5));
  const [job] = (await a.claimJobs(1, 1, 60_000)).jobs;
  assert.equal(await complete(a, job), true);
  const db = new Database(file);
  t.after(() => db.close());
  assert.throws(
    () => db.prepare('INSERT INTO feedback (id, presentation_id, version, job_id, provider, body, response_hash, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)').run('f9', id, job.jobId, 'x', '{}', 'h', 0),
    /UNIQUE constraint failed: feedback.presentation_id, feedback.version/,
  );
});

test('a new feedback version queues a new job; status follows the current version', async (t) => {
  const { a } = open(t);
  const { id } = (await a.createPresentation(talk(), 5));
  const [job] = (await a.claimJobs(1, 1, 60_000)).jobs;
  await complete(a, job);
  assert.deepEqual((await a.requestFeedback(id, 5)).version, 2);
  const view = (await a.getPresentation(id));
  assert.equal(view.status, 'pending');
  assert.equal(view.feedback.provider, 'test', 'the last feedback stays visible while a new one is made');
  assert.equal((await a.requestFeedback('no-such-id', 5)), undefined);
});
