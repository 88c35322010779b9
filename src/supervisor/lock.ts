import { join } from 'node:path';
import Database from 'better-sqlite3';

export const LOCK_FILE = 'presenter.lock';

export interface DataDirLock {
  release(): void;
}

// Node has no flock. An SQLite database opened with `locking_mode=EXCLUSIVE` keeps the exclusive
// lock it took for its first write until the connection closes: an OS-level lock (fcntl on Unix,
// LockFileEx on Windows) that the kernel releases when the process dies, even by SIGKILL. So the
// lock, not the pid file, decides who owns a data dir: no check-then-write race, no stale state.
export function acquireDataDirLock(dataDir: string, waitMs = 1000): DataDirLock | undefined {
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: waitMs });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw error;
  }
  return { release: () => db.close() };
}

/** Whether a server holds the data dir's lock (a probe: takes a shared lock for an instant). */
export function isDataDirLocked(dataDir: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(join(dataDir, LOCK_FILE), { timeout: 0, fileMustExist: true, readonly: true });
  } catch {
    return false;
  }
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    db.close();
  }
}
