// The access log (`serve --access-log FILE|-`, off by default): one JSON line per request with
// the client, method, path, status, bytes, ms, user agent and request id; never in the main log.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDataDir, runCli, startServer } from './helpers/cli.js';
import { api, logLines, waitUntil } from './helpers/http.js';

const FIELDS = ['time', 'level', 'pid', 'worker', 'event', 'reqId', 'remoteAddress', 'method', 'path', 'status', 'bytes', 'ms', 'userAgent', 'msg'];

/** Every line of the file; each must be whole JSON. */
function jsonLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

test('--access-log FILE behind a trusted proxy: one line per request with every field, the client from X-Forwarded-For; none in the main log', async (t) => {
  const dataDir = makeDataDir(t);
  const file = join(dataDir, 'access.log');
  const server = await startServer(t, { dataDir, args: ['--profile', 'advanced', '--workers', '2', '--access-log', file, '--trust-proxy', '127.0.0.1'] });
  const headers = { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'proxy-test/1.0' };
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'Logged', content: '# Logged\n\nHello.' }, headers });
  assert.equal(created.status, 201);
  assert.equal((await api(server, `/api/presentations/${created.data.id}?x=secret`, { headers })).status, 200);
  assert.equal((await api(server, '/healthz', { headers: { ...headers, 'x-request-id': 'edge-42.a:b' } })).status, 200);
  assert.equal((await api(server, '/readyz', { headers: { ...headers, 'x-request-id': 'has space; and more' } })).status, 200);
  assert.equal((await api(server, '/metrics', { headers })).status, 200);
  assert.equal((await api(server, '/no-such-route', { headers })).status, 404);
  // startServer's /readyz polls are there too (another user agent); two workers' lines come
  // through two pipes, so in no set order: sorted by request below
  const mine = () => jsonLines(file).filter((x) => x.userAgent === 'proxy-test/1.0');
  await waitUntil('6 access lines', () => mine().length >= 6);
  const order = ['POST', '/api/presentations/', '/healthz', '/readyz', '/metrics', '/no-such-route'];
  const rank = (l) => order.findIndex((o) => (o === 'POST' ? l.method === 'POST' : l.path.startsWith(o)));
  const lines = mine().sort((a, b) => rank(a) - rank(b));
  assert.equal(lines.length, 6);
  for (const line of lines) {
    for (const field of FIELDS) assert.ok(field in line, `${field} missing in ${JSON.stringify(line)}`);
    assert.equal(line.event, 'http.request');
    assert.equal(line.remoteAddress, '203.0.113.7');
    assert.ok(typeof line.ms === 'number' && line.ms >= 0);
  }
  assert.deepEqual(
    lines.map((l) => [l.method, l.path, l.status]),
    [
      ['POST', '/api/presentations', 201],
      ['GET', `/api/presentations/${created.data.id}`, 200],
      ['GET', '/healthz', 200],
      ['GET', '/readyz', 200],
      ['GET', '/metrics', 200],
      ['GET', '/no-such-route', 404],
    ],
  );
  assert.equal(lines[2].bytes, Buffer.byteLength(JSON.stringify({ status: 'ok' })));
  assert.equal(lines[2].reqId, 'edge-42.a:b', 'a proxy request id is kept');
  assert.match(lines[3].reqId, /^[0-9a-f-]{36}$/, 'a request id that is not one is replaced');
  assert.equal(new Set(lines.map((l) => l.reqId)).size, 6);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  server.child.kill('SIGTERM');
  assert.equal((await server.child).exitCode, 0);
  assert.equal(logLines(server).filter((l) => l.event === 'http.request').length, 0, 'request lines in the main log');
});

test('without --access-log: no per-request line anywhere (file, main log, stdout)', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced'] });
  for (let i = 0; i < 20; i++) assert.equal((await api(server, i % 2 ? '/healthz' : '/metrics')).status, 200);
  server.child.kill('SIGTERM');
  const result = await server.child;
  assert.equal(result.exitCode, 0);
  assert.equal(logLines(server).filter((l) => l.event === 'http.request' || /healthz|metrics/.test(l.msg)).length, 0);
  assert.doesNotMatch(result.all, /http\.request|\/healthz|\/metrics/);
  assert.deepEqual(readdirSync(server.dataDir).filter((f) => /access/.test(f)), []);
});

