// A worker thread acting as one presenter-serve worker for the contract suite: its own store
// instance on the shared database, started together with the others so that their calls race
// for real (better-sqlite3 answers synchronously: in one thread nothing would interleave).
// Tasks: `claim-loop` claims 1..5 jobs at a time and completes them — or, with `abandonRate`,
// drops a claim as a crashed worker would and tries to complete it late, after the others took
// it over; `chaos` does everything a worker may do, at random; `create` sends `count`
// createPresentation calls at once. It reports every answer.
import { parentPort, workerData } from 'node:worker_threads';
import { random } from './proc.js';
import { openStore } from './stores.js';

const feedback = { provider: 'test', language: 'en', score: 1, summary: '', strengths: [], improvements: [], slides: [], metrics: { slides: 0, words: 0, estimatedMinutes: 0, wordsPerSlideMax: 0, readability: 0 } };
/** The feedback as completeJobs takes it: its provider and its JSON text. */
const stored = { provider: feedback.provider, feedbackJson: JSON.stringify(feedback) };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function claimLoop(store, { pid, seed, leaseMs, abandonRate }) {
  const rand = random(seed);
  const claims = [];
  const exhausted = [];
  const completions = [];
  const abandoned = [];
  for (;;) {
    const n = 1 + Math.floor(rand() * 5);
    const result = await store.claimJobs(n, pid, leaseMs);
    exhausted.push(...result.exhausted);
    if (result.jobs.length > n) throw new Error(`claimJobs(${n}) returned ${result.jobs.length} jobs`);
    for (const job of result.jobs) claims.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, maxAttempts: job.maxAttempts, expired: job.expired ?? null, pid });
    const keep = [];
    for (const job of result.jobs) (rand() < abandonRate ? abandoned : keep).push(job);
    if (keep.length > 0) {
      const ok = await store.completeJobs(keep.map((job) => ({ jobId: job.jobId, lease: job.lease, feedbackId: `${pid}-${job.jobId}-${job.attempt}`, ...stored, responseHash: 'h' })));
      keep.forEach((job, i) => completions.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, ok: ok[i], late: false }));
    }
    if (result.jobs.length === 0 && result.exhausted.length === 0) {
      // nothing due: stop once nothing is queued or running anywhere, else wait for the next due time
      const wake = await store.nextWakeInMs();
      if (wake === null) break;
      await sleep(Math.min(Math.max(wake, 1), 25));
    }
  }
  // the crashed worker comes back: every job it dropped was taken over meanwhile, so it writes nothing
  for (const job of abandoned) {
    const [ok] = await store.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `${pid}-late-${job.jobId}-${job.attempt}`, ...stored, responseHash: 'h' }]);
    completions.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, ok, late: true });
  }
  return { claims, exhausted, completions };
}

// Every operation a worker does, chosen at random per claimed job, with short leases so that
// takeovers race with completions, failures, releases and renewals. Each write's answer is kept.
async function chaos(store, { pid, seed }) {
  const rand = random(seed);
  const claims = [];
  const exhausted = [];
  const writes = [];
  const ERR = { detail: 'chaos', public: 'Chaos.' };
  for (;;) {
    const n = 1 + Math.floor(rand() * 3);
    const result = await store.claimJobs(n, pid, 30 + Math.floor(rand() * 60));
    exhausted.push(...result.exhausted);
    for (const job of result.jobs) claims.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, maxAttempts: job.maxAttempts, expired: job.expired ?? null, pid });
    for (const job of result.jobs) {
      const write = async (op, call) => writes.push({ op, jobId: job.jobId, lease: job.lease, attempt: job.attempt, ok: await call() });
      if (rand() < 0.3) await write('renew', () => store.renewLease(job.jobId, job.lease, 30 + Math.floor(rand() * 60)));
      if (rand() < 0.2) await sleep(Math.floor(rand() * 150)); // a slow model call: the lease may run out
      const r = rand();
      if (r < 0.5) await write('complete', async () => (await store.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `${pid}-${job.lease}`, ...stored, responseHash: 'h' }]))[0]);
      else if (r < 0.7 && job.attempt < job.maxAttempts) await write('retry', () => store.failJob(job.jobId, job.lease, ERR, Math.floor(rand() * 20)));
      else if (r < 0.75) await write('fail', () => store.failJob(job.jobId, job.lease, ERR, null));
      else if (r < 0.87) await write('release', () => store.releaseJob(job.jobId, job.lease));
      // else: dropped, as by a crash; another worker takes it over once the lease expires
    }
    if (result.jobs.length === 0 && result.exhausted.length === 0) {
      const wake = await store.nextWakeInMs();
      if (wake === null) break;
      await sleep(Math.min(Math.max(wake, 1), 25));
    }
  }
  return { claims, exhausted, writes };
}

async function create(store, { input, count }) {
  const answers = await Promise.all(Array.from({ length: count }, () => store.createPresentation(input, 5).catch((error) => ({ error: `${error.name}: ${error.message}` }))));
  return { answers };
}

const store = await openStore(workerData.spec);
parentPort.postMessage({ type: 'ready' });
await new Promise((resolve) => parentPort.once('message', resolve));
try {
  const tasks = { create, chaos, 'claim-loop': claimLoop };
  const report = await tasks[workerData.task](store, workerData);
  parentPort.postMessage({ type: 'done', ...report });
} catch (error) {
  parentPort.postMessage({ type: 'error', message: error.stack ?? String(error) });
} finally {
  await store.close();
}
