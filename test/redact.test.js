// Item 15 of #10: secrets that a model echoes into its answer never reach the database or the log.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRedactor, secretsOf } from '../dist/jobs/redact.js';
import { startServer } from './helpers/cli.js';
import { completion, feedbackJson, startFakeOpenAI } from './helpers/fake-openai.js';
import { api, logLines, waitForStatus, waitUntil } from './helpers/http.js';

const KEY = 'sk-proj-ECHOED-KEY-4f9a2c7e1b3d5a6f';
const ADMIN = 'admin-token-ECHOED-9c8b7a6d5e4f';

test('a model that echoes the API key and the admin token into invalid fields: neither reaches the database file, its WAL or the log', { timeout: 60_000 }, async (t) => {
  // each answer fails validation with the secret in the failing field, so the message quotes it
  const model = await startFakeOpenAI(t, async (call) => {
    const secret = call.n % 2 === 1 ? KEY : ADMIN;
    return { body: completion(JSON.stringify(feedbackJson({ score: `${secret} (from Authorization: Bearer ${secret})` }))) };
  });
  const server = await startServer(t, {
    args: ['--profile', 'safe'],
    env: {
      PRESENTER_AI_PROVIDER: 'openai',
      PRESENTER_AI_BASE_URL: model.url,
      PRESENTER_AI_MODEL: 'fake',
      PRESENTER_AI_API_KEY: KEY,
      PRESENTER_ADMIN_TOKEN: ADMIN,
      PRESENTER_RETRY_BASE_MS: '10',
    },
  });
  let console = '';
  server.child.all.on('data', (chunk) => (console += chunk));
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Echo', content: '# Echo\n\nThe model repeats what it saw.' } });
  assert.equal(created.status, 201);
  const view = await waitForStatus(server, created.data.id, ['failed', 'done'], 40_000);
  assert.equal(view.status, 'failed');
  assert.equal(model.calls.length, 5, 'every attempt saw an echoed secret');
  await waitUntil('5 feedback.failed lines in the log', () => logLines(server).filter((l) => l.event === 'feedback.failed').length === 5, 5000);

  const failed = logLines(server).filter((l) => l.event === 'feedback.failed');
  // the text is still useful to the operator: what failed, with the secret masked
  assert.match(failed[0].error, /`score` must be a number from 0 to 100, got `"\[redacted\] \(from Authorization: Bearer \[redacted\]/);
  for (const name of ['presenter.db', 'presenter.db-wal', 'presenter.db-shm', 'logs/presenter.log']) {
    const file = join(server.dataDir, name);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    // not even a cut-off start of them (messages quote values cut at ~20 characters)
    assert.equal(bytes.indexOf(KEY.slice(0, 12)), -1, `the API key is in ${name}`);
    assert.equal(bytes.indexOf(ADMIN.slice(0, 12)), -1, `the admin token is in ${name}`);
  }
  assert.ok(existsSync(join(server.dataDir, 'presenter.db-wal')), 'the WAL was read too');
  assert.ok(!console.includes(KEY.slice(0, 12)) && !console.includes(ADMIN.slice(0, 12)), 'not on the console either');
  const response = JSON.stringify(view);
  assert.ok(!response.includes(KEY.slice(0, 12)) && !response.includes(ADMIN.slice(0, 12)));
});

test('the redactor: each secret, Bearer tokens and URL passwords; short or missing secrets are not matched', () => {
  const redact = makeRedactor(secretsOf({ apiKey: 'sk-abc-123456', adminToken: 'tok-xyz-987', databaseUrl: 'postgres://app:p%40ss-w0rd@db.internal:5432/presenter' }));
  assert.equal(redact('key sk-abc-123456 and sk-abc-123456!'), 'key [redacted] and [redacted]!');
  assert.equal(redact('Authorization: Bearer eyJhbGciOi.x.y, next'), 'Authorization: Bearer [redacted], next');
  assert.equal(redact('tok-xyz-987'), '[redacted]');
  assert.equal(redact('connect to postgres://app:p%40ss-w0rd@db.internal:5432 failed'), 'connect to postgres://app:[redacted]@db.internal:5432 failed');
  assert.equal(redact('the password p@ss-w0rd was refused'), 'the password [redacted] was refused');
  assert.equal(redact('nothing secret here: score 12'), 'nothing secret here: score 12');
  assert.deepEqual(secretsOf({ apiKey: undefined, adminToken: 'x', databaseUrl: 'not a url' }), []);
});
