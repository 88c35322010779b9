import { parseProbe } from './probe.js';
import type { CheckResult, DoctorEnv } from './types.js';

const ID = 'sqlite-features';
const TITLE = 'SQLite features (WAL, RETURNING, UPSERT, JSON)';
const LOCAL_DISK = 'Put PRESENTER_DATA_DIR (or --data-dir) on a local disk: WAL keeps its index in shared memory beside the database, which network and host-shared file systems do not provide.';
const WHAT: Record<string, string> = {
  open: 'creating a database',
  wal: 'switching to WAL',
  write: 'the first write in WAL mode',
  returning: 'INSERT … RETURNING (SQLite 3.35+)',
  upsert: 'INSERT … ON CONFLICT DO UPDATE (SQLite 3.24+)',
  json: 'the JSON functions',
  'second-connection': 'reading from a second connection',
};

// Proven by really creating a WAL database in the data dir and writing to it, in the probe child.
export async function checkSqliteFeatures(env: Pick<DoctorEnv, 'settings' | 'probeSqlite'>): Promise<CheckResult> {
  const dir = env.settings.dataDir;
  const outcome = await env.probeSqlite(dir);
  const report = parseProbe(outcome.stdout);
  const fail = (detail: string, fix: string): CheckResult => ({ id: ID, title: TITLE, status: 'fail', detail, fix });
  if (!report.steps && report.noDriver) {
    return fail('Not checked: no SQLite driver can be used (see the SQLite driver check).', report.noDriver.fix ?? 'Fix the SQLite driver problem first, then run doctor again.');
  }
  if (!report.steps && (report.sqlite || report.driver)) {
    // better-sqlite3 loaded, but the probe could not even start in the data dir.
    return fail(`Not checked: no database could be created in ${dir} (see the data dir check).`, 'Fix the data dir first, then run doctor again.');
  }
  if (!report.steps) {
    return fail('Not checked: better-sqlite3 did not load (see the better-sqlite3 check).', 'Fix the better-sqlite3 problem first, then run doctor again.');
  }
  const broken = report.steps.find((s) => !s.ok);
  const sqlite = report.driver?.sqlite ?? report.sqlite;
  if (env.settings.databaseUrl !== undefined && broken?.name !== 'open') {
    // With PostgreSQL the data dir holds only the lock (an SQLite file without WAL), logs and the pid file.
    const seen = broken ? `${WHAT[broken.name] ?? broken.name} failed in ${dir} (${broken.error ?? 'unknown error'}), which only the SQLite store needs` : `they work in ${dir} (SQLite ${sqlite ?? '?'})`;
    return { id: ID, title: TITLE, status: 'pass', detail: `Not needed: the store is PostgreSQL; ${seen}.` };
  }
  if (!broken) {
    return { id: ID, title: TITLE, status: 'pass', detail: `Created a WAL database in ${dir}, wrote, upserted, read JSON and read from a second connection (SQLite ${sqlite ?? '?'} through ${report.driver?.name ?? 'better-sqlite3'}); removed it again.` };
  }
  const what = WHAT[broken.name] ?? broken.name;
  const error = broken.error ?? 'unknown error';
  switch (broken.name) {
    case 'open':
      return fail(`Cannot create a database in ${dir}: ${error}.`, 'Make the data dir writable by the user that runs presenter-serve, or choose another with --data-dir.');
    case 'wal':
      return fail(`WAL is not available in ${dir}: ${error}.`, LOCAL_DISK);
    case 'write':
    case 'second-connection':
      return fail(`journal_mode answered wal, but ${what} failed in ${dir}: ${error}.`, LOCAL_DISK);
    default:
      return fail(
        `${what} failed with SQLite ${sqlite ?? '?'}: ${error}.`,
        report.driver?.name === 'node:sqlite' ? 'Node was built against an old system SQLite that lacks these: use the Node from nodejs.org (it bundles a recent SQLite), or install better-sqlite3.' : 'better-sqlite3 bundles a recent SQLite; a build against an old system SQLite lacks these. Reinstall it without a custom SQLite: npm rebuild better-sqlite3.',
      );
  }
}
