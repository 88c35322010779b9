import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPort } from '../dist/doctor/check-port.js';
import { freePort, makeDataDir, startServer } from './helpers/cli.js';
import { doctorEnv, settings } from './helpers/doctor.js';

async function occupy(t, host = '127.0.0.1') {
  const server = createServer();
  await new Promise((r) => server.listen(0, host, r));
  t.after(() => new Promise((r) => server.close(r)));
  return server.address().port;
}

test('a free port passes', async (t) => {
  const port = await freePort();
  const r = await checkPort(doctorEnv({ settings: settings({ host: '127.0.0.1', port, dataDir: makeDataDir(t) }) }));
  assert.equal(r.status, 'pass');
  assert.equal(r.detail, `127.0.0.1:${port} is free.`);
});

test('a taken port fails, naming host:port and how to find the holder', async (t) => {
  const port = await occupy(t);
  const r = await checkPort(doctorEnv({ platform: 'linux', settings: settings({ host: '127.0.0.1', port, dataDir: makeDataDir(t) }) }));
  assert.equal(r.status, 'fail');
  assert.equal(r.detail, `127.0.0.1:${port} is already in use by another process.`);
  assert.match(r.fix, new RegExp(`ss -ltnp 'sport = :${port}'`));
  assert.match(r.fix, /--port or PRESENTER_PORT/);
});

// The pid file alone proves nothing: a dead server's pid may be reused by any program.
test('a pid file naming a live process that holds no data dir lock does not excuse a taken port', async (t) => {
  const port = await occupy(t);
  const dir = makeDataDir(t);
  writeFileSync(join(dir, 'presenter.pid'), `${process.pid}\n`); // alive, and not a server
  const r = await checkPort(doctorEnv({ settings: settings({ host: '127.0.0.1', port, dataDir: dir }) }));
  assert.equal(r.status, 'fail');
  assert.equal(r.detail, `127.0.0.1:${port} is already in use by another process.`);
});

test('a taken port held by a running serve of this data dir passes, naming its pid', async (t) => {
  const server = await startServer(t);
  const r = await checkPort(doctorEnv({ settings: settings({ host: '127.0.0.1', port: server.port, dataDir: server.dataDir }) }));
  assert.equal(r.status, 'pass');
  assert.equal(r.detail, `127.0.0.1:${server.port} is in use by the presenter-serve of this data dir (pid ${server.child.pid}, holding presenter.lock): it is running.`);
});

test('a stale pid file does not excuse a taken port', async (t) => {
  const port = await occupy(t);
  const dir = makeDataDir(t);
  writeFileSync(join(dir, 'presenter.pid'), '999999999\n');
  const r = await checkPort(doctorEnv({ settings: settings({ host: '127.0.0.1', port, dataDir: dir }) }));
  assert.equal(r.status, 'fail');
});

test('EACCES below 1024 explains privileges', async (t) => {
  const r = await checkPort(doctorEnv({ settings: settings({ port: 80, dataDir: makeDataDir(t) }), listen: async () => 'EACCES' }));
  assert.equal(r.status, 'fail');
  assert.match(r.detail, /0\.0\.0\.0:80 is not allowed: ports below 1024 need privileges/);
  assert.match(r.fix, /cap_net_bind_service/);
});

test('a host that is not an address of this machine', async (t) => {
  const r = await checkPort(doctorEnv({ settings: settings({ host: '10.255.255.1', port: 5000, dataDir: makeDataDir(t) }), listen: async () => 'EADDRNOTAVAIL' }));
  assert.match(r.detail, /10\.255\.255\.1 is not an address of this machine/);
});
