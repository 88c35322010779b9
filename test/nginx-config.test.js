// `nginx-config` against a real nginx: the printed config passes `nginx -t`, and nginx run with it
// proxies real HTTP to two upstream HTTP servers on loopback (counted arrivals, not assumptions).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { freePort, makeDataDir, runCli, sleep, startServer } from './helpers/cli.js';

const NGINX = '/usr/sbin/nginx';
const noNginx = existsSync(NGINX) ? false : 'nginx not installed: apt-get install nginx';

/** An upstream that records each request; `mode(req)` says how to answer: 'ok' or 'die' (drop the connection mid-request). */
async function upstream(t, name, mode = () => 'ok') {
  const arrivals = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c) => {
      bytes += c.length;
    });
    req.on('end', () => {
      arrivals.push({ method: req.method, url: req.url, id: req.headers['x-test-id'], key: req.headers['idempotency-key'], xff: req.headers['x-forwarded-for'], proto: req.headers['x-forwarded-proto'], host: req.headers.host, bytes });
      if (mode(req) === 'die') {
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: name }));
    });
  });
  server.keepAliveTimeout = 72_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { arrivals, address: `127.0.0.1:${server.address().port}` };
}

async function config(t, upstreams, extra = []) {
  const prefix = makeDataDir(t, 'presenter-nginx-');
  // started as root, nginx's workers run as nobody: they write large bodies to temp files in here
  chmodSync(prefix, 0o755);
  const port = await freePort();
  const r = await runCli(['nginx-config', ...upstreams.flatMap((u) => ['--upstream', u]), '--listen', `127.0.0.1:${port}`, '--full', '--prefix', prefix, ...extra]);
  assert.equal(r.exitCode, 0, r.stderr);
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, r.stdout);
  return { file, prefix, port, text: r.stdout };
}

async function startNginx(t, { file, prefix, port }) {
  const child = execa(NGINX, ['-c', file, '-p', prefix, '-g', 'daemon off;'], { reject: false, stdin: 'ignore', all: true });
  t.after(async () => {
    child.kill('SIGTERM');
    await child;
  });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      await send(port, { method: 'GET', path: '/__ready' });
      return;
    } catch {
      await sleep(25);
    }
  }
  const r = await child;
  throw new Error(`nginx did not start (exit ${r.exitCode}):\n${r.all}`);
}

/** One request through nginx on a new connection; resolves { status, headers, body }. */
function send(port, { method, path, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the snippet and --full both pass `nginx -t`', { skip: noNginx }, async (t) => {
  const { file, prefix } = await config(t, ['127.0.0.1:5000', '[::1]:5001', 'localhost:5002']);
  const full = await execa(NGINX, ['-t', '-c', file, '-p', prefix], { reject: false, all: true });
  assert.equal(full.exitCode, 0, full.all);
  assert.match(full.all, /test is successful/);

  const snippet = await runCli(['nginx-config', '--upstream', '127.0.0.1:5000', '--server-name', 'feedback.example.org']);
  assert.equal(snippet.exitCode, 0, snippet.stderr);
  assert.ok(!/^\s*(events|http|pid)\b/m.test(snippet.stdout), 'a conf.d snippet has no events/http/pid');
  // the way /etc/nginx/nginx.conf includes conf.d/*.conf: inside http {}
  writeFileSync(join(prefix, 'snippet.conf'), snippet.stdout);
  const wrapper = join(prefix, 'wrapper.conf');
  writeFileSync(wrapper, `pid ${prefix}/w.pid;\nerror_log ${prefix}/w.log;\nevents {}\nhttp {\n  client_body_temp_path ${prefix}/b;\n  proxy_temp_path ${prefix}/p;\n  fastcgi_temp_path ${prefix}/f;\n  uwsgi_temp_path ${prefix}/u;\n  scgi_temp_path ${prefix}/s;\n  access_log off;\n  include ${prefix}/snippet.conf;\n}\n`);
  const included = await execa(NGINX, ['-t', '-c', wrapper, '-p', prefix], { reject: false, all: true });
  assert.equal(included.exitCode, 0, included.all);
});

