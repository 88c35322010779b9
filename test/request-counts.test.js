// The worker's request counts (src/http/request-counts.ts): what the heartbeat reports as served
// and in flight. Over real HTTP on loopback with raw sockets, so that requests can be pipelined,
// half sent and cut at the worst moment; the count must come back to 0 every time.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { RequestCounts } from '../dist/http/request-counts.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const GET = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

// every request tracked (as Fastify's are); /slow answers after 300 ms, the rest at once
async function server(t) {
  const counts = new RequestCounts();
  const srv = createServer((request, response) => {
    counts.served++;
    counts.track(response);
    if (request.url === '/slow') setTimeout(() => response.end('slow'), 300);
    else request.resume().on('end', () => response.end('ok'));
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  return { counts, srv, port: srv.address().port };
}

async function connect(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.received = '';
  socket.on('data', (chunk) => (socket.received += chunk));
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

test('in flight while being answered, 0 after; pipelined requests are each served and each leave', async (t) => {
  const { counts, port } = await server(t);
  const socket = await connect(port);
  socket.write(GET('/slow') + GET('/ok') + GET('/ok'));
  await sleep(100);
  assert.equal(counts.served, 3);
  assert.equal(counts.inFlight, 3, 'the slow one and the two queued behind it');
  await sleep(500);
  assert.equal((socket.received.match(/HTTP\/1\.1 200/g) ?? []).length, 3);
  assert.equal(counts.inFlight, 0);
  socket.destroy();
});

test('a pipelined request queued behind a slow one, its connection cut: not in flight forever', async (t) => {
  // Node destroys the queued requests but never closes their responses: without the pruning of
  // dead connections the count stays at 2
  const { counts, port } = await server(t);
  const socket = await connect(port);
  socket.write(GET('/slow') + GET('/ok') + GET('/ok'));
  await sleep(50);
  socket.destroy();
  await sleep(400);
  assert.equal(counts.served, 3);
  assert.equal(counts.inFlight, 0);
});

test('closeAllConnections, a half-sent body, a client gone mid-answer: all back to 0', async (t) => {
  const { counts, srv, port } = await server(t);
  const pipelined = await connect(port);
  pipelined.write(GET('/slow') + GET('/ok'));
  const half = await connect(port);
  half.write('POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 60\r\n\r\n{"title":');
  const gone = await connect(port);
  gone.write(GET('/slow'));
  await sleep(50);
  assert.equal(counts.inFlight, 4);
  gone.destroy();
  await sleep(50);
  assert.equal(counts.inFlight, 3);
  srv.closeAllConnections();
  await sleep(400);
  assert.equal(counts.inFlight, 0);
  assert.equal(counts.served, 4);
});

test('cut pipelines, over and over, with nobody reading the count: the responses held stay bounded', async (t) => {
  // the windows profile reads the count only for `status`: an attacker pipelining behind a slow
  // request and hanging up, again and again, must not make the worker keep every response
  const { counts, port } = await server(t);
  for (let round = 0; round < 20; round++) {
    const socket = await connect(port);
    socket.write(GET('/slow') + GET('/ok').repeat(20));
    await sleep(30);
    socket.destroy();
  }
  await sleep(50);
  assert.equal(counts.served, 20 * 21);
  assert.ok(counts.held <= 2 * 64, `held ${counts.held} responses of ${counts.served} served`);
  await sleep(350);
  assert.equal(counts.inFlight, 0);
});
