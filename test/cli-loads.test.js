// The control commands start in a few dozen modules, not the ~800 of the server's code (#12): cli/main.ts
// declares every command's options, and a command's code (with Fastify, pino, prom-client,
// undici, pg…) is imported when that command runs. Counted, not timed: the bench's `cli` section
// measures the start times.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { BIN, ROOT, assertNoNodeWarnings, cleanEnv, makeDataDir, runCli, startServer } from './helpers/cli.js';
import { notPosix } from './helpers/skip.js';

const RECORDER = join(ROOT, 'test/fixtures/record-loads.mjs');
// what serving, doctor and logs need, and a control command does not
const SERVER_PACKAGES = ['fastify', '@fastify/multipart', '@fastify/rate-limit', 'pino', 'pino-pretty', 'prom-client', 'undici', 'pg', 'execa', 'chalk', 'yauzl', 'fast-xml-parser', 'rotating-file-stream'];
const SERVER_MODULES = ['dist/supervisor/supervisor.js', 'dist/worker/', 'dist/http/', 'dist/doctor/', 'dist/store/sqlite.js', 'dist/feedback/providers.js', 'dist/feedback/pptx/read.js', 'dist/logs/analyse.js', 'dist/cli/actions/'];

/** Runs the CLI and returns its result and the packages and dist modules it loaded. */
async function loads(t, args) {
  const file = join(makeDataDir(t, 'presenter-loads-'), 'loads.txt');
  const child = execa(process.execPath, ['--import', RECORDER, BIN, ...args], { cwd: ROOT, env: cleanEnv({ RECORD_LOADS_TO: file }), extendEnv: false, reject: false, timeout: 60_000 });
  const r = await child;
  assertNoNodeWarnings(r.stderr);
  return { r, ...recorded(file).get(child.pid) };
}

/** The packages and dist modules each process loaded, by pid, from the recorder's file. */
function recorded(file) {
  const byPid = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const pid = Number(line.slice(0, space));
    const url = line.slice(space + 1).replaceAll('\\', '/');
    if (!byPid.has(pid)) byPid.set(pid, { packages: new Set(), modules: new Set() });
    const entry = byPid.get(pid);
    // a package whose manifest alone was resolved or read (Node 22.15+'s hooks see require.resolve
    // too) is not loaded: http/validators.ts reads the Ajv compiler's version that way
    const pkg = url.endsWith('/package.json') ? undefined : /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg) entry.packages.add(pkg);
    const mod = /\/(dist\/.+)$/.exec(url)?.[1];
    if (mod) entry.modules.add(mod);
  }
  return byPid;
}

function assertLight(label, { packages, modules }, { sqlite }) {
  // the recorder works: it saw the CLI itself
  assert.ok(packages.has('commander') && modules.has('dist/cli/main.js'), `${label}: nothing recorded`);
  const heavy = SERVER_PACKAGES.filter((p) => packages.has(p));
  assert.deepEqual(heavy, [], `${label} loaded ${heavy.join(', ')}`);
  // doctor/matrix.js is the version table alone (no imports): the lock probe's driver choice reads it
  const server = [...modules].filter((m) => SERVER_MODULES.some((s) => m.startsWith(s)) && m !== 'dist/doctor/matrix.js');
  assert.deepEqual(server, [], `${label} loaded ${server.join(', ')}`);
  // better-sqlite3 is the data dir's lock probe: control commands only
  assert.equal(packages.has('better-sqlite3'), sqlite, `${label}: better-sqlite3 ${sqlite ? 'not ' : ''}loaded`);
}

test('--version, --help, profiles, nginx-config and systemd-unit load neither the server nor SQLite', async (t) => {
  const commands = [['--version'], ['--help'], ['status', '--help'], ['profiles'], ['profiles', '--json'], ['nginx-config', '--upstream', '10.0.0.1:5000'], ['systemd-unit', '--user', 'presenter']];
  for (const args of commands) {
    const result = await loads(t, args);
    assert.equal(result.r.exitCode, 0, `${args.join(' ')}: ${result.r.stderr}`);
    assert.ok(result.r.stdout.length > 0);
    assertLight(args.join(' '), result, { sqlite: false });
  }
});

test('status, stop, reload and scale with no server running load only the lock probe', async (t) => {
  const dataDir = makeDataDir(t);
  for (const [command, exitCode] of [['status', 3], ['stop', 1], ['reload', 1], ['scale', 1]]) {
    const args = command === 'scale' ? [command, '2'] : [command];
    const result = await loads(t, [...args, '--data-dir', dataDir]);
    assert.equal(result.r.exitCode, exitCode, result.r.stderr);
    assert.match(result.r.stderr, /^error: presenter-serve is not running on .* \(no pid file\)\.\n {2}fix: /);
    assertLight(command, result, { sqlite: true });
  }
});

