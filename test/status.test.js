// status (#11 item 8): per worker CPU, requests/s, event-loop delay, the last exit's reason; the
// queue's depth; --watch; exit 3 when not running (test/serve.test.js covers the pid-file cases).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, ROOT, cleanEnv, runCli, sleep, startServer } from './helpers/cli.js';
import { waitUntil } from './helpers/http.js';
import { notLinux, notPosix } from './helpers/skip.js';

// a real terminal for `status --watch`: util-linux's script(1) runs it on a pseudo-terminal
const noScript = notLinux || (spawnSync('script', ['--version']).error ? 'script (util-linux; Debian package bsdutils) is not installed' : false);
const shellQuote = (s) => `'${s.replaceAll("'", "'\\''")}'`;

async function status(server) {
  const r = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('status shows load per worker, the queue, and why a slot restarted', { skip: notPosix, timeout: 90_000 }, async (t) => {
  // a slow model keeps jobs queued: the depth is visible
  const server = await startServer(t, { args: ['--profile', 'advanced', '--threads', '1'], env: { PRESENTER_AI_PROVIDER: 'noop', PRESENTER_AI_DELAY_MS: '5000' } });
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await fetch(`${server.url}/api/presentations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: `T${i}`, content: '# T\n\nwords' }) });
      await r.arrayBuffer();
      if (i > 40) await sleep(20);
    }
  })();
  const busy = await waitUntil('a worker under load in status', async () => {
    const s = await status(server);
    return s.workers.some((w) => w.requestsPerSec > 0) && s.queueDepth > 0 ? s : undefined;
  }, 30_000, 300);
  stop = true;
  await load;
  for (const w of busy.workers) {
    assert.equal(typeof w.cpuPercent, 'number');
    assert.ok(w.cpuPercent >= 0 && w.cpuPercent < 400, `cpu ${w.cpuPercent}`);
    assert.equal(typeof w.eventLoopDelayMs, 'number');
    assert.ok(w.eventLoopDelayMs >= 0 && w.eventLoopDelayMs < 5000);
    assert.equal(w.lastExit, null);
  }
  assert.ok(busy.queueDepth > 0, `queue ${busy.queueDepth}`);

  const victim = busy.workers[0];
  process.kill(victim.pid, 'SIGKILL');
  const after = await waitUntil('the slot restarted and ready', async () => {
    const s = await status(server);
    return s.workers.find((w) => w.slot === victim.slot && w.state === 'ready' && w.pid !== victim.pid) ? s : undefined;
  }, 30_000, 200);
  const row = after.workers.find((w) => w.slot === victim.slot && w.state === 'ready');
  assert.equal(row.restarts, 1);
  assert.match(row.lastExit, /^signal SIGKILL/);

  const text = await runCli(['status', '--data-dir', server.dataDir]);
  assert.match(text.stdout, /queue \d+ job\(s\) waiting/);
  assert.match(text.stdout, /^WORKER +PID +STATE +UPTIME +RESTARTS +CPU +REQ\/S +ELD P99 +RSS +JOBS +LAST EXIT$/m);
  assert.match(text.stdout, /signal SIGKILL/);
});

test('status --watch refreshes until Ctrl-C (exit 0), and ends with exit 3 when the server stops', { skip: notPosix, timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  const watch = execa(process.execPath, [BIN, 'status', '--watch', '--data-dir', server.dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
  let watchText = '';
  watch.stdout.on('data', (d) => (watchText += d));
  await waitUntil('three refreshes', () => (watchText.match(/^--- \d{4}-/gm) ?? []).length >= 3, 15_000, 100);
  watch.kill('SIGINT');
  const r = await watch;
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok((watchText.match(/presenter-serve running: pid \d+/g) ?? []).length >= 3);
  assert.ok(!watchText.includes('\u001b['), 'plain lines when piped: no escape sequences');

  const second = execa(process.execPath, [BIN, 'status', '--watch', '--json', '--data-dir', server.dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false });
  await sleep(2500);
  await runCli(['stop', '--data-dir', server.dataDir]);
  const ended = await second;
  assert.equal(ended.exitCode, 3, ended.stderr);
  assert.match(ended.stderr, /not running/);
  const lines = ended.stdout.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.every((l) => JSON.parse(l).pid > 0), 'one JSON document per line');
});

test('status --watch on a terminal refreshes in place (home, clear) and ends on Ctrl-C with exit 0', { skip: noScript, timeout: 60_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe'] });
  // exec: the CLI is the terminal's only process (dash would stay and die of the ^C itself, exit 130)
  const command = `exec ${[process.execPath, BIN, 'status', '--watch', '--data-dir', server.dataDir].map(shellQuote).join(' ')}`;
  // stdin is a pipe: what the test writes there is typed on the terminal (a ^C is the SIGINT of Ctrl-C)
  const watch = execa('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], { cwd: ROOT, env: cleanEnv({ SHELL: '/bin/sh' }), extendEnv: false, reject: false, stdin: 'pipe' });
  t.after(() => watch.kill('SIGKILL'));
  let screen = '';
  watch.stdout.on('data', (d) => (screen += d));
  await waitUntil('three refreshes on the terminal', () => (screen.match(/presenter-serve running: pid \d+/g) ?? []).length >= 3, 15_000, 100);
  watch.stdin.write('\x03');
  const r = await watch;
  assert.equal(r.exitCode, 0, `${r.stderr}\n${screen}`);
  const text = screen.replaceAll('\r\n', '\n');
  const HOME_CLEAR = '\x1b[H\x1b[2J';
  const [before, ...renders] = text.split(HOME_CLEAR);
  assert.ok(renders.length >= 3, `the screen is cleared before each refresh (${renders.length} times):\n${JSON.stringify(text)}`);
  assert.equal(before, '', 'nothing is printed before the first clear');
  for (const render of renders) {
    assert.match(render, /^presenter-serve running: pid \d+, profile safe, 127\.0\.0\.1:\d+/, 'each refresh starts at the top of a cleared screen');
    assert.match(render, /^WORKER +PID +STATE +UPTIME +RESTARTS +CPU +REQ\/S +ELD P99 +RSS +JOBS +LAST EXIT$/m);
    assert.match(render, /^1 +\d+ +ready /m, 'a ready worker row');
  }
  assert.doesNotMatch(text, /^--- \d{4}-/m, 'no piped-mode separators on a terminal');
});
