import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { redactDatabaseUrl } from '../store/database-url.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'database';
const TITLE = 'Database integrity (quick_check)';
export const INTEGRITY_SCRIPT = fileURLToPath(new URL('./probe-integrity.js', import.meta.url));
/** Within the runner's per-check time; a larger file is reported as not checked, with the command. */
export const INTEGRITY_BUDGET_MS = 2500;

export interface IntegrityOutcome {
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export async function runIntegrityProbe(file: string, timeoutMs = INTEGRITY_BUDGET_MS): Promise<IntegrityOutcome> {
  const r = await execa(process.execPath, [INTEGRITY_SCRIPT, file], { reject: false, timeout: timeoutMs, stdin: 'ignore', env: { NODE_OPTIONS: '' } });
  return { timedOut: r.timedOut, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

const restore = (file: string): string =>
  `Stop the server and restore ${file} from a backup, or salvage what is readable with \`sqlite3 ${file} ".recover" | sqlite3 recovered.db\` and put recovered.db in its place.`;

// Reads the existing database only (read-only, must exist): doctor never creates or changes it.
export async function checkDatabase(env: Pick<DoctorEnv, 'settings'>, probe: (file: string) => Promise<IntegrityOutcome> = runIntegrityProbe): Promise<CheckResult> {
  const file = join(env.settings.dataDir, 'presenter.db');
  let size: number | undefined;
  try {
    size = (await stat(file)).size;
  } catch {
    size = undefined;
  }
  const mb = `${((size ?? 0) / 1024 ** 2).toFixed(1)} MB`;
  if (env.settings.databaseUrl !== undefined) {
    // The PostgreSQL checks below check the store; an old SQLite file is only worth a mention.
    const old = size === undefined ? '' : ` ${file} (${mb}) is left from the SQLite store and not read: its talks are not in PostgreSQL.`;
    return { id: ID, title: TITLE, status: 'pass', detail: `Not used: the store is PostgreSQL (${redactDatabaseUrl(env.settings.databaseUrl)}).${old}` };
  }
  if (size === undefined) return { id: ID, title: TITLE, status: 'pass', detail: `No database at ${file} yet: serve creates it.` };
  const outcome = await probe(file);
  if (outcome.timedOut) {
    return { id: ID, title: TITLE, status: 'warn', detail: `quick_check of ${file} (${mb}) did not finish within ${INTEGRITY_BUDGET_MS / 1000} s.`, fix: `Run \`sqlite3 ${file} "PRAGMA quick_check"\` yourself; it should print ok.` };
  }
  let result: { ok?: boolean; problems?: string[]; error?: { code?: string; message: string } };
  try {
    result = JSON.parse(outcome.stdout.trim().split('\n').pop() ?? '') as typeof result;
  } catch {
    return { id: ID, title: TITLE, status: 'warn', detail: `quick_check of ${file} did not report: ${outcome.stderr.trim().slice(0, 200) || 'no output'}.`, fix: 'Check better-sqlite3 first (see its check), then run doctor again.' };
  }
  if (result.ok) return { id: ID, title: TITLE, status: 'pass', detail: `${file} (${mb}) passed quick_check (read-only).` };
  const code = result.error?.code ?? '';
  if (result.problems?.length || /CORRUPT|NOTADB/.test(code)) {
    const what = result.problems?.length ? result.problems.join('; ') : `${code}: ${result.error?.message ?? ''}`;
    return { id: ID, title: TITLE, status: 'fail', detail: `${file} is damaged: ${what.slice(0, 300)}.`, fix: restore(file) };
  }
  return { id: ID, title: TITLE, status: 'warn', detail: `Could not open ${file} read-only to check it: ${code ? `${code}: ` : ''}${result.error?.message ?? 'unknown error'}.`, fix: 'Give the user running doctor read access to the data dir, or run doctor as the service user.' };
}
