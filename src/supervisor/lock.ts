import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { sqliteErrorCode } from '../store/sqlite-codes.js';
import { openSqlite, type SqliteDatabase, type SqliteDriverName } from '../store/sqlite-driver.js';

export const LOCK_FILE = 'presenter.lock';

export interface DataDirLock {
  release(): void;
}

// Node has no flock. An SQLite database opened with `locking_mode=EXCLUSIVE` keeps the exclusive
// lock it took for its first write until the connection closes: an OS-level lock (fcntl on Unix,
// LockFileEx on Windows) that the kernel releases when the process dies, even by SIGKILL. So the
// lock, not the pid file, decides who owns a data dir: no check-then-write race, no stale state.
export function acquireDataDirLock(dataDir: string, waitMs = 1000, driver?: SqliteDriverName): DataDirLock | undefined {
  const db = openSqlite(join(dataDir, LOCK_FILE), { timeout: waitMs, ...(driver ? { driver } : {}) });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    db.close();
    if (sqliteErrorCode(error) === 'SQLITE_BUSY') return undefined;
    throw error;
  }
  return { release: () => db.close() };
}

/** Whether a server holds the data dir's lock (a probe: takes a shared lock for an instant). */
export function isDataDirLocked(dataDir: string): boolean {
  let db: SqliteDatabase;
  try {
    db = openSqlite(join(dataDir, LOCK_FILE), { timeout: 0, fileMustExist: true, readonly: true });
  } catch (error) {
    if (error instanceof ConfigError) throw error; // no SQLite driver at all: say what to install
    return false;
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    return sqliteErrorCode(error) === 'SQLITE_BUSY';
  } finally {
    db.close();
  }
}
