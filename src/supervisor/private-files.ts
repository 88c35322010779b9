import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Talks and their ids are private: whatever the umask the server was started with, the data dir
// is 0700 and every file in it (database, WAL, logs, pid file, lock, socket) is 0600.
// The umask covers what is created later (SQLite's -wal/-shm, rotated logs, workers inherit it);
// chmod fixes what an earlier version or another umask left behind.
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const DATA_FILES = ['presenter.db', 'presenter.db-wal', 'presenter.db-shm', 'presenter.db-journal', 'presenter.pid', 'presenter.lock', 'presenter.lock-journal', 'presenter.sock'];

/** From here on, what this process and its workers create is private (set before the data dir is made). */
export function privateUmask(): void {
  if (process.platform !== 'win32') process.umask(0o077);
}

/** Sets the umask and the modes of an existing data dir (fs/ensure-dir.ts creates it first). */
export function restrictFileModes(dataDir: string): void {
  if (process.platform === 'win32') return; // NTFS ACLs, not modes: the user's profile dir is private already
  privateUmask();
  chmodSync(dataDir, PRIVATE_DIR_MODE);
  for (const name of DATA_FILES) {
    const file = join(dataDir, name);
    if (existsSync(file)) chmodSync(file, PRIVATE_FILE_MODE);
  }
  const logs = join(dataDir, 'logs');
  if (existsSync(logs)) {
    chmodSync(logs, PRIVATE_DIR_MODE);
    for (const name of readdirSync(logs)) chmodSync(join(logs, name), PRIVATE_FILE_MODE);
  }
}
