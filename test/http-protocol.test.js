// Answers of the protocol layer (Node's HTTP parser, the router) in the API's error shape, the
// headers every API answer carries, the list cursor, and the admin token comparison.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import test from 'node:test';
import { startServer } from './helpers/cli.js';
import { api } from './helpers/http.js';

/** Sends raw bytes and reads the answer until the server closes the connection. */
function raw(server, bytes) {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, text });
    });
    socket.end(bytes);
  });
}

function assertApiError(res, status, code) {
  assert.equal(res.status, status, res.text ?? JSON.stringify(res.data));
  const data = res.body === undefined ? res.data : JSON.parse(res.body);
  assert.deepEqual(Object.keys(data), ['error']);
  assert.equal(data.error.code, code);
  assert.equal(typeof data.error.message, 'string');
  assert.ok(data.error.message.length > 10, data.error.message);
  const header = (name) => (res.headers.get ? res.headers.get(name) : res.headers[name]);
  assert.match(header('content-type'), /^application\/json/);
  assert.equal(header('cache-control'), 'no-store');
  assert.equal(header('x-content-type-options'), 'nosniff');
}

test('malformed requests get {"error":{code,message}} from the parser and the router', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const host = 'Host: 127.0.0.1\r\n';
  const cases = [
    ['a Content-Length that is not a number', `POST /api/presentations HTTP/1.1\r\n${host}Content-Type: text/plain\r\nContent-Length: abc\r\n\r\n# x`, 400, 'BAD_CONTENT_LENGTH'],
    ['two different Content-Lengths', `POST /api/presentations HTTP/1.1\r\n${host}Content-Length: 3\r\nContent-Length: 4\r\n\r\n# xy`, 400, 'BAD_CONTENT_LENGTH'],
    ['headers above 16 KiB', `GET /healthz HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['an unknown method', `BREW /healthz HTTP/1.1\r\n${host}\r\n`, 501, 'METHOD_NOT_IMPLEMENTED'],
    ['a request target that is no URL', `GET /a\x7fb HTTP/1.1\r\n${host}\r\n`, 400, 'BAD_URL'],
    ['a broken request line', `GET /he llo HTTP/1.1\r\n${host}\r\n`, 400, 'BAD_REQUEST'],
    ['garbage instead of HTTP', 'HELLO\r\n\r\n', 501, 'METHOD_NOT_IMPLEMENTED'],
    ['a bad percent-encoding', `GET /api/presentations/%E0%A4%A HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, 400, 'BAD_URL'],
    ['a path parameter above 100 characters', `GET /api/presentations/${'a'.repeat(150)} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, 414, 'URI_TOO_LONG'],
  ];
  for (const [what, bytes, status, code] of cases) {
    await t.test(what, async () => assertApiError(await raw(server, bytes), status, code));
  }
  // the worker is fine afterwards
  assert.equal((await api(server, '/healthz')).status, 200);
});

test('API answers carry Cache-Control: no-store and nosniff; the page keeps its own caching', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_ADMIN_TOKEN: 'admin-secret' } });
  const created = await api(server, '/api/presentations', { method: 'POST', json: { title: 'T', content: 'Some words.' } });
  const responses = [
    created,
    await api(server, created.data.url),
    await api(server, '/healthz'),
    await api(server, '/readyz'),
    await api(server, '/metrics', { headers: { authorization: 'Bearer admin-secret' } }),
    await api(server, '/api/presentations', { headers: { authorization: 'Bearer admin-secret' } }),
    await api(server, '/nowhere'),
    await api(server, '/api/presentations', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } }),
  ];
  for (const res of responses) {
    assert.equal(res.headers.get('cache-control'), 'no-store', `${res.status} ${JSON.stringify(res.data)}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  }
  const page = await api(server, '/');
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
});

test('a cursor the server did not make is a 400, a real one pages on', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_ADMIN_TOKEN: 'admin-secret' } });
  const auth = { authorization: 'Bearer admin-secret' };
  for (let i = 0; i < 3; i++) await api(server, '/api/presentations', { method: 'POST', json: { title: `T${i}`, content: 'Some words.' } });
  const first = await api(server, '/api/presentations?limit=2', { headers: auth });
  assert.equal(first.data.items.length, 2);
  const second = await api(server, `/api/presentations?limit=2&cursor=${first.data.nextCursor}`, { headers: auth });
  assert.equal(second.status, 200);
  assert.deepEqual(second.data.items.map((p) => p.title), ['T0']);
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const bad = ['garbage!', 'x', b64('not-a-cursor'), b64('123|'), b64(`abc|${'0'.repeat(36)}`), `${first.data.nextCursor}A`];
  for (const cursor of bad) {
    const res = await api(server, `/api/presentations?cursor=${encodeURIComponent(cursor)}`, { headers: auth });
    assertApiError(res, 400, 'VALIDATION');
    assert.match(res.data.error.message, /^cursor: /);
  }
});

test('the admin token is compared by digest: any length of a wrong token is a plain 401', async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'], env: { PRESENTER_ADMIN_TOKEN: 'admin-secret' } });
  for (const token of ['', 'a', 'admin-secre', 'admin-secretX', 'x'.repeat(5000), 'ädmin-secret']) {
    const res = await api(server, '/api/presentations', { headers: { authorization: `Bearer ${token}` } });
    assertApiError(res, 401, 'UNAUTHORIZED');
  }
  assert.equal((await api(server, '/api/presentations', { headers: { authorization: 'Bearer admin-secret' } })).status, 200);
});
