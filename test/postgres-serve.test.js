// serve on the PostgreSQL store (#13): the URL never shown with its password, bad URLs and an
// unreachable database refused with the fix, and a LISTEN connection killed under the server:
// logged, re-opened with backoff, and jobs still start meanwhile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { freePort, runCli, startServer } from './helpers/cli.js';
import { api, logLines, waitForStatus, waitUntil } from './helpers/http.js';
import { adminQuery, createDatabase, pgUnreachable } from './helpers/pg.js';

const PASSWORD = 'pa55-w0rd-never-shown';
const pgMissing = await pgUnreachable();
const admin = (sql) => adminQuery(sql);

/** A fresh database whose URL carries a password (trust auth ignores it). */
async function freshDatabase(t) {
  const db = await createDatabase(t);
  return { name: db.name, url: db.url.replace('postgres://postgres@', `postgres://postgres:${PASSWORD}@`) };
}

const talk = (title) => ({ title, content: `# ${title}\n\nA few words on the slide.` });

test('serve on PostgreSQL: talks are processed, status and the start-up line show the URL without its password', { skip: pgMissing, timeout: 90_000 }, async (t) => {
  const db = await freshDatabase(t);
  const server = await startServer(t, { args: ['--profile', 'advanced'], env: { PRESENTER_DATABASE_URL: db.url } });
  const created = await api(server, '/api/presentations', { method: 'POST', json: talk('On PostgreSQL') });
  assert.equal(created.status, 201);
  const done = await waitForStatus(server, created.data.id);
  assert.equal(done.status, 'done');
  assert.equal(done.feedback.provider, 'local');

  const status = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(status.exitCode, 0, status.stderr);
  const shown = `postgres://postgres:***@127.0.0.1:5432/${db.name}`;
  assert.equal(JSON.parse(status.stdout).store, shown);
  const text = await runCli(['status', '--data-dir', server.dataDir]);
  assert.match(text.stdout, new RegExp(`store PostgreSQL ${shown.replaceAll('*', '\\*')}`));

  const started = logLines(server).find((l) => l.event === 'supervisor.started');
  assert.equal(started.store, shown);
  assert.match(started.msg, /store PostgreSQL postgres:\/\/postgres:\*\*\*@/);
  // the rows are in PostgreSQL, not in a SQLite file in the data dir
  const rows = await admin(`SELECT 1`).then(async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(`SELECT count(*)::int AS n FROM feedback WHERE presentation_id = $1`, [created.data.id])).rows[0].n;
    } finally {
      await c.end();
    }
  });
  assert.equal(rows, 1);

  server.child.kill('SIGTERM');
  const result = await server.child;
  const everything = `${result.all}\n${readFileSync(join(server.dataDir, 'logs/presenter.log'), 'utf8')}\n${status.stdout}${text.stdout}`;
  assert.ok(!everything.includes(PASSWORD), 'the password appears nowhere');
});

