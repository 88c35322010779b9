import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { ensureDirSync, refusingParent } from '../fs/ensure-dir.js';
import { prepareControlPath } from '../supervisor/control.js';
import type { SqliteDriverName } from '../store/sqlite-driver.js';
import { acquireDataDirLock, LOCK_FILE, type DataDirLock } from '../supervisor/lock.js';
import { isAlive, pidFromFile, writePidFile } from '../supervisor/pidfile.js';
import { privateUmask, restrictFileModes } from '../supervisor/private-files.js';

/**
 * The data dir exists (or is created), is private and writable, and is ours: its lock is held
 * for the life of this process, so a second server on it exits 2. Writes the pid file.
 */
export async function claimDataDir(dataDir: string, driver?: SqliteDriverName): Promise<{ lock: DataDirLock; stalePid?: number | undefined }> {
  const fix = 'Choose a writable directory on a local disk with --data-dir or PRESENTER_DATA_DIR (e.g. --data-dir ./data), or fix its owner and permissions.';
  try {
    privateUmask();
    ensureDirSync(dataDir);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const parent = refusingParent(e);
    const why = parent ? `${parent} does not accept new directories (a virtual file system such as /proc or /sys)` : e.code === 'ENOTDIR' || e.code === 'EEXIST' ? `a file is in the way (${e.code})` : (e.code ?? e.message);
    throw new ConfigError('DATA_DIR_NOT_WRITABLE', `The data dir ${dataDir} cannot be created: ${why}.`, { fix });
  }
  try {
    restrictFileModes(dataDir);
    accessSync(dataDir, constants.W_OK);
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    throw new ConfigError('DATA_DIR_NOT_WRITABLE', `The data dir ${dataDir} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { fix });
  }
  const lock = acquireDataDirLock(dataDir, undefined, driver);
  if (!lock) {
    const pid = await holderPid(dataDir);
    throw new ConfigError('ALREADY_RUNNING', `presenter-serve is already running on ${dataDir} (${pid === undefined ? `pid unknown: it holds ${join(dataDir, LOCK_FILE)}` : `pid ${pid}`}).`, {
      fix: 'Use `presenter-serve status`, `reload` or `stop`, or give this server another --data-dir.',
    });
  }
  // We hold the lock: a pid file naming another pid is a dead server's (or a reused pid's).
  const previous = pidFromFile(dataDir);
  writePidFile(dataDir, process.pid);
  prepareControlPath(dataDir);
  return { lock, stalePid: previous !== undefined && previous !== process.pid ? previous : undefined };
}

// The lock's holder writes the pid file right after taking the lock: give it a moment.
async function holderPid(dataDir: string): Promise<number | undefined> {
  for (let i = 0; i < 20; i++) {
    const pid = pidFromFile(dataDir);
    if (pid !== undefined && pid !== process.pid && isAlive(pid)) return pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Fails with exit 2 naming the port when something else listens there. */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        reject(
          new ConfigError('PORT_IN_USE', `Port ${port} on ${host} is already in use.`, {
            fix: `Stop what holds it (\`ss -ltnp 'sport = :${port}'\` or \`lsof -i :${port}\` shows it), or choose another port with --port or PRESENTER_PORT.`,
          }),
        );
      } else if (error.code === 'EACCES') {
        reject(new ConfigError('PORT_FORBIDDEN', `No permission to listen on ${host}:${port}.`, { fix: 'Use a port above 1024 (--port 5000), or run with the capability to bind low ports.' }));
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(new ConfigError('BAD_HOST', `Cannot listen on host ${host}: no such address on this machine (${error.code}).`, { fix: 'Use 0.0.0.0 (all interfaces), 127.0.0.1, or an address this machine has.' }));
      } else {
        reject(error);
      }
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
