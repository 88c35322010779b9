import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from './helpers/cli.js';
import { completion, feedbackJson, startFakeOpenAI } from './helpers/fake-openai.js';
import { api, logLines, openDb, waitForStatus, waitUntil } from './helpers/http.js';

const talk = (i) => `# Talk ${i}\n\nWhy it matters: number ${i}.\n\n---\n\n## Results\n\nIt worked ${i} times.\n\n---\n\n## Thanks\n\nQuestions?`;

async function submitMany(server, n, concurrency = 16) {
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const res = await api(server, '/api/presentations', { method: 'POST', json: { title: `Talk ${i}`, content: talk(i) } });
        assert.equal(res.status, 201);
        ids.push(res.data.id);
      }
    }),
  );
  return ids;
}

test('2 workers × 4 slots process 2,000 talks exactly once', { timeout: 180_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--threads', '4'], env: { PRESENTER_LOG_LEVEL: 'info' } });
  const started = Date.now();
  const ids = await submitMany(server, 2000);
  const db = openDb(server);
  t.after(() => db.close());
  await waitUntil('all 2,000 talks done', () => db.prepare("SELECT COUNT(*) AS n FROM presentation_status WHERE status = 'done'").get().n === 2000, 150_000, 200);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(ids.length, 2000);
  assert.deepEqual(db.prepare('SELECT status, COUNT(*) AS n FROM presentation_status GROUP BY status').all(), [{ status: 'done', n: 2000 }]);
  assert.deepEqual(db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT presentation_id) AS p FROM feedback').get(), { n: 2000, p: 2000 });
  assert.deepEqual(db.prepare('SELECT status, COUNT(*) AS n, MAX(attempts) AS maxAttempts FROM jobs GROUP BY status').all(), [{ status: 'done', n: 2000, maxAttempts: 1 }]);
  // the log: exactly one feedback.marked per job, and both workers took part
  await waitUntil('the log to hold every marked line', () => logLines(server).filter((l) => l.event === 'feedback.marked').length >= 2000, 10_000);
  const marked = logLines(server).filter((l) => l.event === 'feedback.marked');
  assert.equal(marked.length, 2000);
  assert.equal(new Set(marked.map((l) => l.jobId)).size, 2000);
  const byWorker = new Map();
  for (const l of marked) byWorker.set(l.worker, (byWorker.get(l.worker) ?? 0) + 1);
  assert.equal(byWorker.size, 2, `workers: ${[...byWorker.keys()]}`);
  for (const l of marked) assert.match(l.responseHash, /^[0-9a-f]{64}$/);
  t.diagnostic(`2,000 talks submitted and processed in ${seconds.toFixed(1)} s; marked per worker: ${JSON.stringify(Object.fromEntries(byWorker))}`);
});

test('a worker SIGKILLed mid model call: another finishes the job after the lease expires, one feedback row', { timeout: 60_000 }, async (t) => {
  const model = await startFakeOpenAI(t, async (call) => {
    if (call.n === 1) return 'hang'; // the first call never answers: its worker is killed meanwhile
    return { body: completion(JSON.stringify(feedbackJson())) };
  });
  const server = await startServer(t, {
    args: ['--profile', 'advanced'],
    env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.url, PRESENTER_AI_MODEL: 'fake', PRESENTER_LEASE_MS: '1500' },
  });
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Killed', content: talk(1) } });
  const started = await waitUntil('feedback.started', () => logLines(server).find((l) => l.event === 'feedback.started'), 10_000);
  await waitUntil('the model call', () => model.calls.length === 1, 5000);
  process.kill(started.pid, 'SIGKILL');
  const done = await waitForStatus(server, created.data.id, ['done', 'failed'], 20_000);
  assert.equal(done.status, 'done');
  assert.equal(done.feedback.provider, 'openai');
  const db = openDb(server);
  t.after(() => db.close());
  assert.equal(db.prepare('SELECT COUNT(*) AS n FROM feedback WHERE presentation_id = ?').get(created.data.id).n, 1);
  assert.equal(db.prepare('SELECT attempts FROM jobs WHERE presentation_id = ?').get(created.data.id).attempts, 2);
  // the log reaches the file through the supervisor's pipe, a moment after the database
  await waitUntil('job.lease_expired and feedback.marked in the log', () => {
    const events = logLines(server).map((l) => l.event);
    return events.includes('job.lease_expired') && events.includes('feedback.marked');
  }, 5000);
  const lines = logLines(server);
  const expired = lines.find((l) => l.event === 'job.lease_expired');
  assert.equal(expired.previousLease, started.lease);
  assert.equal(expired.previousPid, started.pid);
  assert.equal(expired.jobId, started.jobId);
  assert.equal(expired.msg, `Lease of job ${started.jobId} expired`);
  const marked = lines.filter((l) => l.event === 'feedback.marked');
  assert.equal(marked.length, 1);
  assert.notEqual(marked[0].pid, started.pid);
  assert.equal(marked[0].attempt, 2);
  assert.equal(model.calls.length, 2);
});