test('bad database URLs stop serve with exit 2 naming the problem; the password is never echoed', async () => {
  const cases = [
    [`mysql://root:${PASSWORD}@db/presenter`, /PRESENTER_DATABASE_URL: the database URL's scheme is "mysql"; only postgres:\/\/ \(or postgresql:\/\/\) is supported/],
    [`postgres://app:${PASSWORD}@db:5432`, /names no database; add it as the path/],
    ['not a url at all', /is not a URL; write it as postgres:\/\/user:password@host:5432\/database/],
  ];
  for (const [url, message] of cases) {
    const r = await runCli(['serve', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', '/nonexistent/never-created'], { env: { PRESENTER_DATABASE_URL: url } });
    assert.equal(r.exitCode, 2, `${url}: exit ${r.exitCode}\n${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(!r.stderr.includes(PASSWORD) && !r.stdout.includes(PASSWORD), 'no password in the message');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  // the flag wins over the environment and is named as the source
  const r = await runCli(['serve', '--database-url', 'redis://x/0', '--port', String(await freePort()), '--data-dir', '/nonexistent/never-created'], { env: { PRESENTER_DATABASE_URL: 'postgres://a@b/c' } });
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /--database-url: the database URL's scheme is "redis"/);
});

test('an unreachable database stops serve with exit 1, the redacted URL and the doctor command; nothing is left running', { timeout: 60_000 }, async (t) => {
  const dead = await freePort(); // nothing listens there
  const url = `postgres://app:${PASSWORD}@127.0.0.1:${dead}/presenter`;
  const { makeDataDir } = await import('./helpers/cli.js');
  const dir = makeDataDir(t);
  const r = await runCli(['serve', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', dir], { env: { PRESENTER_DATABASE_URL: url } });
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`The database postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${dead}/presenter cannot be used: the database cannot be reached \\(connect ECONNREFUSED`));
  assert.match(r.stderr, /presenter-serve doctor --database-url 'postgres:\/\/app:\*\*\*@/);
  assert.ok(!r.stderr.includes(PASSWORD), 'no password');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // the data dir is given back: a second start finds it unlocked (and fails the same way, not "locked")
  const again = await runCli(['serve', '--host', '127.0.0.1', '--port', String(await freePort()), '--data-dir', dir], { env: { PRESENTER_DATABASE_URL: url } });
  assert.equal(again.exitCode, 1);
  assert.doesNotMatch(again.stderr, /locked/);
});

test('the LISTEN connection killed under a running server: logged, opened again, and jobs queued by another host start meanwhile', { skip: pgMissing, timeout: 90_000 }, async (t) => {
  const db = await freshDatabase(t);
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_DATABASE_URL: db.url, PRESENTER_AI_PROVIDER: 'noop' } });
  const c = new pg.Client({ connectionString: db.url });
  c.on('error', () => {}); // the database is dropped WITH (FORCE) at the end, this connection with it
  await c.connect();
  t.after(() => c.end());
  const listeners = async () => (await c.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'presenter-serve listen'`, [db.name])).rows.map((r) => r.pid);
  await waitUntil('the worker to listen', async () => (await listeners()).length === 1);

  // "another host" queues a talk straight in the database, announcing it as every host does
  const queueElsewhere = async (title) => {
    const id = `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
    await c.query('BEGIN');
    await c.query(`INSERT INTO presentations (id, title, content, language, created_at, current_version) VALUES ($1, $2, 'words', 'en', presenter_now_ms(), 1)`, [id, title]);
    await c.query(`INSERT INTO jobs (id, presentation_id, version, status, max_attempts, run_at, created_at) VALUES (gen_random_uuid()::text, $1, 1, 'queued', 3, presenter_now_ms(), presenter_now_ms())`, [id]);
    await c.query(`SELECT pg_notify('presenter_jobs', '')`);
    await c.query('COMMIT');
    return id;
  };
  const before = await queueElsewhere('before');
  await waitForStatus(server, before);

  // kill the LISTEN backend three times in a row: each loss is logged with its retry delay
  for (let i = 0; i < 3; i++) {
    const pid = await waitUntil('a LISTEN connection', async () => (await listeners())[0]);
    await c.query('SELECT pg_terminate_backend($1)', [pid]);
    // a talk queued while nobody listens still starts: the runners poll meanwhile
    const during = await queueElsewhere(`during ${i}`);
    const view = await waitForStatus(server, during, ['done', 'failed'], 10_000);
    assert.equal(view.status, 'done');
  }
  await waitUntil('listening again', () => logLines(server).some((l) => l.event === 'store.listening'));
  const lost = logLines(server).filter((l) => l.event === 'store.listen_lost');
  assert.ok(lost.length >= 3, `${lost.length} store.listen_lost lines`);
  assert.equal(lost[0].level, 40);
  assert.match(lost[0].error, /terminat/i);
  assert.ok(lost.every((l) => Number.isInteger(l.retryInMs) && l.retryInMs > 0));
  const back = logLines(server).filter((l) => l.event === 'store.listening');
  assert.equal(back[0].level, 30);
  await waitUntil('one LISTEN connection again', async () => (await listeners()).length === 1);
  // and with LISTEN back, a job from "another host" starts on its NOTIFY
  const after = await queueElsewhere('after');
  assert.equal((await waitForStatus(server, after)).status, 'done');
  assert.equal(logLines(server).filter((l) => l.event === 'worker.exited').length, 0, 'the worker never died');
});
