// The package as a user gets it: `npm pack`, the tarball installed without dev dependencies
// into a fresh prefix, `doctor` and `serve` run from an unrelated directory. Slow (npm builds
// better-sqlite3 from source: a minute or more), so not part of `npm test`: CI runs it with
// `npm run test:package`, beside clone.test.js.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { ROOT, assertNoNodeWarnings, freePort, sleep } from '../helpers/cli.js';
import { INSTALL_TIMEOUT, npm, tempDir, userEnv } from '../helpers/package.js';

async function packTarball(dest) {
  // prepack builds dist/ (tsc), then npm packs what package.json's `files` lists
  const r = await npm(['pack', '--json', '--pack-destination', dest], ROOT);
  assert.equal(r.exitCode, 0, r.all);
  // prepack's build output comes before the JSON on stdout
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[\n')));
  return { tarball: join(dest, info.filename), files: info.files.map((f) => f.path) };
}

// serve from `cwd` with its own data dir and port: /healthz, one talk through to its feedback, stop.
async function serveOnce(t, bin, cwd) {
  const dataDir = tempDir(t, 'presenter-pkg-data-');
  const port = await freePort();
  const child = execa(bin, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], { cwd, env: userEnv(), extendEnv: false, reject: false, all: true, stdin: 'ignore', forceKillAfterDelay: false });
  t.after(() => child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  let healthy = false;
  for (let i = 0; i < 300 && !healthy && child.exitCode === null; i++) {
    healthy = await fetch(`${base}/healthz`).then((res) => res.status === 200, () => false);
    if (!healthy) await sleep(100);
  }
  assert.ok(healthy, `serve did not answer /healthz:\n${child.exitCode === null ? '' : (await child).all}`);
  const created = await fetch(`${base}/api/presentations`, { method: 'POST', headers: { 'content-type': 'text/markdown' }, body: '# Packaging\n\nWhy a tarball install must work without dev dependencies.\n\n# Thanks\n\nQuestions?' });
  assert.equal(created.status, 201);
  const { id } = await created.json();
  let talk;
  for (let i = 0; i < 300; i++) {
    talk = await (await fetch(`${base}/api/presentations/${id}`)).json();
    if (talk.status === 'done' || talk.status === 'failed') break;
    await sleep(100);
  }
  assert.equal(talk.status, 'done', JSON.stringify(talk));
  assert.equal(talk.feedback.provider, 'local');
  child.kill('SIGTERM');
  const result = await child;
  assert.equal(result.exitCode, 0, result.all);
  assertNoNodeWarnings(result.all);
  assert.ok(existsSync(join(dataDir, 'presenter.db')));
}

// One tarball for the file: packing runs tsc, which takes a while on a busy machine.
const packDir = mkdtempSync(join(tmpdir(), 'presenter-pack-'));
after(() => rmSync(packDir, { recursive: true, force: true }));
let packed;
before(async () => {
  packed = await packTarball(packDir);
});

test('npm pack: the tarball holds the built CLI and what it reads at run time, not the sources', () => {
  const { files } = packed;
  for (const f of ['package.json', 'README.md', 'bin/presenter-serve.js', 'dist/cli/main.js', 'dist/doctor/probe-sqlite.js', 'profiles/safe.json', 'public/index.html']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball: ${files.join(', ')}`);
  }
  assert.deepEqual(files.filter((f) => /^(src|test|bench|scripts|\.ci|node_modules)\//.test(f)), []);
});

test('the tarball installed with --omit=dev into a fresh prefix: doctor and serve work from an unrelated directory', { timeout: INSTALL_TIMEOUT }, async (t) => {
  const { tarball } = packed;
  const prefix = tempDir(t, 'presenter-prefix-');
  const install = await npm(['install', '--prefix', prefix, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], prefix);
  assert.equal(install.exitCode, 0, install.all);
  const modules = join(prefix, 'node_modules');
  assert.ok(existsSync(join(modules, 'better-sqlite3')));
  for (const dev of ['typescript', 'eslint', 'playwright-core', 'pino-roll']) assert.ok(!existsSync(join(modules, dev)), `${dev} was installed`);

  const bin = join(modules, '.bin', process.platform === 'win32' ? 'presenter-serve.cmd' : 'presenter-serve');
  const elsewhere = tempDir(t, 'presenter-cwd-');
  const version = await execa(bin, ['--version'], { cwd: elsewhere, env: userEnv(), extendEnv: false });
  assert.equal(version.stdout, JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json").version)'], { cwd: ROOT, encoding: 'utf8' })));

  const doctor = await execa(bin, ['doctor', '--data-dir', join(elsewhere, 'data'), '--host', '127.0.0.1', '--port', String(await freePort())], { cwd: elsewhere, env: userEnv(), extendEnv: false, reject: false, timeout: 60_000 });
  assert.equal(doctor.exitCode, 0, doctor.stdout + doctor.stderr);
  assert.match(doctor.stdout, /^✓ SQLite driver: better-sqlite3 12\.\d+\.\d+ with SQLite .*; in use/m);
  assert.match(doctor.stdout, /^✓ SQLite features/m);
  assert.match(doctor.stdout, /^\d+ passed, \d+ warnings, 0 failed$/m);

  await serveOnce(t, bin, elsewhere);
});