test('status, reload and stop of a running server load no server code either', { skip: notPosix, timeout: 120_000 }, async (t) => {
  const server = await startServer(t, { args: ['--profile', 'safe', '--workers', '1'] });
  const status = await loads(t, ['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(status.r.exitCode, 0, status.r.stderr);
  assert.equal(JSON.parse(status.r.stdout).workers.length, 1);
  assertLight('status', status, { sqlite: true });
  const reload = await loads(t, ['reload', '--data-dir', server.dataDir]);
  assert.equal(reload.r.exitCode, 0, reload.r.stderr);
  assert.match(reload.r.stdout, /^reloaded 1 worker\(s\); new pids \d+\n/);
  assertLight('reload', reload, { sqlite: true });
  const stop = await loads(t, ['stop', '--data-dir', server.dataDir]);
  assert.equal(stop.r.exitCode, 0, stop.r.stderr);
  assert.match(stop.r.stdout, /^stopped presenter-serve \(pid \d+\)$/);
  assertLight('stop', stop, { sqlite: true });
});

test('a command loaded on demand still ends in main(): its user errors as one line and their exit code', async (t) => {
  const dataDir = makeDataDir(t);
  // thrown by cli/actions/serve.ts (resolveSettings) and cli/actions/logs.ts
  const serve = await loads(t, ['serve', '--profile', join(dataDir, 'missing.json'), '--data-dir', dataDir]);
  assert.equal(serve.r.exitCode, 2);
  assert.match(serve.r.stderr, /^error: Profile .*missing\.json.*\n {2}fix: .*$/);
  assert.ok(serve.modules.has('dist/cli/actions/serve.js'), 'serve was loaded on demand');
  const logs = await loads(t, ['logs', '--data-dir', dataDir]);
  assert.equal(logs.r.exitCode, 2);
  assert.match(logs.r.stderr, /^error: Cannot read the log file .*presenter\.log: it does not exist\.\n {2}fix: .*$/);
});

test('a worker loads no undici before its first OpenAI call, no .pptx parsers, no pino-pretty or file sink, no Ajv compiler, no prom-client on the way to ready', { skip: notPosix, timeout: 120_000 }, async (t) => {
  const file = join(makeDataDir(t, 'presenter-loads-'), 'loads.txt');
  // NODE_OPTIONS reaches the workers: node:cluster forks with the supervisor's environment
  const server = await startServer(t, {
    args: ['--profile', 'safe', '--workers', '1'],
    env: { NODE_OPTIONS: `--import=${RECORDER}`, RECORD_LOADS_TO: file, PRESENTER_AI_PROVIDER: 'openai', PRESENTER_AI_BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  const status = await runCli(['status', '--json', '--data-dir', server.dataDir]);
  assert.equal(status.exitCode, 0, status.stderr);
  const { pid: supervisorPid, workers } = JSON.parse(status.stdout);
  // prom-client (with @opentelemetry/api) is loaded seconds after ready, or by a first scrape
  // (http/metrics.ts, worker/service.ts): not on the way to ready. ESM imports are recorded as
  // they happen, so this is what the worker had loaded when it was ready and asked for status.
  const early = recorded(file).get(workers[0].pid);
  assert.ok(early?.packages.has('fastify'), 'the recorder saw the worker start');
  assert.equal(early.packages.has('prom-client'), false, 'a worker loaded prom-client on its way to ready');
  const stop = await runCli(['stop', '--data-dir', server.dataDir]);
  assert.equal(stop.exitCode, 0, stop.stderr);
  const byPid = recorded(file); // complete once the processes have exited (CommonJS is listed at exit)
  const worker = byPid.get(workers[0].pid);
  assert.ok(worker, `the worker ${workers[0].pid} recorded nothing`);
  for (const needed of ['fastify', 'better-sqlite3', 'pino']) assert.ok(worker.packages.has(needed), `the worker runs without ${needed}?`);
  assert.ok(worker.modules.has('dist/feedback/openai.js'), 'the worker was given the openai provider');
  // the request validators come precompiled from the build (http/validators.ts): no Ajv compiler,
  // no ajv-formats, no serializer compiler (no route has a response schema; Fastify's own error
  // serializer, precompiled, does load fast-json-stringify's small runtime)
  const compilers = ['@fastify/ajv-compiler', 'ajv-formats', '@fastify/fast-json-stringify-compiler'];
  const unneeded = ['undici', 'pino-pretty', 'rotating-file-stream', 'yauzl', 'fast-xml-parser', 'pg', 'execa', 'chalk', 'commander', ...compilers].filter((p) => worker.packages.has(p));
  assert.deepEqual(unneeded, [], `a worker loaded ${unneeded.join(', ')}`);
  // the log file's writer is the supervisor
  assert.ok(byPid.get(supervisorPid)?.packages.has('rotating-file-stream'));
});
