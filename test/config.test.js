import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectPlatform } from '../dist/config/platform.js';
import { resolveSettings } from '../dist/config/resolve.js';
import { ConfigError } from '../dist/errors.js';
import { makeDataDir, runCli } from './helpers/cli.js';

const ctx = (over = {}) => ({ platform: 'linux', env: {}, cwd: tmpdir(), readSystemFile: () => undefined, ...over });

test('auto picks windows on win32, safe on linux, darwin and WSL, and says why', () => {
  assert.deepEqual(resolveSettings({}, ctx({ platform: 'win32' })).profile, 'windows');
  assert.equal(resolveSettings({}, ctx({ platform: 'win32' })).fork, false);
  assert.match(resolveSettings({}, ctx({ platform: 'win32' })).profileReason, /^auto: platform is win32/);
  assert.equal(resolveSettings({}, ctx({ platform: 'darwin' })).profile, 'safe');
  const linux = resolveSettings({}, ctx());
  assert.equal(linux.profile, 'safe');
  assert.equal(linux.profileReason, 'auto: platform is linux');
  const wsl = detectPlatform(ctx({ readSystemFile: () => 'Linux version 5.15.90.1-microsoft-standard-WSL2' }));
  assert.deepEqual(wsl, { profile: 'safe', reason: 'platform is linux under WSL (treated as Linux)', wsl: true });
  assert.equal(detectPlatform(ctx({ env: { WSL_DISTRO_NAME: 'Ubuntu' } })).wsl, true);
});

test('profiles set workers and threads as DESIGN.md says', () => {
  const safe = resolveSettings({ profile: 'safe' }, ctx());
  assert.deepEqual([safe.workers, safe.threads, safe.fork, safe.host, safe.port], [1, 4, true, '0.0.0.0', 5000]);
  const advanced = resolveSettings({ profile: 'advanced' }, ctx());
  assert.deepEqual([advanced.workers, advanced.threads, advanced.fork], [2, 2, true]);
  const windows = resolveSettings({ profile: 'windows' }, ctx({ platform: 'linux' }));
  assert.deepEqual([windows.workers, windows.threads, windows.fork], [1, 4, false]);
});

test('precedence: defaults < profile file < environment < flags', () => {
  const env = { PRESENTER_PORT: '6000', PRESENTER_HOST: '127.0.0.2', PRESENTER_DATA_DIR: '/var/lib/presenter' };
  const fromEnv = resolveSettings({ profile: 'advanced' }, ctx({ env }));
  assert.deepEqual([fromEnv.port, fromEnv.host, fromEnv.dataDir, fromEnv.workers], [6000, '127.0.0.2', '/var/lib/presenter', 2]);
  const fromFlags = resolveSettings({ profile: 'advanced', port: 7000, workers: 3, threads: 8, gracefulTimeout: 5 }, ctx({ env }));
  assert.deepEqual([fromFlags.port, fromFlags.workers, fromFlags.threads, fromFlags.gracefulTimeoutMs], [7000, 3, 8, 5000]);
  assert.equal(resolveSettings({}, ctx({ env: { PRESENTER_PROFILE: 'advanced' } })).profile, 'advanced');
});

test('an invalid profile names the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-profile-'));
  const cases = [
    [{ workers: 0 }, /field `workers` must be a whole number from 1 to 64, got `0` \(number\)/],
    [{ workers: '2' }, /field `workers` must be a whole number from 1 to 64, got `"2"` \(string\)/],
    [{ wrokers: 2 }, /unknown field `wrokers`/],
    [[1], /must be a JSON object/],
  ];
  for (const [value, message] of cases) {
    const file = join(dir, 'custom.json');
    writeFileSync(file, JSON.stringify(value));
    assert.throws(() => resolveSettings({ profile: file }, ctx()), (error) => error instanceof ConfigError && error.exitCode === 2 && error.message.includes(file) && message.test(error.message));
  }
  writeFileSync(join(dir, 'broken.json'), '{"workers": 2,');
  assert.throws(() => resolveSettings({ profile: join(dir, 'broken.json') }, ctx()), /is not valid JSON/);
  assert.throws(() => resolveSettings({ profile: 'fast' }, ctx()), /Profile fast: .*fast does not exist/);
});

test('contradictions fail early: --workers 2 with the one-process windows profile', () => {
  assert.throws(() => resolveSettings({ profile: 'windows', workers: 2 }, ctx()), (e) => e.exitCode === 2 && /fork: false/.test(e.message));
  assert.throws(() => resolveSettings({}, ctx({ env: { PRESENTER_PORT: 'eighty' } })), /PRESENTER_PORT to be a whole number/);
  assert.throws(() => resolveSettings({}, ctx({ env: { PRESENTER_AI_PROVIDER: 'openai' } })), /PRESENTER_AI_BASE_URL is not set/);
});

test('CLI: an invalid profile file exits 2 naming file and field, without a stack trace', async (t) => {
  const dir = makeDataDir(t);
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ workers: 0 }));
  const result = await runCli(['serve', '--profile', file, '--data-dir', dir]);
  assert.equal(result.exitCode, 2);
  assert.equal(result.stderr.split('\n')[0], `error: Profile ${file}: field \`workers\` must be a whole number from 1 to 64, got \`0\` (number).`);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
});

test('CLI: bad flags exit 2', async () => {
  const result = await runCli(['serve', '--port', 'abc']);
  assert.equal(result.exitCode, 2);
  assert.match(result.stderr, /Expected --port to be a whole number from 0 to 65535, got `abc`/);
  const unknown = await runCli(['serve', '--wrokers', '2']);
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.stderr, /unknown option '--wrokers'/);
});

test('CLI: profiles --json lists the three built-in profiles', async () => {
  const result = await runCli(['profiles', '--json']);
  assert.equal(result.exitCode, 0);
  const { profiles, auto } = JSON.parse(result.stdout);
  assert.deepEqual(profiles.map((p) => [p.name, p.workers, p.threads, p.fork]), [['advanced', 2, 2, true], ['safe', 1, 4, true], ['windows', 1, 4, false]]);
  assert.equal(auto.profile, 'safe');
});
