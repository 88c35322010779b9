import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFsType, mountFor, windowsShare } from '../dist/doctor/check-fs-type.js';
import { realFs } from '../dist/doctor/env.js';
import { doctorEnv, settings } from './helpers/doctor.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sdb rw',
  '45 22 0:40 / /mnt/c rw,noatime - 9p drvfs rw,dirsync,aname=drvfs;path=C:\\;uid=1000',
  '46 22 0:41 / /srv/share rw - nfs4 fileserver:/export rw,vers=4.2',
  '47 22 0:42 / /home/me/remote rw - fuse.sshfs me@host:/data rw',
  '48 22 0:43 / /mnt/my\\040disk rw - ext4 /dev/sdc rw',
  '49 22 0:44 / /srv/share/local rw - xfs /dev/sdd rw',
].join('\n');

const linux = (dataDir, mountinfo = MOUNTINFO, fs = {}) =>
  doctorEnv({ platform: 'linux', settings: settings({ dataDir }), readSystemFile: (p) => (p === '/proc/self/mountinfo' ? mountinfo : undefined), fs: { ...realFs, realpath: async (p) => p, ...fs } });

test('9p (WSL drvfs /mnt/c) warns with the local-disk fix', async () => {
  const r = await checkFsType(linux('/mnt/c/Users/me/presenter/data'));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /is on 9p \(mounted at \/mnt\/c from drvfs\), a 9p \(WSL2 drvfs such as \/mnt\/c, or a VM host share\) file system: SQLite WAL needs shared memory/);
  assert.match(r.fix, /Put PRESENTER_DATA_DIR .* on a local disk/);
});

test('nfs and sshfs warn; a local mount inside an nfs mount (longest prefix) passes', async () => {
  assert.match((await checkFsType(linux('/srv/share/data'))).detail, /on nfs4 .*NFS file system/);
  assert.match((await checkFsType(linux('/home/me/remote/data'))).detail, /on fuse\.sshfs .*sshfs file system/);
  const local = await checkFsType(linux('/srv/share/local/data'));
  assert.equal(local.status, 'pass');
  assert.match(local.detail, /on xfs \(mounted at \/srv\/share\/local/);
});

test('ext4 passes; octal escapes in mount points are understood', async () => {
  assert.equal((await checkFsType(linux('/var/lib/presenter'))).status, 'pass');
  assert.deepEqual(mountFor(MOUNTINFO, '/mnt/my disk/data'), { mountPoint: '/mnt/my disk', fsType: 'ext4', source: '/dev/sdc' });
  assert.equal(mountFor(MOUNTINFO, '/mnt/cdrom').mountPoint, '/', '/mnt/c must not match /mnt/cdrom');
});

test('without mountinfo the statfs magic number is used (9p = 0x01021997)', async () => {
  const r = await checkFsType(linux('/data', '', { statfs: async () => ({ freeBytes: 1, type: 0x01021997 }) }));
  assert.equal(r.status, 'warn');
  assert.match(r.detail, /is on 9p/);
});

test('other platforms are not inspected', async () => {
  const r = await checkFsType(doctorEnv({ platform: 'darwin' }));
  assert.equal(r.status, 'pass');
  assert.match(r.detail, /Not inspected on darwin/);
});

test('on win32 a UNC data dir (a network share) warns; drive letters and \\\\?\\C: device paths are not inspected', async () => {
  const check = (dataDir, databaseUrl) => checkFsType(doctorEnv({ platform: 'win32', settings: settings({ dataDir, databaseUrl }) }));
  for (const [dir, share] of [
    ['\\\\files01\\presenter\\data', '\\\\files01\\presenter'],
    ['//files01/presenter/data', '\\\\files01\\presenter'],
    ['\\\\?\\UNC\\files01\\presenter\\data', '\\\\files01\\presenter'],
  ]) {
    const r = await check(dir);
    assert.equal(r.status, 'warn', dir);
    assert.equal(r.detail, `${dir} is on the network share ${share}: SQLite WAL needs shared memory and byte-range locks on a local disk, so writes can fail or the database can be corrupted there.`);
    assert.match(r.fix, /C:\\ProgramData\\presenter-serve/);
  }
  assert.match((await check('\\\\files01\\presenter\\data', 'postgres://u@db/p')).detail, /the data dir's lock \(presenter\.lock\) needs byte-range locks/);
  for (const dir of ['C:\\ProgramData\\presenter-serve', '\\\\?\\C:\\data', '\\\\.\\pipe\\x', '\\\\files01', 'Z:\\tmp\\data']) {
    const r = await check(dir);
    assert.equal(r.status, 'pass', dir);
    assert.equal(r.detail, `Not inspected on win32; keep ${dir} on a local disk (not a network share or a mapped network drive).`);
  }
  assert.equal(windowsShare('\\\\server\\'), undefined, 'a server without a share');
});
