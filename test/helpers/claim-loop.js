// A worker thread acting as one presenter-serve worker for the contract suite: its own store
// instance, a claim loop taking 1..5 jobs at a time, completing what it claimed — or, with
// `abandonRate`, dropping a claim as a crashed worker would and trying to complete it late,
// after the others have taken it over. It reports every claim and every write's answer.
import { parentPort, workerData } from 'node:worker_threads';
import { random } from './proc.js';
import { openStore } from './stores.js';

const { spec, pid, seed, leaseMs, abandonRate } = workerData;
const rand = random(seed);
const feedback = { provider: 'test', language: 'en', score: 1, summary: '', strengths: [], improvements: [], slides: [], metrics: { slides: 0, words: 0, estimatedMinutes: 0, wordsPerSlideMax: 0, readability: 0 } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const store = await openStore(spec);
parentPort.postMessage({ type: 'ready' });
await new Promise((resolve) => parentPort.once('message', resolve));

const claims = [];
const exhausted = [];
const completions = [];
const abandoned = [];
let emptyClaims = 0;
try {
  for (;;) {
    const n = 1 + Math.floor(rand() * 5);
    const result = await store.claimJobs(n, pid, leaseMs);
    exhausted.push(...result.exhausted);
    if (result.jobs.length > n) throw new Error(`claimJobs(${n}) returned ${result.jobs.length} jobs`);
    for (const job of result.jobs) claims.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, maxAttempts: job.maxAttempts, expired: job.expired ?? null, pid });
    const keep = [];
    for (const job of result.jobs) (rand() < abandonRate ? abandoned : keep).push(job);
    if (keep.length > 0) {
      const ok = await store.completeJobs(keep.map((job, i) => ({ jobId: job.jobId, lease: job.lease, feedbackId: `${pid}-${claims.length}-${i}-${job.attempt}`, feedback, responseHash: 'h' })));
      keep.forEach((job, i) => completions.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, ok: ok[i], late: false }));
    }
    if (result.jobs.length === 0 && result.exhausted.length === 0) {
      emptyClaims++;
      // nothing due: stop once nothing is queued or running anywhere, else wait for the next due time
      const wake = await store.nextWakeInMs();
      if (wake === null) break;
      await sleep(Math.min(Math.max(wake, 1), 25));
    }
  }
  // the crashed worker comes back: every job it dropped was taken over meanwhile, so it writes nothing
  for (const job of abandoned) {
    const [ok] = await store.completeJobs([{ jobId: job.jobId, lease: job.lease, feedbackId: `${pid}-late-${job.jobId}-${job.attempt}`, feedback, responseHash: 'h' }]);
    completions.push({ jobId: job.jobId, lease: job.lease, attempt: job.attempt, ok, late: true });
  }
  parentPort.postMessage({ type: 'done', claims, exhausted, completions, emptyClaims });
} catch (error) {
  parentPort.postMessage({ type: 'error', message: error.stack ?? String(error) });
} finally {
  await store.close();
}
