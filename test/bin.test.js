// The entry points a user meets before dist/ exists: the bin in a clone that was not built, and
// `prepare` under `npm ci --omit=dev` (no TypeScript). The real installs are in test/package/.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ROOT, cleanEnv, freePort, makeDataDir, sleep } from './helpers/cli.js';
import { notPosix } from './helpers/skip.js';

// A copy of what a fresh clone holds at the top (package.json, bin/, scripts/), without dist/ and node_modules/.
function bareCopy(t) {
  const dir = makeDataDir(t, 'presenter-bare-');
  for (const f of ['package.json', 'bin', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  return dir;
}
const run = (file, args, cwd) => execa(process.execPath, [file, ...args], { cwd, env: cleanEnv(), extendEnv: false, reject: false, timeout: 30_000, stdin: 'ignore' });

test('the bin without dist/: one line with the fix, exit 2, no stack', async (t) => {
  const dir = bareCopy(t);
  for (const args of [['doctor'], ['serve', '--port', '0'], ['--version'], []]) {
    const r = await run(join(dir, 'bin/presenter-serve.js'), args, makeDataDir(t));
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, 'presenter-serve is not built: run npm run build (or npm ci in a clone)');
    assert.equal(r.stdout, '');
  }
});

test('the bin with a half-built dist/ (a module of ours missing): the same line', async (t) => {
  const dir = bareCopy(t);
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  writeFileSync(join(dir, 'dist/cli/main.js'), "export { main } from './gone.js';\n");
  const r = await run(join(dir, 'bin/presenter-serve.js'), ['doctor'], dir);
  assert.equal(r.exitCode, 2);
  assert.equal(r.stderr, 'presenter-serve is not built: run npm run build (or npm ci in a clone)');
});

test('the bin with a missing dependency keeps the stack: that is not the user\'s build to fix', async (t) => {
  const dir = bareCopy(t);
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  writeFileSync(join(dir, 'dist/cli/main.js'), "import 'no-such-package-presenter';\nexport const main = () => {};\n");
  const r = await run(join(dir, 'bin/presenter-serve.js'), ['doctor'], dir);
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /ERR_MODULE_NOT_FOUND/);
  assert.match(r.stderr, /no-such-package-presenter/);
});

test('prepare without TypeScript (npm ci --omit=dev in a clone): exit 0, says how to build; with dist/ it keeps it', async (t) => {
  const dir = bareCopy(t);
  const bare = await run(join(dir, 'scripts/prepare.js'), [], dir);
  assert.equal(bare.exitCode, 0, bare.stderr);
  assert.equal(bare.stderr, 'presenter-serve: TypeScript is not installed (dev dependencies omitted), so dist/ was not built. For a production install from a clone run `npm ci && npm prune --omit=dev`, or install the tarball of `npm pack`.');
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  writeFileSync(join(dir, 'dist/cli/main.js'), '');
  const built = await run(join(dir, 'scripts/prepare.js'), [], dir);
  assert.equal(built.exitCode, 0);
  assert.match(built.stderr, /TypeScript is not installed .*; using the dist\/ built earlier\./);
});

// depcheck's question, answered by grep: a dependency nothing imports only costs install time.
test('every runtime dependency is imported by the built code', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const code = readdirSync(join(ROOT, 'dist'), { recursive: true })
    // .cjs: the request validators the build generates (dist/http/validators/) require Ajv's runtime
    .filter((f) => f.endsWith('.js') || f.endsWith('.cjs'))
    .map((f) => readFileSync(join(ROOT, 'dist', f), 'utf8'))
    .join('\n');
  const unused = Object.keys(pkg.dependencies).filter((name) => !new RegExp(`(from |import\\(|require\\()['"]${name}(/[^'"]*)?['"]`).test(code));
  assert.deepEqual(unused, []);
});

// npm runs the script through `sh -c`; a terminal's Ctrl-C reaches the whole process group,
// so the test sends SIGINT to the group (a SIGTERM to npm alone would stop sh but not serve).
test('npm start (the README\'s command) serves with the default profile; Ctrl-C stops it cleanly', { skip: notPosix }, async (t) => {
  const dataDir = makeDataDir(t);
  const port = await freePort();
  const child = execa('npm', ['start', '--', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, env: cleanEnv(), extendEnv: false, reject: false, all: true, stdin: 'ignore', detached: true });
  t.after(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });
  let ready = false;
  for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await sleep(100);
  }
  assert.ok(ready, `npm start did not serve:\n${child.exitCode === null ? '' : (await child).all}`);
  process.kill(-child.pid, 'SIGINT');
  await child;
  for (let i = 0; i < 300 && existsSync(join(dataDir, 'presenter.pid')); i++) await sleep(100);
  assert.ok(!existsSync(join(dataDir, 'presenter.pid')), 'serve is still running after Ctrl-C');
  const log = readFileSync(join(dataDir, 'logs/presenter.log'), 'utf8');
  const started = log.split('\n').find((line) => line.includes('"event":"supervisor.started"'));
  assert.match(started ?? '', /"reason":"auto: /, 'the default profile is auto');
  assert.match(log, /"event":"supervisor\.stopped"/);
});
