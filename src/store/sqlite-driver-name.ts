// The SQLite driver setting alone, without the drivers: config and the control commands read it,
// and must not load what opening a database needs (test/cli-loads.test.js).
import { ConfigError } from '../errors.js';

export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite';
export type SqliteDriverPreference = 'auto' | SqliteDriverName;
export const SQLITE_DRIVERS: readonly SqliteDriverName[] = ['better-sqlite3', 'node:sqlite'];
export const SQLITE_DRIVER_ENV = 'PRESENTER_SQLITE_DRIVER';

/** Reads PRESENTER_SQLITE_DRIVER; an unknown value is a configuration error (exit 2). */
export function parseDriverPreference(value: string | undefined): SqliteDriverPreference {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if ((SQLITE_DRIVERS as readonly string[]).includes(value)) return value as SqliteDriverName;
  throw new ConfigError('BAD_SQLITE_DRIVER', `${SQLITE_DRIVER_ENV} must be auto, better-sqlite3 or node:sqlite, got \`${value}\`.`, {
    fix: `Unset ${SQLITE_DRIVER_ENV} (auto: better-sqlite3 when it loads, else node:sqlite), or set it to one of those three.`,
  });
}
