// mkdir -p that always returns: under /proc Node's recursive mkdir never does.
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ensureDir, ensureDirSync, refusingParent } from '../dist/fs/ensure-dir.js';
import { makeDataDir } from './helpers/cli.js';
import { notLinux } from './helpers/skip.js';


for (const [name, fn] of [['ensureDir', ensureDir], ['ensureDirSync', async (p) => ensureDirSync(p)]]) {
  test(`${name}: creates every missing level, says whether it created, accepts an existing dir`, async (t) => {
    const base = makeDataDir(t);
    const dir = join(base, 'a', 'b', 'c');
    assert.equal(await fn(dir), true);
    assert.ok(statSync(dir).isDirectory());
    assert.equal(await fn(dir), false);
    assert.equal(await fn(`${dir}/`), false);
    assert.equal(await fn(relative(process.cwd(), join(base, 'a', 'rel'))), true);
  });

  test(`${name}: under /proc it fails with ENOENT naming the parent, instead of spinning`, { skip: notLinux }, async () => {
    for (const [dir, parent] of [['/proc/x', '/proc'], ['/proc/x/y/z', '/proc'], ['/proc/self/x', '/proc/self']]) {
      const error = await fn(dir).then(() => undefined, (e) => e);
      assert.equal(error?.code, 'ENOENT', `${dir}: ${error}`);
      assert.equal(refusingParent(error), parent);
      assert.match(error.message, new RegExp(`\\(${parent} does not accept new directories\\)$`));
      assert.ok(!existsSync(dir));
    }
  });

  test(`${name}: a file in the way is EEXIST (the dir itself) or ENOTDIR (a parent)`, async (t) => {
    const file = join(makeDataDir(t), 'file');
    writeFileSync(file, 'x');
    await assert.rejects(fn(file), { code: 'EEXIST' });
    await assert.rejects(fn(join(file, 'a', 'b')), { code: 'ENOTDIR' });
    assert.equal(refusingParent(await fn(join(file, 'a')).catch((e) => e)), undefined);
  });
}

test('ensureDir: twenty concurrent calls for one nested path all succeed and the dir exists', async (t) => {
  const dir = join(makeDataDir(t), 'x', 'y', 'z');
  const created = await Promise.all(Array.from({ length: 20 }, () => ensureDir(dir)));
  assert.ok(statSync(dir).isDirectory());
  assert.ok(created.includes(true));
});