test('--access-log - with two workers under load: every request on stdout, each line whole JSON; a client not behind a trusted proxy is itself', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'advanced', '--workers', '2', '--access-log', '-', '--quiet'] });
  const n = 2000;
  // ~2 KB lines from two workers at once: lines that were split or interleaved would not parse
  const agent = `load/${'x'.repeat(2000)}`;
  for (let done = 0; done < n; done += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, i) => api(server, `/healthz?n=${done + i}`, { headers: { 'user-agent': agent, 'x-forwarded-for': '198.51.100.9' } })));
  }
  server.child.kill('SIGTERM');
  const result = await server.child;
  assert.equal(result.exitCode, 0);
  const all = result.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.ok(all.every((l) => l.event === 'http.request'), 'with --quiet, stdout holds the access lines only');
  const lines = all.filter((l) => l.path === '/healthz');
  assert.equal(lines.length, n);
  assert.ok(lines.every((l) => l.event === 'http.request' && l.userAgent === agent && l.path === '/healthz'));
  assert.deepEqual([...new Set(lines.map((l) => l.worker))].sort(), [1, 2], 'both workers served');
  assert.ok(lines.every((l) => l.remoteAddress === '127.0.0.1'), 'X-Forwarded-For believed without --trust-proxy');
});

test('logrotate on the access log: mv + SIGUSR1 mid-load, no line lost, the new lines in a new file', { skip: process.platform === 'win32' && 'no SIGUSR1' }, async (t) => {
  const dataDir = makeDataDir(t);
  const file = join(dataDir, 'access.log');
  const server = await startServer(t, { dataDir, args: ['--profile', 'advanced', '--workers', '2', '--access-log', file] });
  const n = 600;
  for (let done = 0; done < n; done += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => api(server, `/healthz?n=${done + i}`, { headers: { 'x-request-id': `r${done + i}` } })));
    if (done === 300) {
      renameSync(file, `${file}.1`);
      server.child.kill('SIGUSR1');
    }
  }
  server.child.kill('SIGTERM');
  assert.equal((await server.child).exitCode, 0);
  const old = jsonLines(`${file}.1`);
  const fresh = jsonLines(file);
  assert.ok(old.length >= 300 && fresh.length > 0, `${old.length} lines in the old file, ${fresh.length} in the new one`);
  const ids = [...old, ...fresh].filter((l) => l.path === '/healthz').map((l) => l.reqId).sort();
  assert.deepEqual(ids, Array.from({ length: n }, (_, i) => `r${i}`).sort(), 'each request once over the two files');
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('PRESENTER_ACCESS_LOG on the windows profile (no worker process): the primary writes the lines', async (t) => {
  const dataDir = makeDataDir(t);
  const file = join(dataDir, 'access.log');
  const server = await startServer(t, { dataDir, args: ['--profile', 'windows'], env: { PRESENTER_ACCESS_LOG: file } });
  for (let i = 0; i < 5; i++) assert.equal((await api(server, '/healthz')).status, 200);
  server.child.kill('SIGTERM');
  assert.equal((await server.child).exitCode, 0);
  const lines = jsonLines(file).filter((l) => l.path === '/healthz');
  assert.equal(lines.length, 5);
  assert.ok(lines.every((l) => l.worker === 0 && l.pid === server.child.pid && l.status === 200));
});

test('--access-log in a directory that does not exist, or naming a directory: exit 2 with the fix', async (t) => {
  const dataDir = makeDataDir(t);
  const missing = await runCli(['serve', '--data-dir', dataDir, '--port', '0', '--access-log', join(dataDir, 'nope/access.log')]);
  assert.equal(missing.exitCode, 2);
  assert.match(missing.stderr, /--access-log: the directory .*nope does not exist/);
  assert.match(missing.stderr, /or - for stdout/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'a stack trace');
  const dir = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], { env: { PRESENTER_ACCESS_LOG: dataDir } });
  assert.equal(dir.exitCode, 2);
  assert.match(dir.stderr, /PRESENTER_ACCESS_LOG: .* is a directory/);
});
