// Run as a child by doctor (`node dist/doctor/probe-integrity.js <file>`): PRAGMA quick_check
// on the existing database, read-only. A child because the check is synchronous and may take
// long on a big file: doctor kills it at its budget instead of hanging.
import { createRequire } from 'node:module';

type Db = { pragma(source: string): unknown; close(): void };
type DatabaseCtor = new (file: string, options: { readonly: boolean; fileMustExist: boolean }) => Db;

const require = createRequire(import.meta.url);
const file = process.argv[2];
let result: Record<string, unknown>;
try {
  if (file === undefined) throw new Error('usage: probe-integrity.js <database file>');
  const Database = require('better-sqlite3') as DatabaseCtor;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((r) => r !== 'ok');
    result = { ok: problems.length === 0, problems };
  } finally {
    db.close();
  }
} catch (error) {
  result = { ok: false, error: { code: (error as { code?: string }).code, message: error instanceof Error ? error.message : String(error) } };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
