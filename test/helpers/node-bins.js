// Node binaries for the SQLite driver tests: this one, or the Node lines scripts/test-matrix.sh
// caches (~/.cache/presenter-serve/node-<major>), so that Node 20, which has no node:sqlite, can
// still run a server on node:sqlite; and an install of presenter-serve without better-sqlite3.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './cli.js';

const CACHE = process.env.PRESENTER_MATRIX_CACHE ?? join(homedir(), '.cache/presenter-serve');
const DRIVER_JS = pathToFileURL(join(ROOT, 'dist/store/sqlite-driver.js')).href;
const found = new Map();

/** A Node that can open a database with `driver` from this checkout, or why none can; this Node first. */
export function nodeFor(driver) {
  if (found.has(driver)) return found.get(driver);
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node'));
  const cached = [24, 22].map((major) => join(CACHE, `node-${major}`, 'bin', 'node'));
  const candidates = [...new Set([process.execPath, ...cached, ...onPath].filter((p) => existsSync(p)).map((p) => realpathSync(p)))];
  let answer = { skip: `no Node here can use ${driver}: ${driver === 'node:sqlite' ? `it needs Node 22.13+ (this is ${process.version}); \`bash scripts/test-matrix.sh 24\` caches one` : `better-sqlite3 does not load in ${candidates.join(', ')}`}` };
  for (const node of candidates) {
    const r = spawnSync(node, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(DRIVER_JS)}); const c = m.selectSqliteDriver(${JSON.stringify(driver)}); process.stdout.write(c.name);`], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    if (r.status === 0 && r.stdout === driver) {
      answer = { node, version: spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim(), skip: false };
      break;
    }
  }
  found.set(driver, answer);
  return answer;
}

/** A Node without node:sqlite (Node 20: this one, or one on PATH), or why there is none. */
export function nodeWithoutNodeSqlite() {
  const onPath = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node'));
  for (const node of [process.execPath, ...onPath]) {
    if (!existsSync(node)) continue;
    const r = spawnSync(node, ['-p', "process.versions.node + ' ' + Boolean(process.getBuiltinModule?.('node:sqlite'))"], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    const [version, has] = r.stdout.trim().split(' ');
    if (r.status === 0 && has === 'false' && Number(version?.split('.')[0]) >= 20) return { node, version: `v${version}`, skip: false };
  }
  return { skip: `every Node here has node:sqlite (this is ${process.version}): the no-driver case needs Node 20 on PATH` };
}

/**
 * A copy of this install without better-sqlite3, as npm leaves it when the optional dependency
 * could not be built: dist, bin, profiles and package.json copied, every other package linked.
 * Returns the path of its bin/presenter-serve.js.
 */
export function installWithoutBetterSqlite3(t) {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-no-bsql-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const entry of ['bin', 'dist', 'profiles', 'public', 'package.json']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name === 'better-sqlite3' || name.startsWith('.')) continue;
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
  return join(dir, 'bin', 'presenter-serve.js');
}
