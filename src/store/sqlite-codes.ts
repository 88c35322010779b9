// SQLite's result codes by number (sqlite.h), to give node:sqlite's errors, which carry only the
// number (`errcode`), the names better-sqlite3 puts in `code`: the store maps errors by name.
const PRIMARY: Record<number, string> = {
  1: 'ERROR', 2: 'INTERNAL', 3: 'PERM', 4: 'ABORT', 5: 'BUSY', 6: 'LOCKED', 7: 'NOMEM', 8: 'READONLY', 9: 'INTERRUPT',
  10: 'IOERR', 11: 'CORRUPT', 12: 'NOTFOUND', 13: 'FULL', 14: 'CANTOPEN', 15: 'PROTOCOL', 16: 'EMPTY', 17: 'SCHEMA',
  18: 'TOOBIG', 19: 'CONSTRAINT', 20: 'MISMATCH', 21: 'MISUSE', 22: 'NOLFS', 23: 'AUTH', 24: 'FORMAT', 25: 'RANGE',
  26: 'NOTADB', 27: 'NOTICE', 28: 'WARNING',
};

// Extended codes are primary | (n << 8); only those whose name the store or doctor tells apart.
const EXTENDED: Record<number, string> = {
  [5 | (1 << 8)]: 'BUSY_RECOVERY', [5 | (2 << 8)]: 'BUSY_SNAPSHOT', [5 | (3 << 8)]: 'BUSY_TIMEOUT',
  [6 | (1 << 8)]: 'LOCKED_SHAREDCACHE',
  [8 | (1 << 8)]: 'READONLY_RECOVERY', [8 | (2 << 8)]: 'READONLY_CANTLOCK', [8 | (3 << 8)]: 'READONLY_ROLLBACK',
  [8 | (4 << 8)]: 'READONLY_DBMOVED', [8 | (5 << 8)]: 'READONLY_CANTINIT', [8 | (6 << 8)]: 'READONLY_DIRECTORY',
  [10 | (1 << 8)]: 'IOERR_READ', [10 | (2 << 8)]: 'IOERR_SHORT_READ', [10 | (3 << 8)]: 'IOERR_WRITE', [10 | (4 << 8)]: 'IOERR_FSYNC',
  [10 | (5 << 8)]: 'IOERR_DIR_FSYNC', [10 | (6 << 8)]: 'IOERR_TRUNCATE', [10 | (7 << 8)]: 'IOERR_FSTAT', [10 | (8 << 8)]: 'IOERR_UNLOCK',
  [10 | (10 << 8)]: 'IOERR_DELETE', [10 | (13 << 8)]: 'IOERR_NOMEM', [10 | (15 << 8)]: 'IOERR_LOCK', [10 | (18 << 8)]: 'IOERR_SHMOPEN',
  [10 | (19 << 8)]: 'IOERR_SHMSIZE', [10 | (21 << 8)]: 'IOERR_SHMMAP', [10 | (22 << 8)]: 'IOERR_SEEK', [10 | (23 << 8)]: 'IOERR_DELETE_NOENT',
  [10 | (24 << 8)]: 'IOERR_MMAP', [11 | (1 << 8)]: 'CORRUPT_VTAB', [11 | (2 << 8)]: 'CORRUPT_SEQUENCE', [11 | (3 << 8)]: 'CORRUPT_INDEX',
  [14 | (1 << 8)]: 'CANTOPEN_NOTEMPDIR', [14 | (2 << 8)]: 'CANTOPEN_ISDIR', [14 | (3 << 8)]: 'CANTOPEN_FULLPATH',
  [19 | (1 << 8)]: 'CONSTRAINT_CHECK', [19 | (3 << 8)]: 'CONSTRAINT_FOREIGNKEY', [19 | (5 << 8)]: 'CONSTRAINT_NOTNULL',
  [19 | (6 << 8)]: 'CONSTRAINT_PRIMARYKEY', [19 | (8 << 8)]: 'CONSTRAINT_UNIQUE',
};

/** `SQLITE_BUSY`, `SQLITE_IOERR_WRITE`, …; an unknown extended code gets its primary name. */
export function sqliteCodeName(errcode: number): string {
  return `SQLITE_${EXTENDED[errcode] ?? PRIMARY[errcode & 0xff] ?? `UNKNOWN_${errcode}`}`;
}

/**
 * The SQLite result code name of an error from either driver, or undefined for errors that are
 * not SQLite's (better-sqlite3 puts the name in `code`; node:sqlite says ERR_SQLITE_ERROR there
 * and the number in `errcode`).
 */
export function sqliteErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; errcode?: unknown } | null | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  if (e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') return sqliteCodeName(e.errcode);
  return undefined;
}
