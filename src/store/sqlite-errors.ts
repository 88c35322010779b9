// SQLite's result codes as the store-independent StoreError (store/types.ts), so that HTTP and
// the job runner never see a driver's error (better-sqlite3's or node:sqlite's). `sticky` errors leave the store unusable
// until the server is restarted (a damaged file, an I/O error, a file that is no longer there).
import { sqliteErrorCode } from './sqlite-codes.js';
import { StoreError } from './types.js';

export interface Translated {
  error: StoreError;
  sticky: boolean;
}

export function translateSqliteError(error: unknown, file: string): Translated | undefined {
  const code = sqliteErrorCode(error);
  if (code === undefined) return undefined;
  const said = (error as Error).message;
  if (code.startsWith('SQLITE_FULL')) {
    return { sticky: false, error: new StoreError('STORAGE_FULL', `the disk holding ${file} is full (${code}); free space on it`, { cause: error }) };
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return {
      sticky: true,
      error: new StoreError('STORE_CORRUPT', `the database file ${file} is damaged (${code}: ${said}); restore it from a backup or run \`sqlite3 ${file} ".recover"\``, { cause: error }),
    };
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY_DBMOVED' || code.startsWith('SQLITE_CANTOPEN')) {
    return { sticky: true, error: new StoreError('STORE_UNAVAILABLE', `the database file ${file} cannot be read or written (${code}: ${said})`, { cause: error }) };
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return { sticky: false, error: new StoreError('STORE_UNAVAILABLE', `the database ${file} stayed locked by another process (${code})`, { retryAfterSeconds: 5, cause: error }) };
  }
  return undefined;
}
