// A real full file system for the disk-full tests: a 2 MB tmpfs (needs root, or CAP_SYS_ADMIN),
// and a filler that takes its last byte.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a fresh 2 MB tmpfs: `{ dir }`, or `{ skip }` with the reason it cannot be done here. */
export function mountTmpfs() {
  const dir = mkdtempSync(join(tmpdir(), 'presenter-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (error) {
    rmdirSync(dir);
    return { skip: `cannot mount a tmpfs here (${String(error.stderr || error.message).trim().split('\n')[0]}): run as root to test a full disk` };
  }
}

/** The reason a tmpfs cannot be mounted here, or false. */
export function tmpfsSkip() {
  const probe = mountTmpfs();
  if (probe.skip) return probe.skip;
  execFileSync('umount', [probe.dir]);
  rmdirSync(probe.dir);
  return false;
}

/** A tmpfs for this test, unmounted after it. */
export function tmpfsFor(t) {
  const { dir, skip } = mountTmpfs();
  if (skip) throw new Error(skip);
  t.after(() => {
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  });
  return dir;
}

/** Writes a file until the file system has no byte left; returns its path. */
export function fill(dir) {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  try {
    for (const size of [256 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if (error.code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
