import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from './helpers/cli.js';
import { api, openDb, waitForStatus } from './helpers/http.js';

const TALK = `# Caching builds\n\nWhy this matters: our builds take 20 minutes.\n\n---\n\n## Agenda\n\n- Problem\n- Results\n\n---\n\n## Results\n\nBuilds now take four minutes.\n\n---\n\n## Thanks\n\nQuestions?`;

test('the presentations API over real HTTP', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_ADMIN_TOKEN: 'admin-secret' } });
  const db = openDb(server);
  t.after(() => db.close());
  const count = () => db.prepare('SELECT (SELECT COUNT(*) FROM presentations) AS p, (SELECT COUNT(*) FROM jobs) AS j').get();

  await t.test('create with JSON: 201, Location, unguessable id, then done with local feedback', async () => {
    const res = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Caching builds', content: TALK, language: 'en', targetMinutes: 5 } });
    assert.equal(res.status, 201);
    assert.match(res.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(res.data.status, 'pending');
    assert.equal(res.headers.get('location'), `/api/presentations/${res.data.id}`);
    assert.equal(res.data.url, `/api/presentations/${res.data.id}`);
    const done = await waitForStatus(server, res.data.id);
    assert.equal(done.status, 'done');
    assert.equal(done.title, 'Caching builds');
    assert.equal(done.language, 'en');
    assert.equal(done.attempts, 1);
    assert.equal(done.feedback.provider, 'local');
    assert.equal(done.feedback.metrics.slides, 4);
    assert.equal(done.feedback.metrics.targetMinutes, 5);
    assert.ok(done.feedback.score >= 0 && done.feedback.score <= 100);
    assert.ok(!Number.isNaN(Date.parse(done.createdAt)));
  });

  await t.test('create with a Markdown body: the title comes from the first heading or ?title=', async () => {
    const res = await api(server, '/api/presentations', { method: 'POST', body: TALK, headers: { 'content-type': 'text/markdown' } });
    assert.equal(res.status, 201);
    const view = await api(server, `/api/presentations/${res.data.id}`);
    assert.equal(view.data.title, 'Caching builds');
    const plain = await api(server, '/api/presentations?title=Plain%20talk&language=de&targetMinutes=10', { method: 'POST', body: 'Hallo zusammen, heute geht es um Tests.', headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.status, 201);
    const plainView = await waitForStatus(server, plain.data.id);
    assert.equal(plainView.title, 'Plain talk');
    assert.equal(plainView.feedback.language, 'de');
    const untitled = await api(server, '/api/presentations', { method: 'POST', body: 'no heading here', headers: { 'content-type': 'text/plain' } });
    assert.equal(untitled.status, 400);
    assert.match(untitled.data.error.message, /^title: is required: pass \?title= or start the text with a # heading/);
  });

  await t.test('Idempotency-Key: the same key returns the same presentation and queues nothing', async () => {
    const body = { title: 'Idempotent', content: TALK };
    const first = await api(server, '/api/presentations', { method: 'POST', json: body, headers: { 'idempotency-key': 'key-1' } });
    const before = count();
    const second = await api(server, '/api/presentations', { method: 'POST', json: body, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(second.status, 201);
    assert.equal(second.data.id, first.data.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(count(), before);
    const conflict = await api(server, '/api/presentations', { method: 'POST', json: { ...body, title: 'Other' }, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(conflict.status, 422);
    assert.equal(conflict.data.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.deepEqual(count(), before);
  });

  await t.test('regenerate: 202 and a second feedback version', async () => {
    const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Twice', content: TALK } });
    await waitForStatus(server, created.data.id);
    const again = await api(server, `/api/presentations/${created.data.id}/feedback`, { method: 'POST' });
    assert.equal(again.status, 202);
    assert.equal(again.data.version, 2);
    await waitForStatus(server, created.data.id);
    const rows = db.prepare('SELECT version FROM feedback WHERE presentation_id = ? ORDER BY version').all(created.data.id);
    assert.deepEqual(rows.map((r) => r.version), [1, 2]);
    const missing = await api(server, '/api/presentations/00000000-0000-4000-8000-000000000000/feedback', { method: 'POST' });
    assert.equal(missing.status, 404);
  });

  await t.test('bad input gets a 4xx naming the problem, and stores nothing', async () => {
    const before = count();
    const cases = [
      [{ body: '{"title": "x", "content": ', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_JSON', /^the body is not valid JSON/],
      [{ json: { title: 42, content: 'x' } }, 400, 'VALIDATION', /^title: must be string$/],
      [{ json: { title: 'x' } }, 400, 'VALIDATION', /^content: is required$/],
      [{ json: { title: '', content: 'x' } }, 400, 'VALIDATION', /^title: must NOT have fewer than 1 characters$/],
      [{ json: { title: '   ', content: 'x' } }, 400, 'VALIDATION', /^title: must not be empty$/],
      [{ json: { title: 'x'.repeat(201), content: 'x' } }, 400, 'VALIDATION', /^title: must NOT have more than 200 characters$/],
      [{ json: { title: 'x', content: 'x', language: 'fr' } }, 400, 'VALIDATION', /^language: must be one of "de", "en", "auto"$/],
      [{ json: { title: 'x', content: 'x', targetMinutes: -3 } }, 400, 'VALIDATION', /^targetMinutes: must be > 0$/],
      [{ json: { title: 'x', content: 'x', colour: 'red' } }, 400, 'VALIDATION', /^colour: is not a known field$/],
      [{ json: ['x'] }, 400, 'VALIDATION', /must be object/],
      // U+0000 is no text, and PostgreSQL cannot store it: refused on every store, in every body
      [{ json: { title: 'a\u0000b', content: 'x' } }, 400, 'VALIDATION', /^title: must not contain the NUL character \(U\+0000\)$/],
      [{ json: { title: 'x', content: 'one\u0000two' } }, 400, 'VALIDATION', /^content: must not contain the NUL character \(U\+0000\)$/],
      [{ body: '# Talk\n\nwords \u0000 here', headers: { 'content-type': 'text/markdown' } }, 400, 'VALIDATION', /^content: must not contain the NUL character/],
      [{ body: 'x'.repeat(1024 * 1024 + 10), headers: { 'content-type': 'text/plain' } }, 413, 'BODY_TOO_LARGE', /larger than the limit of 1048576 bytes/],
      [{ body: '<talk/>', headers: { 'content-type': 'application/xml' } }, 415, 'UNSUPPORTED_MEDIA_TYPE', /unsupported Content-Type/],
    ];
    for (const [request, status, code, message] of cases) {
      const res = await api(server, '/api/presentations', { method: 'POST', ...request });
      assert.equal(res.status, status, `${JSON.stringify(request).slice(0, 80)} → ${JSON.stringify(res.data)}`);
      assert.equal(res.data.error.code, code);
      assert.match(res.data.error.message, message);
    }
    assert.deepEqual(count(), before);
  });

  await t.test('unknown ids and routes are 404 in the error shape', async () => {
    for (const path of ['/api/presentations/00000000-0000-4000-8000-000000000000', '/api/presentations/1', '/api/presentations/../etc', '/nope']) {
      const res = await api(server, path);
      assert.equal(res.status, 404, path);
      assert.equal(res.data.error.code, 'NOT_FOUND');
    }
  });

  await t.test('admin list needs the token and pages with a cursor', async () => {
    assert.equal((await api(server, '/api/presentations')).status, 401);
    assert.equal((await api(server, '/api/presentations', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const auth = { authorization: 'Bearer admin-secret' };
    const first = await api(server, '/api/presentations?limit=2', { headers: auth });
    assert.equal(first.status, 200);
    assert.equal(first.data.items.length, 2);
    assert.ok(first.data.nextCursor);
    const second = await api(server, `/api/presentations?limit=2&cursor=${first.data.nextCursor}`, { headers: auth });
    assert.equal(second.data.items.length, 2);
    assert.equal(new Set([...first.data.items, ...second.data.items].map((i) => i.id)).size, 4);
    assert.ok(!('content' in first.data.items[0]));
    assert.equal((await api(server, '/api/presentations?limit=500', { headers: auth })).status, 400);
  });

  await t.test('healthz, readyz and metrics (admin token when one is set)', async () => {
    assert.deepEqual((await api(server, '/healthz')).data, { status: 'ok' });
    assert.deepEqual((await api(server, '/readyz')).data, { status: 'ready' });
    assert.equal((await api(server, '/metrics')).status, 401);
    const metrics = await api(server, '/metrics', { headers: { authorization: 'Bearer admin-secret' } });
    assert.equal(metrics.status, 200);
    assert.match(metrics.data, /presenter_http_requests_total\{method="POST",route="\/api\/presentations",status="201"\} \d+/);
    assert.match(metrics.data, /presenter_jobs_total\{outcome="done"\} \d+/);
    assert.match(metrics.data, /presenter_job_queue_depth \d+/);
    assert.match(metrics.data, /presenter_job_lease_expiries_total 0/);
  });
});

test('metrics are aggregated over both workers of the advanced profile', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  for (let i = 0; i < 20; i++) await api(server, '/healthz');
  const text = (await api(server, '/metrics')).data;
  const line = text.split('\n').find((l) => l.startsWith('presenter_http_requests_total{method="GET",route="/healthz",status="200"}'));
  // 20 calls, whichever worker served each; the scrape itself is not counted yet
  assert.equal(Number(line.split(' ').pop()), 20);
  // prom-client is loaded by this first scrape in each worker (http/metrics.ts): its default
  // metrics are there, summed over both workers, and the job metrics counted before it
  assert.match(text, /^presenter_process_cpu_user_seconds_total \d/m);
  assert.match(text, /^presenter_nodejs_heap_size_used_bytes \d+/m);
  assert.match(text, /^presenter_job_wait_seconds_bucket\{le="0.001"\} 0$/m);
  assert.match(text, /^presenter_job_lease_expiries_total 0$/m);
  assert.match(text, /^presenter_job_queue_depth 0$/m);
  // the first scrape made the registries (no worker is 5 s old): the event-loop lag has samples,
  // not prom-client's empty histogram (a minimum of 9e9 s, a NaN mean sent as null)
  const lag = (name) => Number(text.split('\n').find((l) => l.startsWith(`presenter_nodejs_eventloop_lag_${name}_seconds `))?.split(' ').pop());
  assert.ok(lag('min') > 0 && lag('min') < 5, `lag min ${lag('min')}`);
  assert.ok(lag('mean') > 0 && lag('mean') < 5, `lag mean ${lag('mean')}`);
  const again = (await api(server, '/metrics')).data;
  assert.equal(Number(again.split('\n').find((l) => l.startsWith('presenter_http_requests_total{method="GET",route="/metrics",status="200"}'))?.split(' ').pop()), 1);
});
