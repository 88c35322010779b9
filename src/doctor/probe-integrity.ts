// Run as a child by doctor (`node dist/doctor/probe-integrity.js <file>`): PRAGMA quick_check
// on the existing database, read-only. A child because the check is synchronous and may take
// long on a big file: doctor kills it at its budget instead of hanging.
import { sqliteErrorCode } from '../store/sqlite-codes.js';
import { openSqlite } from '../store/sqlite-driver.js';

const file = process.argv[2];
let result: Record<string, unknown>;
try {
  if (file === undefined) throw new Error('usage: probe-integrity.js <database file>');
  const db = openSqlite(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((r) => r !== 'ok');
    result = { ok: problems.length === 0, problems };
  } finally {
    db.close();
  }
} catch (error) {
  result = { ok: false, error: { code: sqliteErrorCode(error) ?? (error as { code?: string }).code, message: error instanceof Error ? error.message : String(error) } };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
