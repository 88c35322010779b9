// Helpers for the package tests (test/package/): a user's shell environment and npm.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** npm builds better-sqlite3 from source here: a minute idle, several on a busy machine. */
export const INSTALL_TIMEOUT = 10 * 60_000;

/** A fresh directory, removed when the test (or, given `{ after }`, the file) ends. */
export function tempDir(t, prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The environment of a user's shell: none of the npm_* variables `npm run` sets for its scripts. */
export function userEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('npm_') && !k.startsWith('PRESENTER_')) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

export const npm = (args, cwd, timeout = INSTALL_TIMEOUT) => execa(NPM, args, { cwd, env: userEnv(), extendEnv: false, reject: false, timeout, all: true, stdin: 'ignore' });
