// Real runs of `serve` (2 workers, real SQLite, real HTTP): every line of data/logs/presenter.log
// holds the base fields and exactly the fields DESIGN.md's log table lists for its event, never
// those of an earlier line; `logs --duplicates` over the same file is clean.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { runCli, startServer } from './helpers/cli.js';
import { completion, feedbackJson, startFakeOpenAI } from './helpers/fake-openai.js';
import { api, logLines, waitForStatus, waitUntil } from './helpers/http.js';

const BASE = ['time', 'level', 'pid', 'hostname', 'worker', 'event', 'msg'];
// every feedback event names its job; the version keys `logs --duplicates`
const FEEDBACK = ['presentationId', 'jobId', 'version', 'attempt', 'lease'];
const EXTRA = {
  'feedback.started': [],
  'feedback.marked': ['feedbackId', 'responseHash', 'provider', 'durationMs'],
  'feedback.failed': ['error', 'retryInMs', 'final'],
  'job.lease_expired': ['previousLease', 'previousPid'],
};
const FEEDBACK_ONLY = [...FEEDBACK, ...Object.values(EXTRA).flat()];

// A new connection per request (no keep-alive pool), given up after 5 s: the supervisor hands
// connections to the workers in turn, so requests reach both, and none waits on a pooled
// connection of a worker killed meanwhile.
function send(server, method, path, json, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? '' : JSON.stringify(json);
    const headers = { ...extraHeaders, ...(json === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) };
    const req = request(`${server.url}${path}`, { method, agent: false, headers, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => (text += s));
      res.on('end', () => resolve({ status: res.statusCode, data: text ? JSON.parse(text) : undefined }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
const post = (server, path, json) => send(server, 'POST', path, json);

// Retried on a new connection with the same Idempotency-Key: one talk, whichever attempt arrived.
async function submit(server, scenario) {
  const body = { title: `scenario:${scenario}`, content: talk(`scenario:${scenario}`) };
  for (let i = 0; ; i++) {
    try {
      const res = await send(server, 'POST', '/api/presentations', body, { 'idempotency-key': `talk-${scenario}` });
      assert.ok(res.status === 201 || res.status === 200, JSON.stringify(res));
      return res.data.id;
    } catch (error) {
      if (i === 4) throw error;
    }
  }
}

async function settled(server, id) {
  let last;
  await waitUntil(`presentation ${id} done or failed`, async () => {
    last = await send(server, 'GET', `/api/presentations/${id}`).catch(() => undefined);
    return ['done', 'failed'].includes(last?.data?.status);
  }, 40_000, 100);
  return last.data.status;
}

const talk = (name) => `# ${name}\n\nWhy it matters.\n\n---\n\n## Results\n\nIt worked for ${name}.\n\n---\n\n## Thanks\n\nQuestions?`;

async function stop(server) {
  server.child.kill('SIGTERM');
  const result = await server.child;
  assert.equal(result.exitCode, 0, result.all);
  return logLines(server);
}

/** Checks every line; returns the lines per event for the caller's own checks. */
function checkLines(lines) {
  assert.ok(lines.length > 0);
  const byEvent = new Map();
  for (const line of lines) {
    const where = JSON.stringify(line);
    for (const key of BASE) assert.ok(key in line, `${key} missing: ${where}`);
    const extra = EXTRA[line.event];
    const keys = Object.keys(line).filter((k) => !BASE.includes(k)).sort();
    if (extra) {
      assert.deepEqual(keys, [...FEEDBACK, ...extra].sort(), `fields of ${line.event}: ${where}`);
      const what = line.event === 'job.lease_expired' ? `Lease of job ${line.jobId} expired` : line.event === 'feedback.failed' ? `Feedback generation for presentation ${line.presentationId} failed` : `Feedback for presentation ${line.presentationId} ${line.event.slice(9)}`;
      assert.equal(line.msg, what);
      const level = line.event === 'job.lease_expired' ? 40 : line.event === 'feedback.failed' ? (line.final ? 50 : 40) : 30;
      assert.equal(line.level, level, where);
    } else if (line.event.startsWith('job.')) {
      // job.released, job.lease_lost …: about a job, so its fields, but never another event's
      for (const key of Object.values(EXTRA).flat()) assert.ok(!(key in line), `${key} leaked into ${where}`);
    } else {
      for (const key of FEEDBACK_ONLY) assert.ok(!(key in line), `${key} leaked into ${where}`);
      // an error belongs to its own warn/error line, never to an info line after it
      if (line.level < 40) assert.ok(!('err' in line), `err leaked into ${where}`);
    }
    byEvent.set(line.event, [...(byEvent.get(line.event) ?? []), line]);
  }
  return byEvent;
}

test('advanced profile, local provider: talks and regenerations log exactly their fields; logs --duplicates is clean', { timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await post(server, '/api/presentations', { title: `Talk ${i}`, content: talk(`talk ${i}`) })).data.id);
  for (const id of ids) await waitForStatus(server, id, ['done']);
  await api(server, '/healthz');
  // Regenerate one talk until its versions were marked by both workers: the local analyser gives
  // each version the same answer, which an analysis keyed by job called a duplicate.
  const [talkId] = ids;
  const markedFor = () => logLines(server).filter((l) => l.event === 'feedback.marked' && l.presentationId === talkId);
  let versions = 1;
  while (versions < 4 || new Set(markedFor().map((l) => l.pid)).size < 2) {
    assert.ok(versions < 12, `12 versions, all marked by one worker: ${JSON.stringify(markedFor().map((l) => l.pid))}`);
    const res = await post(server, `/api/presentations/${talkId}/feedback`);
    assert.equal(res.status, 202);
    versions = res.data.version;
    await waitUntil(`version ${versions} marked`, () => markedFor().length === versions, 20_000);
    await api(server, '/healthz');
  }
  const lines = await stop(server);
  const byEvent = checkLines(lines);
  const marked = byEvent.get('feedback.marked');
  assert.equal(marked.length, 3 + versions);
  const regenerated = marked.filter((l) => l.presentationId === talkId);
  assert.deepEqual(regenerated.map((l) => l.version).sort((a, b) => a - b), Array.from({ length: versions }, (_, i) => i + 1));
  assert.equal(new Set(regenerated.map((l) => l.responseHash)).size, 1, 'the local analyser answers every version alike');
  assert.ok(new Set(regenerated.map((l) => l.pid)).size >= 2);

  const json = await runCli(['logs', '--duplicates', '--json', '--data-dir', server.dataDir]);
  assert.equal(json.exitCode, 0, json.stdout);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(report.duplicates, []);
  assert.equal(report.marked, marked.length, 'one marked job per feedback.marked line');
  const text = await runCli(['logs', '--duplicates', '--data-dir', server.dataDir]);
  assert.equal(text.exitCode, 0);
  assert.match(text.stdout, new RegExp(`^No duplicates among ${marked.length} marked jobs · 0 retries`));
  // --presentation picks that talk's lines only
  const view = await runCli(['logs', '--json', '--presentation', talkId, '--data-dir', server.dataDir]);
  const picked = view.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual([...new Set(picked.map((l) => l.event))].sort(), ['feedback.marked', 'feedback.started']);
  assert.equal(picked.length, 2 * versions);
});

test('failing provider, retries and a lease expiry after a SIGKILL: each line holds exactly its fields', { timeout: 120_000 }, async (t) => {
  const model = await startFakeOpenAI(t, async (call) => {
    const scenario = /scenario:(\w+)/.exec(call.text)?.[1] ?? 'ok';
    if (scenario === 'broken') return { status: 500, body: { error: { message: 'model crashed' } } };
    if (scenario === 'killed' && !model.calls.slice(0, call.n - 1).some((c) => c.text.includes('scenario:killed'))) return 'hang';
    return { body: completion(JSON.stringify(feedbackJson({ summary: `answer for ${scenario}` }))) };
  });
  const server = await startServer(t, {
    args: ['--profile', 'advanced'],
    env: { PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: model.url, PRESENTER_AI_MODEL: 'fake', PRESENTER_LEASE_MS: '1500', PRESENTER_RETRY_BASE_MS: '50' },
  });
  // the killed worker holds only this job: every other talk's attempts are its own
  const killed = await submit(server, 'killed');
  const started = await waitUntil('the hanging attempt', () => logLines(server).find((l) => l.event === 'feedback.started' && l.presentationId === killed), 10_000);
  await waitUntil('the model call', () => model.calls.some((c) => c.text.includes('scenario:killed')), 5000);
  process.kill(started.pid, 'SIGKILL');
  assert.equal(await settled(server, killed), 'done');
  const ok = await submit(server, 'ok');
  const broken = await submit(server, 'broken');
  assert.equal(await settled(server, ok), 'done');
  assert.equal(await settled(server, broken), 'failed');
  await waitUntil('the last lines in the log', () => {
    const lines = logLines(server);
    return lines.some((l) => l.event === 'job.lease_expired') && lines.some((l) => l.event === 'feedback.failed' && l.final) && lines.filter((l) => l.event === 'feedback.marked').length === 2;
  }, 10_000);
  // the killed worker's replacement: a stop while it is being forked leaves it running (a supervisor issue)
  await waitUntil('the replacement worker', () => {
    const events = logLines(server).map((l) => l.event);
    return events.lastIndexOf('worker.ready') > events.indexOf('worker.exited');
  }, 20_000);
  const lines = await stop(server);
  const byEvent = checkLines(lines);
  const [expired] = byEvent.get('job.lease_expired');
  assert.equal(expired.previousLease, started.lease);
  assert.equal(expired.previousPid, started.pid);
  assert.notEqual(expired.lease, started.lease);
  const failures = byEvent.get('feedback.failed').filter((l) => l.presentationId === broken);
  assert.deepEqual(failures.map((l) => [l.attempt, l.final, l.level]), [[1, false, 40], [2, false, 40], [3, false, 40], [4, false, 40], [5, true, 50]]);
  assert.ok(byEvent.has('worker.exited'), 'the SIGKILLed worker is logged');

  const r = await runCli(['logs', '--duplicates', '--json', '--data-dir', server.dataDir]);
  assert.equal(r.exitCode, 0, r.stdout);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.duplicates, []);
  assert.equal(report.marked, byEvent.get('feedback.marked').length);
  assert.deepEqual(report.retries.listed.map((x) => [x.presentationId, x.outcome]).sort(), [[broken, 'failed'], [killed, 'marked']].sort());
});
