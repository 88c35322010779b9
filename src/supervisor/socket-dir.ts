import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

export const SOCKET_FILE = 'presenter.sock';

// A data dir path too long for a Unix socket puts the socket in a per-user directory under the
// temp dir. A fixed name in a world-writable /tmp can be squatted by another user, so the
// directory must be ours, a real directory, and closed to everyone else; otherwise refuse.
export function privateSocketDir(): string {
  return join(tmpdir(), `presenter-serve-${process.getuid?.() ?? 'user'}`);
}

export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError('SOCKET_DIR_UNUSABLE', `Cannot create the control socket directory ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { fix: FIX(dir) });
    }
  }
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  let problem: string | undefined;
  if (!stat.isDirectory()) problem = stat.isSymbolicLink() ? 'is a symbolic link' : 'is not a directory';
  else if (uid !== undefined && stat.uid !== uid) problem = `belongs to uid ${stat.uid}, not to you (uid ${uid})`;
  else if ((stat.mode & 0o077) !== 0) problem = `is open to other users (mode ${(stat.mode & 0o777).toString(8)})`;
  if (problem) throw new ConfigError('SOCKET_DIR_UNSAFE', `The control socket directory ${dir} ${problem}: another user could intercept \`stop\` and \`reload\`.`, { fix: FIX(dir) });
}

const FIX = (dir: string) => `Remove ${dir} if nobody uses it, set TMPDIR to a directory of your own, or use a shorter --data-dir path (under ~90 bytes) so the socket lives in the data dir.`;
