// reload re-reads the profile (#11 item 5): what changed is applied to the new workers and said;
// what cannot change live (the address) is said and kept; a broken profile refuses the reload.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, makeDataDir, runCli, startServer } from './helpers/cli.js';
import { api, logLines } from './helpers/http.js';

test('reload applies a changed profile, says what changed and what needs a restart; a broken one is refused', { timeout: 120_000 }, async (t) => {
  const dir = makeDataDir(t, 'presenter-profile-');
  const file = join(dir, 'site.json');
  const port = await freePort();
  writeFileSync(file, JSON.stringify({ workers: 2, threads: 2, host: '127.0.0.1', port }));
  const server = await startServer(t, { args: ['--profile', file], port });
  writeFileSync(file, JSON.stringify({ workers: 3, threads: 1, host: '127.0.0.1', port, jobAttempts: 2 }));
  const r = await runCli(['reload', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^settings changed: .*\bworkers\b/m);
  assert.match(r.stdout, /^settings changed: .*\bthreads\b/m);
  assert.match(r.stdout, /^settings changed: .*\bjobAttempts\b/m);
  assert.doesNotMatch(r.stdout, /not applied/);
  let status = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
  assert.equal(status.workers.filter((w) => w.state === 'ready').length, 3, 'workers: 3 applied the scale way');
  assert.equal((await api(server, '/healthz')).status, 200);
  const line = logLines(server).find((l) => l.event === 'supervisor.reloading');
  assert.deepEqual(line.notLive, []);
  assert.ok(line.changed.includes('threads'));

  // serving from the primary (fork: false) cannot be switched to live: said, and kept
  writeFileSync(file, JSON.stringify({ workers: 1, fork: false, host: '127.0.0.1', port }));
  const again = await runCli(['reload', '--data-dir', server.dataDir], { timeout: 90_000 });
  assert.equal(again.exitCode, 0, again.stderr);
  assert.match(again.stdout, /^not applied until a restart \(the supervisor's own\): fork$/m);
  status = JSON.parse((await runCli(['status', '--json', '--data-dir', server.dataDir])).stdout);
  assert.equal(status.mode, 'cluster');
  assert.equal(status.workers.filter((w) => w.state === 'ready').length, 1);

  writeFileSync(file, '{"workers": "many"');
  const broken = await runCli(['reload', '--data-dir', server.dataDir]);
  assert.equal(broken.exitCode, 1);
  assert.match(broken.stderr, /refused `reload`: the profile cannot be read again: .*site\.json.*; the workers keep serving/);
  assert.doesNotMatch(broken.stderr, /\n\s+at /);
  assert.equal((await api(server, '/healthz')).status, 200);
});
