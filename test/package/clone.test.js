// A clone installed as for production with `npm ci --omit=dev`: no TypeScript, so `prepare`
// cannot build; the install must still succeed and say what to do, and the bin must say it in
// one line instead of a module-not-found stack. Slow (better-sqlite3 builds from source), so it
// runs with `npm run test:package`, not `npm test`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { ROOT } from '../helpers/cli.js';
import { INSTALL_TIMEOUT, npm, tempDir, userEnv } from '../helpers/package.js';

test('a clone installed with npm ci --omit=dev: the install succeeds, says how to build, and the bin says it in one line', { timeout: INSTALL_TIMEOUT }, async (t) => {
  const clone = tempDir(t, 'presenter-clone-');
  // The repo as tracked plus new files, without node_modules and dist: what `git clone` gives.
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const f of files) {
    if (!f || /^(node_modules|dist)(\/|$)/.test(f) || !existsSync(join(ROOT, f))) continue;
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    cpSync(join(ROOT, f), join(clone, f));
  }
  const install = await npm(['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], clone);
  assert.equal(install.exitCode, 0, install.all);
  assert.match(install.all, /TypeScript is not installed \(dev dependencies omitted\), so dist\/ was not built\. For a production install from a clone run `npm ci && npm prune --omit=dev`/);
  const run = await execa(process.execPath, [join(clone, 'bin/presenter-serve.js'), 'doctor'], { cwd: tempDir(t, 'presenter-cwd-'), env: userEnv(), extendEnv: false, reject: false, timeout: 30_000 });
  assert.equal(run.exitCode, 2);
  assert.equal(run.stderr, 'presenter-serve is not built: run npm run build (or npm ci in a clone)');
  assert.equal(run.stdout, '');
});