test('the config says what a careful admin writes', async () => {
  const r = await runCli(['nginx-config', '--upstream', '10.0.0.11:5000', '--upstream', '10.0.0.12:5000'], { env: { PRESENTER_BODY_LIMIT: '2048' } });
  assert.equal(r.exitCode, 0, r.stderr);
  const c = r.stdout;
  for (const line of [
    'upstream presenter_serve {',
    'server 10.0.0.11:5000 max_fails=3 fail_timeout=10s;',
    'server 10.0.0.12:5000 max_fails=3 fail_timeout=10s;',
    'keepalive 32;',
    'proxy_http_version 1.1;',
    'proxy_set_header Connection "";',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header Host $host;',
    'client_max_body_size 2k;',
    'proxy_next_upstream error timeout http_502 http_504;',
    'listen 80;',
    '--trust-proxy',
  ]) assert.ok(c.includes(line), `missing: ${line}`);
  // POSTs are never sent twice, but for the one location that resends keyed creates
  assert.deepEqual(c.match(/^\s*proxy_next_upstream .*$/gm).map((l) => l.trim()), ['proxy_next_upstream error timeout http_502 http_504;', 'proxy_next_upstream error timeout http_502 http_504 non_idempotent;']);
  assert.match(c, /location @resend \{\n {8}proxy_pass http:\/\/presenter_serve;\n {8}proxy_next_upstream error timeout http_502 http_504 non_idempotent;/);
  assert.match(await runCli(['nginx-config', '--upstream', 'a:1', '--body-limit', '3MiB']).then((x) => x.stdout), /client_max_body_size 3m;/);
});

test('nginx spreads requests over both hosts and passes the client address on', { skip: noNginx }, async (t) => {
  const a = await upstream(t, 'a');
  const b = await upstream(t, 'b');
  const n = await config(t, [a.address, b.address]);
  await startNginx(t, n);
  a.arrivals.length = 0;
  b.arrivals.length = 0;
  const from = new Set();
  for (let i = 0; i < 20; i++) {
    const r = await send(n.port, { method: 'GET', path: `/api/presentations/${i}`, headers: { 'x-forwarded-for': '203.0.113.9', host: 'feedback.example.org' } });
    assert.equal(r.status, 200);
    from.add(JSON.parse(r.body).from);
  }
  assert.deepEqual([...from].sort(), ['a', 'b'], 'both hosts answered');
  assert.equal(a.arrivals.length + b.arrivals.length, 20);
  for (const x of [...a.arrivals, ...b.arrivals]) {
    // what the client claimed, then the address nginx saw: the hosts trust only the last hop
    assert.equal(x.xff, '203.0.113.9, 127.0.0.1');
    assert.equal(x.proto, 'http');
    assert.equal(x.host, 'feedback.example.org');
  }
});

test('a body over the limit gets 413 from nginx and reaches no host; the upload route takes a larger one', { skip: noNginx }, async (t) => {
  const a = await upstream(t, 'a');
  const b = await upstream(t, 'b');
  const n = await config(t, [a.address, b.address], ['--body-limit', '4KiB']);
  await startNginx(t, n);
  a.arrivals.length = 0;
  b.arrivals.length = 0;
  const big = 'x'.repeat(8 * 1024);
  let r = await send(n.port, { method: 'POST', path: '/api/presentations/p1/feedback', headers: { 'content-type': 'text/plain' }, body: big });
  assert.equal(r.status, 413);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(r.body).error.code, 'BODY_TOO_LARGE');
  assert.equal(a.arrivals.length + b.arrivals.length, 0, 'nginx refused it alone');

  r = await send(n.port, { method: 'POST', path: '/api/presentations/p1/feedback', body: 'x'.repeat(4000) });
  assert.equal(r.status, 200, 'a body within the limit passes');
  r = await send(n.port, { method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.presentationml.presentation' }, body: big });
  assert.equal(r.status, 200, 'the upload route takes a .pptx over the JSON limit (the host checks its own limits)');
  r = await send(n.port, { method: 'POST', path: '/api/presentations?title=x', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(r.status, 413, 'but not JSON over the limit');
  assert.equal(JSON.parse(r.body).error.code, 'BODY_TOO_LARGE');
  assert.deepEqual([...a.arrivals, ...b.arrivals].map((x) => [x.url, x.bytes]).sort((x, y) => x[1] - y[1]), [['/api/presentations/p1/feedback', 4000], ['/api/presentations', 8192]], 'the upload reaches the host as /api/presentations');
  r = await send(n.port, { method: 'POST', path: '/api/presentations?title=Deck', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: big });
  assert.equal(r.status, 200);
  assert.ok([...a.arrivals, ...b.arrivals].some((x) => x.url === '/api/presentations?title=Deck' && x.bytes === big.length), 'the query string too');
  r = await send(n.port, { method: 'GET', path: '/api/presentations?limit=5&cursor=abc' });
  assert.equal(r.status, 200);
  assert.ok([...a.arrivals, ...b.arrivals].some((x) => x.url === '/api/presentations?limit=5&cursor=abc' && x.method === 'GET'), 'behind the rewrite, the URI and query are the client\'s');
});

// nginx's round robin starts each worker at the first server, so the first requests of a
// fresh nginx reach the one listed first.
test('a GET whose host dies mid-request goes on to the next host; a POST that reached a host is never sent again', { skip: noNginx }, async (t) => {
  for (const method of ['GET', 'POST']) {
    const dying = await upstream(t, 'dying', (req) => (req.url === '/__ready' ? 'ok' : 'die'));
    const good = await upstream(t, 'good');
    const n = await config(t, [dying.address, good.address]);
    await startNginx(t, n);
    dying.arrivals.length = 0;
    good.arrivals.length = 0;
    const results = [];
    for (let i = 0; i < 6; i++) {
      const id = `${method}-${i}`;
      const r = await send(n.port, { method, path: '/api/presentations/p1/feedback', headers: { 'x-test-id': id }, body: method === 'POST' ? '{}' : undefined });
      results.push({ id, status: r.status, headers: r.headers, body: r.body, onDying: dying.arrivals.filter((x) => x.id === id).length, onGood: good.arrivals.filter((x) => x.id === id).length });
    }
    const hit = results.filter((r) => r.onDying === 1);
    assert.ok(hit.length > 0, `some ${method} reached the dying host: ${JSON.stringify(results)}`);
    for (const r of results) {
      assert.ok(r.onDying <= 1 && r.onGood <= 1, `${r.id}: at most once per host`);
      if (method === 'GET') {
        assert.equal(r.status, 200, `${r.id}: answered by the host that works (${r.body})`);
        assert.equal(r.onGood, 1, r.id);
      } else if (r.onDying === 1) {
        // it went out to a host, which may have done it: never sent to another one
        assert.equal(r.onGood, 0, `${r.id} reached the dying host and must not be sent again`);
        assert.equal(r.status, 502, r.id);
        assert.equal(r.headers['retry-after'], '5');
        assert.equal(JSON.parse(r.body).error.code, 'UPSTREAM_UNAVAILABLE');
      } else {
        assert.equal(r.onGood, 1, r.id);
      }
    }
  }
});

test('a POST /api/presentations with an Idempotency-Key that reached a dying host is sent to another, body and key intact; without a key it is not', { skip: noNginx }, async (t) => {
  const dying = await upstream(t, 'dying', (req) => (req.url === '/__ready' ? 'ok' : 'die'));
  const good = await upstream(t, 'good');
  const n = await config(t, [dying.address, good.address]);
  await startNginx(t, n);
  const body = JSON.stringify({ title: 'T', content: 'x'.repeat(3000) });
  const results = [];
  for (let i = 0; i < 8; i++) {
    const id = `create-${i}`;
    // each kind twice in a row (keyed create, create, keyed regeneration, regeneration), so that
    // nginx's round robin over two hosts sends each kind to both: with the kinds alternating, a
    // kind always met the same host, and whether a keyed create ever reached the dying one hung
    // on where the round robin stood after the readiness probes
    const keyed = i % 4 < 2;
    const path = i < 4 ? '/api/presentations' : '/api/presentations/p1/feedback';
    const headers = { 'x-test-id': id, 'content-type': 'application/json', ...(keyed ? { 'idempotency-key': `key-${i}` } : {}) };
    const r = await send(n.port, { method: 'POST', path, headers, body });
    const at = (list) => list.arrivals.filter((x) => x.id === id);
    results.push({ id, keyed, path, status: r.status, body: r.body, dying: at(dying), good: at(good) });
  }
  const resent = results.filter((r) => r.keyed && r.path === '/api/presentations' && r.dying.length === 1);
  const refused = results.filter((r) => !(r.keyed && r.path === '/api/presentations') && r.dying.length === 1);
  assert.ok(resent.length > 0 && refused.length > 0, `both kinds reached the dying host: ${JSON.stringify(results.map((r) => [r.id, r.path, r.keyed, r.dying.length, r.good.length]))}`);
  for (const r of resent) {
    assert.equal(r.status, 200, `${r.id}: sent again to the host that works`);
    assert.equal(r.good.length, 1, r.id);
    assert.equal(r.good[0].bytes, Buffer.byteLength(body), 'the whole body, again');
    assert.equal(r.good[0].method, 'POST');
    assert.equal(r.good[0].key, r.dying[0].key, 'with the same key');
    assert.ok(r.good[0].key.startsWith('key-'));
  }
  for (const r of refused) {
    assert.equal(r.good.length, 0, `${r.id} (${r.path}, key: ${r.keyed}) must not be sent again`);
    assert.equal(r.status, 502, r.id);
    assert.equal(JSON.parse(r.body).error.code, 'UPSTREAM_UNAVAILABLE');
  }
});

test('a host that is down (connection refused): GET and POST go to the next host, each exactly once', { skip: noNginx }, async (t) => {
  const dead = `127.0.0.1:${await freePort()}`; // nothing listens there
  const good = await upstream(t, 'good');
  const n = await config(t, [dead, good.address]);
  await startNginx(t, n);
  good.arrivals.length = 0;
  for (let i = 0; i < 6; i++) {
    const method = i % 2 === 0 ? 'POST' : 'GET';
    const r = await send(n.port, { method, path: '/api/presentations', headers: { 'x-test-id': `r${i}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
    assert.equal(r.status, 200, `${method} r${i}: ${r.body}`);
    // refused: nothing was sent to the dead host, so passing a POST on is safe
    assert.equal(good.arrivals.filter((x) => x.id === `r${i}`).length, 1, `r${i} arrived once`);
  }
});

test('bad --upstream values exit 2 naming the value and the fix, without a stack trace', async () => {
  const fix = '  fix: Give each host as HOST:PORT, the address its `presenter-serve serve` listens on, e.g. --upstream 10.0.0.11:5000 (IPv6: --upstream [fd00::11]:5000).';
  const cases = [
    ['', 'it is empty'],
    ['10.0.0.11', 'the port is missing'],
    ['10.0.0.11:', 'the port is missing'],
    [':5000', 'the host is missing'],
    ['10.0.0.11:0', 'the port `0` is not a number from 1 to 65535'],
    ['10.0.0.11:70000', 'the port `70000` is not a number from 1 to 65535'],
    ['10.0.0.11:http', 'the port `http` is not a number from 1 to 65535'],
    ['http://10.0.0.11:5000', 'give the address without a scheme (nginx speaks HTTP to it)'],
    ['::1:5000', 'an IPv6 address goes in brackets, [fd00::11]:5000'],
    ['[::1]', 'the port is missing'],
    ['bad_host!:5000', '`bad_host!` is neither an IP address nor a host name'],
  ];
  for (const [value, why] of cases) {
    const r = await runCli(['nginx-config', '--upstream', '127.0.0.1:5000', '--upstream', value]);
    assert.equal(r.exitCode, 2, value);
    assert.equal(r.stdout, '', value);
    assert.equal(r.stderr, `error: Expected --upstream to be HOST:PORT, got \`${value}\`: ${why}.\n${fix}`);
  }
  const others = [
    [['nginx-config'], 'error: nginx-config needs at least one --upstream HOST:PORT.\n  fix: Name every host running `presenter-serve serve`, e.g. --upstream 10.0.0.11:5000 --upstream 10.0.0.12:5000.'],
    [['nginx-config', '--upstream', 'a:1', '--upstream', 'a:1'], 'error: --upstream a:1 is given twice.\n  fix: Name each host once (nginx would send it twice the share of requests).'],
    [['nginx-config', '--upstream', 'a:1', '--prefix', '/tmp/x'], 'error: --prefix only applies to --full.\n  fix: Add --full, or drop --prefix.'],
    [['nginx-config', '--upstream', 'a:1', '--listen', '99999'], 'error: Expected --listen to be a port from 1 to 65535 or ADDRESS:PORT, got `99999`.\n  fix: Give a port (80) or ADDRESS:PORT (127.0.0.1:8080, [::]:80).'],
    [['nginx-config', '--upstream', 'a:1', '--body-limit', '10'], 'error: Expected --body-limit to be a size from 1KiB to 1GiB such as 1MiB or 1048576, got `10`.\n  fix: Give the PRESENTER_BODY_LIMIT the hosts run with, or leave --body-limit out to use it from this environment.'],
    [['nginx-config', '--upstream', 'a:1', '--full', '--prefix', '/tmp/a b'], 'error: Expected --prefix to be a directory path without spaces, quotes, \';\', \'{\', \'}\' or \'$\', got `/tmp/a b`.\n  fix: Choose a plain path such as /var/lib/presenter-nginx.'],
  ];
  for (const [args, stderr] of others) {
    const r = await runCli(args);
    assert.equal(r.exitCode, 2, args.join(' '));
    assert.equal(r.stderr, stderr);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  }
});

test('a real `serve` behind nginx: create, read, the same talk for the same key, 413 for a body over the limit, a .pptx to the host', { skip: noNginx }, async (t) => {
  const server = await startServer(t, { args: ['--trust-proxy', '127.0.0.1'] });
  const n = await config(t, [`127.0.0.1:${server.port}`]);
  await startNginx(t, n);
  const json = (r) => JSON.parse(r.body);
  const talk = JSON.stringify({ title: 'Through nginx', content: '# One\n\nSome text.\n\n# Two\n\nMore text.' });
  const created = await send(n.port, { method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/json', 'idempotency-key': 'nginx-1' }, body: talk });
  assert.equal(created.status, 201, created.body);
  const again = await send(n.port, { method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/json', 'idempotency-key': 'nginx-1' }, body: talk });
  assert.equal(json(again).id, json(created).id, 'the same key, the same talk');
  const read = await send(n.port, { method: 'GET', path: `/api/presentations/${json(created).id}` });
  assert.equal(read.status, 200);
  assert.equal(json(read).title, 'Through nginx');

  // 2 MiB of JSON: over the host's limit, so nginx answers, in the API's shape
  const big = JSON.stringify({ title: 'Big', content: 'x'.repeat(2 * 1024 * 1024) });
  const tooBig = await send(n.port, { method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(tooBig.status, 413, tooBig.body);
  assert.match(json(tooBig).error.message, /this proxy accepts/);
  // 2 MiB that claims to be a .pptx: within the upload limit, so the host reads it and answers itself
  const deck = await send(n.port, { method: 'POST', path: '/api/presentations', headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.presentationml.presentation' }, body: Buffer.alloc(2 * 1024 * 1024, 1) });
  assert.ok(deck.status >= 400 && deck.status < 500 && deck.status !== 413, `${deck.status} ${deck.body}`);
  assert.ok(json(deck).error.code, 'the host\'s own error');
  const elsewhere = await send(n.port, { method: 'POST', path: `/api/presentations/${json(created).id}/feedback`, headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(elsewhere.status, 413);
  assert.match(json(elsewhere).error.message, /this proxy accepts/, 'nginx\'s own answer, in the API\'s shape');
});
