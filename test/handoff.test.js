// The socket outlives its workers (#11 item 1): the supervisor owns the listening socket and hands
// connections to ready workers, so killing the only worker makes clients wait, not fail to connect.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { runCli, sleep, startServer } from './helpers/cli.js';
import { logLines, waitUntil } from './helpers/http.js';
import { notPosix } from './helpers/skip.js';

/** Plain requests on a new connection each, from `clients` loops, until `stop()`; refusals counted apart. */
function clientLoop(server, clients = 4) {
  const counts = { ok: 0, refused: 0, other: {} };
  let stopped = false;
  const one = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent: false, timeout: 20_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) counts.ok++;
          else counts.other[res.statusCode] = (counts.other[res.statusCode] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        if (error.code === 'ECONNREFUSED') counts.refused++;
        else counts.other[error.code ?? error.message] = (counts.other[error.code ?? error.message] ?? 0) + 1;
        resolve();
      });
    });
  const loops = Promise.all(Array.from({ length: clients }, async () => {
    while (!stopped) await one();
  }));
  return {
    counts,
    stop: async () => {
      stopped = true;
      await loops;
      return counts;
    },
  };
}

async function readyWorker(server, not) {
  return waitUntil('a ready worker', async () => {
    const r = await runCli(['status', '--json', '--data-dir', server.dataDir]);
    return JSON.parse(r.stdout).workers.find((w) => w.state === 'ready' && w.pid !== not)?.pid;
  }, 30_000, 50);
}

test('the only worker killed 5 times during a client loop: 0 refused connections', { skip: notPosix, timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const load = clientLoop(server);
  let pid = await readyWorker(server);
  for (let kill = 0; kill < 5; kill++) {
    await sleep(300);
    process.kill(pid, 'SIGKILL');
    pid = await readyWorker(server, pid);
  }
  await sleep(300);
  const counts = await load.stop();
  const lines = logLines(server);
  const started = new Map(lines.filter((l) => l.event === 'worker.started').map((l) => [l.workerPid, l.time]));
  const startToReady = lines.filter((l) => l.event === 'worker.ready').map((l) => l.time - started.get(l.pid));
  t.diagnostic(`${counts.ok} answered, ${counts.refused} refused, other ${JSON.stringify(counts.other)}; worker start → ready ${startToReady.join(', ')} ms`);
  assert.equal(counts.refused, 0, 'no connection refused while the only worker was replaced');
  assert.ok(counts.ok > 50);
  // a request in flight on the killed worker may fail (reset); nothing else
  for (const key of Object.keys(counts.other)) assert.equal(key, 'ECONNRESET', `unexpected outcome ${key}`);
  assert.ok(counts.other.ECONNRESET === undefined || counts.other.ECONNRESET <= 5 * 4, 'at most the requests in flight at each kill');
});

test('clients that connect while no worker is ready wait for the next one and are answered', { skip: notPosix, timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const pid = await readyWorker(server);
  process.kill(pid, 'SIGSTOP'); // accepted connections cannot be served: the supervisor still owns the socket
  process.kill(pid, 'SIGKILL');
  // new connections (no pooled keep-alive connection of the killed worker)
  const get = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent: false, timeout: 20_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => resolve(error.code ?? error.message));
    });
  const answers = await Promise.all(Array.from({ length: 20 }, get));
  assert.deepEqual([...new Set(answers)], [200], JSON.stringify(answers));
  assert.ok(logLines(server).some((l) => l.event === 'worker.restarting'));
});
