// Run as a child by doctor (`node dist/doctor/probe-sqlite.js <data-dir>`): loading a native
// module can segfault or fail on an ABI mismatch, and doctor must live to report either. Then
// picks the SQLite driver as serve would (better-sqlite3, else node:sqlite) and tries the
// features with it.
// Prints one JSON object per line, so that what happened before a crash is still known.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sqliteErrorCode } from '../store/sqlite-codes.js';
import {
  driverFacts,
  openSqlite,
  parseDriverPreference,
  selectSqliteDriver,
  SQLITE_DRIVER_ENV,
  type SqliteDatabase,
  type SqliteDriverChoice,
  type SqliteDriverPreference,
} from '../store/sqlite-driver.js';

const require = createRequire(import.meta.url);
const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};
const describe = (error: unknown): { code?: string; message: string } => ({
  code: sqliteErrorCode(error) ?? (error as { code?: string }).code,
  message: error instanceof Error ? error.message : String(error),
});

function main(dataDir: string | undefined): number {
  let preference: SqliteDriverPreference;
  try {
    preference = parseDriverPreference(process.env[SQLITE_DRIVER_ENV]);
  } catch (error) {
    emit({ stage: 'no-driver', error: { message: (error as Error).message, fix: (error as { fix?: string }).fix } });
    return 1;
  }
  // better-sqlite3 first, step by step, so that a crash while loading it still names it.
  if (preference !== 'node:sqlite') {
    try {
      const version = (require('better-sqlite3/package.json') as { version: string }).version;
      emit({ stage: 'resolved', version, path: require.resolve('better-sqlite3') });
    } catch (error) {
      emit({ stage: 'resolve-failed', error: describe(error) });
    }
  }
  const facts = driverFacts(preference);
  const better = facts.betterSqlite3;
  if (better.sqlite) emit({ stage: 'loaded', version: better.version, sqlite: better.sqlite, node: process.versions.node, modules: process.versions.modules });
  else if (better.version !== undefined) emit({ stage: 'load-failed', version: better.version, error: better.error ?? { message: better.skipped ?? 'not loaded' } });
  emit({ stage: 'node-sqlite', ...facts.nodeSqlite });
  let choice: SqliteDriverChoice;
  try {
    choice = selectSqliteDriver(preference);
  } catch (error) {
    emit({ stage: 'no-driver', error: { message: (error as Error).message, fix: (error as { fix?: string }).fix } });
    return 1;
  }
  const sqlite = choice.name === 'better-sqlite3' ? better.sqlite : facts.nodeSqlite.sqlite;
  emit({ stage: 'driver', name: choice.name, reason: choice.reason, sqlite });
  if (dataDir === undefined) return 0;

  const file = join(dataDir, `.doctor-probe-${process.pid}.db`);
  const steps: { name: string; ok: boolean; error?: string; value?: unknown }[] = [];
  let failed = false;
  const step = (name: string, fn: () => unknown): void => {
    if (failed) {
      steps.push({ name, ok: false, error: 'not tried: an earlier step failed' });
      return;
    }
    try {
      const value = fn();
      steps.push({ name, ok: true, value });
    } catch (error) {
      failed = true;
      const e = describe(error);
      steps.push({ name, ok: false, error: e.code ? `${e.code}: ${e.message}` : e.message });
    }
  };
  const open = (): SqliteDatabase => openSqlite(file, { driver: choice.name });
  let db: SqliteDatabase | undefined;
  let reader: SqliteDatabase | undefined;
  try {
    step('open', () => {
      db = open();
    });
    step('wal', () => {
      const mode = db!.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`journal_mode answered \`${String(mode)}\`, not \`wal\``);
      return mode;
    });
    // journal_mode can answer wal and the first write still fail (no shared memory on the mount).
    step('write', () => void db!.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT)'));
    step('returning', () => {
      const row = db!.prepare('INSERT INTO probe (k, v) VALUES (?, ?) RETURNING id').get('a', '1') as { id: number } | undefined;
      if (row?.id !== 1) throw new Error(`INSERT … RETURNING gave ${JSON.stringify(row)}`);
    });
    step('upsert', () => {
      const row = db!.prepare('INSERT INTO probe (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v RETURNING v').get('a', '2') as { v: string } | undefined;
      if (row?.v !== '2') throw new Error(`INSERT … ON CONFLICT DO UPDATE gave ${JSON.stringify(row)}`);
    });
    step('json', () => {
      const row = db!.prepare("SELECT json_extract(json_object('a', json_array(1, 2)), '$.a[1]') AS x").get() as { x: number } | undefined;
      if (row?.x !== 2) throw new Error(`json_extract gave ${JSON.stringify(row)}`);
    });
    // A second connection reads through the WAL index in shared memory, as a second worker would.
    step('second-connection', () => {
      reader = open();
      const row = reader.prepare('SELECT v FROM probe WHERE k = ?').get('a') as { v: string } | undefined;
      if (row?.v !== '2') throw new Error(`a second connection read ${JSON.stringify(row)}`);
    });
  } finally {
    for (const d of [reader, db]) {
      try {
        d?.close();
      } catch {
        // closing is best effort; the files are removed below
      }
    }
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
  }
  emit({ stage: 'features', file, steps });
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv[2]);