test('the openai provider against a fake OpenAI-compatible server', { timeout: 90_000 }, async (t) => {
  // The fake reads the scenario from the talk's title.
  const perScenario = new Map();
  const model = await startFakeOpenAI(t, async (call) => {
    const scenario = /scenario:(\w+)/.exec(call.text)?.[1] ?? 'ok';
    const n = (perScenario.get(scenario) ?? 0) + 1;
    perScenario.set(scenario, n);
    const ok = { body: completion(JSON.stringify(feedbackJson({ summary: `answer for ${scenario}` }))) };
    switch (scenario) {
      case 'ok':
        return ok;
      case 'ratelimit':
        return n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down' } } } : ok;
      case 'hang':
        return n === 1 ? 'hang' : ok;
      case 'garbage':
        return n === 1 ? { body: completion('this is not JSON at all') } : ok;
      case 'broken':
        return { status: 500, body: { error: { message: 'model crashed' } } };
      default:
        throw new Error(scenario);
    }
  });
  const server = await startServer(t, {
    args: ['--profile', 'safe'],
    env: {
      PRESENTER_AI_PROVIDER: 'openai',
      PRESENTER_AI_BASE_URL: model.url,
      PRESENTER_AI_MODEL: 'fake',
      PRESENTER_AI_API_KEY: 'sk-test-SECRET-KEY',
      PRESENTER_AI_TIMEOUT_MS: '800',
      PRESENTER_RETRY_BASE_MS: '100',
    },
  });
  const submit = async (scenario) => (await api(server, '/api/presentations', { method: 'POST', json: { title: `scenario:${scenario}`, content: talk(scenario) } })).data.id;
  const ids = {};
  for (const s of ['ok', 'ratelimit', 'hang', 'garbage', 'broken']) ids[s] = await submit(s);
  const views = {};
  for (const [s, id] of Object.entries(ids)) views[s] = await waitForStatus(server, id, ['done', 'failed'], 40_000);
  // 1 failed attempt each for ratelimit, hang and garbage, 5 for broken: wait until the log has them
  await waitUntil('the feedback.failed lines in the log', () => logLines(server).filter((l) => l.event === 'feedback.failed').length >= 8, 5000);
  const failedLines = logLines(server).filter((l) => l.event === 'feedback.failed');
  const failuresOf = (s) => failedLines.filter((l) => l.presentationId === ids[s]);

  await t.test('success', () => {
    assert.equal(views.ok.status, 'done');
    assert.equal(views.ok.feedback.provider, 'openai');
    assert.equal(views.ok.feedback.summary, 'answer for ok');
    assert.equal(views.ok.attempts, 1);
    assert.equal(model.calls[0].auth, 'Bearer sk-test-SECRET-KEY');
  });
  await t.test('429 then success, after the Retry-After delay', () => {
    assert.equal(views.ratelimit.status, 'done');
    assert.equal(views.ratelimit.attempts, 2);
    const [failure] = failuresOf('ratelimit');
    assert.equal(failure.final, false);
    assert.ok(failure.retryInMs >= 1000, `retryInMs ${failure.retryInMs}`);
    assert.equal(failure.level, 40);
    const calls = model.calls.filter((c) => c.text.includes('scenario:ratelimit'));
    assert.ok(calls[1].at - calls[0].at >= 1000, `retried after ${calls[1].at - calls[0].at} ms`);
  });
  await t.test('a hang times out, then the retry succeeds', () => {
    assert.equal(views.hang.status, 'done');
    assert.equal(views.hang.attempts, 2);
    assert.match(failuresOf('hang')[0].error, /timeout|timed out/i);
  });
  await t.test('garbage JSON is a failed attempt, then the retry succeeds', () => {
    assert.equal(views.garbage.status, 'done');
    assert.equal(views.garbage.attempts, 2);
    assert.match(failuresOf('garbage')[0].error, /not valid feedback JSON/);
  });
  await t.test('final failure after the last attempt: failed, error stored, final: true', () => {
    assert.equal(views.broken.status, 'failed');
    assert.equal(views.broken.attempts, 5);
    assert.equal(views.broken.error, 'The feedback model failed (HTTP 500).');
    // the operator's detail stays with the job
    const db = openDb(server);
    const { last_error: detail } = db.prepare('SELECT last_error FROM jobs WHERE presentation_id = ?').get(ids.broken);
    db.close();
    assert.match(detail, /answered 500/);
    assert.equal(views.broken.feedback, null);
    const failures = failuresOf('broken');
    assert.deepEqual(failures.map((f) => f.attempt), [1, 2, 3, 4, 5]);
    assert.deepEqual(failures.map((f) => f.final), [false, false, false, false, true]);
    assert.equal(failures[4].retryInMs, null);
    assert.equal(failures[4].level, 50);
    assert.equal(failures[4].msg, `Feedback generation for presentation ${ids.broken} failed`);
  });
  await t.test('the API key appears nowhere in the log', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    assert.doesNotMatch(readFileSync(join(server.dataDir, 'logs/presenter.log'), 'utf8'), /SECRET-KEY/);
  });
});
