import { checkBetterSqlite3 } from './check-better-sqlite3.js';
import { checkDatabase } from './check-database.js';
import { checkDataDir } from './check-data-dir.js';
import { checkFsType } from './check-fs-type.js';
import { checkNode } from './check-node.js';
import { checkOpenFiles } from './check-open-files.js';
import { checkPlatform } from './check-platform.js';
import { checkPort } from './check-port.js';
import { checkPostgresDatabase, checkPostgresLogin, checkPostgresReachable, checkPostgresSchema, checkPostgresVersion } from './check-postgres.js';
import { checkPostgresClock } from './check-postgres-clock.js';
import { checkPostgresConnections } from './check-postgres-connections.js';
import { checkProvider } from './check-provider.js';
import { checkResources } from './check-resources.js';
import { checkSqliteFeatures } from './check-sqlite-features.js';
import type { Settings } from '../config/defaults.js';
import type { Check, CheckResult, DoctorEnv, ProbeOutcome } from './types.js';

/** In the order they are printed. */
export const CHECKS: readonly Check[] = [
  { id: 'node', title: 'Node.js version', run: checkNode },
  { id: 'better-sqlite3', title: 'SQLite driver', run: checkBetterSqlite3 },
  { id: 'sqlite-features', title: 'SQLite features (WAL, RETURNING, UPSERT, JSON)', run: checkSqliteFeatures },
  { id: 'data-dir', title: 'Data dir writable, free space', run: checkDataDir },
  { id: 'fs-type', title: 'Data dir file system', run: checkFsType },
  { id: 'database', title: 'Database integrity (quick_check)', run: (env) => checkDatabase(env) },
  { id: 'port', title: 'Port free', run: checkPort },
  { id: 'resources', title: 'Workers vs cores and memory', run: checkResources },
  { id: 'open-files', title: 'Open-file limit', run: checkOpenFiles },
  { id: 'platform', title: 'Platform and profile', run: checkPlatform },
  { id: 'provider', title: 'Feedback provider', run: checkProvider },
];

/** Run, after the SQLite checks, when a database URL is set; they share one connection. */
export const POSTGRES_CHECKS: readonly Check[] = [
  { id: 'postgres-reachable', title: 'PostgreSQL reachable', run: checkPostgresReachable },
  { id: 'postgres-login', title: 'PostgreSQL login', run: checkPostgresLogin },
  { id: 'postgres-database', title: 'PostgreSQL database exists', run: checkPostgresDatabase },
  { id: 'postgres-version', title: 'PostgreSQL version', run: checkPostgresVersion },
  { id: 'postgres-schema', title: 'PostgreSQL schema version', run: checkPostgresSchema },
  { id: 'postgres-clock', title: 'Clock skew to PostgreSQL', run: checkPostgresClock },
  { id: 'postgres-connections', title: 'PostgreSQL max_connections', run: checkPostgresConnections },
];

/** The checks for these settings: the PostgreSQL ones follow the database check when a URL is set. */
export function checksFor(settings: Pick<Settings, 'databaseUrl'>): readonly Check[] {
  if (settings.databaseUrl === undefined) return CHECKS;
  const at = CHECKS.findIndex((c) => c.id === 'database') + 1;
  return [...CHECKS.slice(0, at), ...POSTGRES_CHECKS, ...CHECKS.slice(at)];
}

/**
 * Each check gets this long; the whole run stays under 3 s because they run at once. A check
 * must not block the main thread (that would stop this timer too): checks do their file system
 * work through fs/promises (libuv's pool) and risky work in a child process, so the cap can
 * always give up on them; `doctor` then exits whatever they left running.
 */
export const CHECK_TIMEOUT_MS = 2800;

export interface TimedResult extends CheckResult {
  durationMs: number;
}

export interface DoctorReport {
  checks: TimedResult[];
  summary: { passed: number; warnings: number; failed: number };
  durationMs: number;
}

function once<T>(fn: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (key) => {
    let p = seen.get(key);
    if (!p) {
      p = fn(key);
      seen.set(key, p);
    }
    return p;
  };
}

// One probe child, one mkdir and one PostgreSQL connection however many checks ask; the probe needs the dir to exist.
function shared(env: DoctorEnv): DoctorEnv {
  const ensureDir = once((dir) => env.fs.ensureDir(dir));
  const probeSqlite = once(async (dir): Promise<ProbeOutcome> => {
    await ensureDir(dir).catch(() => false);
    return env.probeSqlite(dir);
  });
  return { ...env, fs: { ...env.fs, ensureDir }, probeSqlite, probePostgres: once((url) => env.probePostgres(url)) };
}

async function runOne(check: Check, env: DoctorEnv, timeoutMs: number, now: () => number): Promise<TimedResult> {
  const start = now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult>((done) => {
    // Not finishing is a failure: the thing it waits for (a disk, a mount, DNS) is what serve will wait for too.
    timer = setTimeout(() => done({ id: check.id, title: check.title, status: 'fail', detail: `The ${check.id} check could not finish within ${timeoutMs / 1000} s and was abandoned.`, fix: 'Something it waits for is blocked: a hung disk or network mount under the data dir, DNS, or a slow model endpoint. Run doctor again; if it repeats, check that first.' }), timeoutMs);
    timer.unref();
  });
  let result: CheckResult;
  try {
    result = await Promise.race([check.run(env), timedOut]);
  } catch (error) {
    result = { id: check.id, title: check.title, status: 'fail', detail: `The check itself failed: ${(error as Error)?.message ?? String(error)}`, fix: 'Report this as a presenter-serve bug, with the output of doctor --json.' };
  } finally {
    clearTimeout(timer);
  }
  return { ...result, durationMs: Math.round(now() - start) };
}

export async function runDoctor(env: DoctorEnv, options: { checks?: readonly Check[]; timeoutMs?: number } = {}): Promise<DoctorReport> {
  const now = () => performance.now();
  const start = now();
  const e = shared(env);
  const checks = await Promise.all((options.checks ?? checksFor(env.settings)).map((c) => runOne(c, e, options.timeoutMs ?? CHECK_TIMEOUT_MS, now)));
  const count = (s: CheckResult['status']) => checks.filter((c) => c.status === s).length;
  return { checks, summary: { passed: count('pass'), warnings: count('warn'), failed: count('fail') }, durationMs: Math.round(now() - start) };
}

/** 1 with failures, or with warnings under --strict; 0 otherwise. */
export function exitCodeFor(report: DoctorReport, strict: boolean): 0 | 1 {
  return report.summary.failed > 0 || (strict && report.summary.warnings > 0) ? 1 : 0;
}
