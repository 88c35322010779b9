// Run as a child by doctor (`node dist/doctor/probe-sqlite.js <data-dir>`): loading a native
// module can segfault or fail on an ABI mismatch, and doctor must live to report either.
// Prints one JSON object per line, so that what happened before a crash is still known.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

type Db = {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
  prepare(source: string): { get(...params: unknown[]): unknown };
  close(): void;
};
type DatabaseCtor = new (file: string) => Db;

const require = createRequire(import.meta.url);
const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};
const describe = (error: unknown): { code?: string; message: string } => ({
  code: (error as { code?: string }).code,
  message: error instanceof Error ? error.message : String(error),
});

function main(dataDir: string | undefined): number {
  let version: string;
  try {
    version = (require('better-sqlite3/package.json') as { version: string }).version;
    emit({ stage: 'resolved', version, path: require.resolve('better-sqlite3') });
  } catch (error) {
    emit({ stage: 'resolve-failed', error: describe(error) });
    return 1;
  }

  let Database: DatabaseCtor;
  try {
    Database = require('better-sqlite3') as DatabaseCtor;
    // The native addon is loaded by the first `new Database`, not by require.
    const memory = new Database(':memory:');
    const sqlite = (memory.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    memory.close();
    emit({ stage: 'loaded', version, sqlite, node: process.versions.node, modules: process.versions.modules });
  } catch (error) {
    emit({ stage: 'load-failed', version, error: describe(error) });
    return 1;
  }
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
  let db: Db | undefined;
  let reader: Db | undefined;
  try {
    step('open', () => {
      db = new Database(file);
    });
    step('wal', () => {
      const mode = db!.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`journal_mode answered \`${String(mode)}\`, not \`wal\``);
      return mode;
    });
    // journal_mode can answer wal and the first write still fail (no shared memory on the mount).
    step('write', () => db!.exec('CREATE TABLE probe (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT)'));
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
      reader = new Database(file);
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
