import { join } from 'node:path';
import type { Settings } from '../../config/defaults.js';
import { resolveSettings, type SettingFlags } from '../../config/resolve.js';
import type { Context } from '../../context.js';
import { ConfigError, PresenterError } from '../../errors.js';
import { makeRedactor, secretsOf } from '../../jobs/redact.js';
import { redactDatabaseUrl } from '../../store/database-url.js';
import { createProvider } from '../../feedback/providers.js';
import { CORRUPT_FIX, migrateDatabase } from '../../store/sqlite.js';
import { selectSqliteDriver } from '../../store/sqlite-driver.js';
import { removePidFile } from '../../supervisor/pidfile.js';
import { disableInspectorSignal } from '../../supervisor/signals.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { DB_FILE } from '../../worker/service.js';
import { checkPortFree, claimDataDir } from '../preflight.js';

// `serve`: loaded when the command runs (cli/serve.ts declares its options).
export async function serve(flags: SettingFlags & { quiet?: boolean }, ctx: Context): Promise<void> {
  disableInspectorSignal(); // from the start: a SIGUSR1 never opens the inspector (signals.ts)
  const settings = resolveSettings(flags, ctx);
  // Once, here: the lock, the migration and every worker use the driver chosen now.
  const driver = selectSqliteDriver(settings.sqliteDriver);
  const withDriver = (s: Settings): Settings => ({ ...s, sqliteDriver: driver.name, sqliteDriverReason: driver.reason });
  Object.assign(settings, withDriver(settings));
  const { lock, stalePid } = await claimDataDir(settings.dataDir, driver.name);
  let applied: number[];
  try {
    applied = await prepare(settings, ctx.env);
  } catch (error) {
    // nothing started: give the data dir back as it was found
    removePidFile(settings.dataDir);
    lock.release();
    throw error;
  }
  const supervisor = new Supervisor(settings, ctx, { quiet: flags.quiet, lock, reread: () => withDriver(resolveSettings(flags, ctx)) });
  if (stalePid !== undefined) {
    supervisor.logger.warn({ event: 'supervisor.stale_pid', stalePid }, `Replaced a stale pid file (pid ${stalePid} is not running)`);
  }
  if (applied.length > 0) supervisor.logger.info({ event: 'store.migrated', versions: applied }, `Database migrated to schema version ${applied[applied.length - 1]}`);
  const { exitCode } = await supervisor.run();
  process.exitCode = exitCode;
  // Workers and timers are gone; leave nothing behind that could keep the process alive.
  setTimeout(() => process.exit(exitCode), 200).unref();
}

// Checks that need the data dir claimed: the port, the model settings, the database.
async function prepare(settings: Settings, env: NodeJS.ProcessEnv): Promise<number[]> {
  await checkPortFree(settings.host, settings.port);
  // A bad model setting must stop here with exit 2, not crash every worker at start-up.
  const provider = createProvider(settings.ai, env) as { close?: () => Promise<void> | void };
  await provider.close?.();
  if (settings.databaseUrl) return migrateShared(settings.databaseUrl);
  const file = join(settings.dataDir, DB_FILE);
  try {
    return migrateDatabase(file, settings.sqliteDriver === 'auto' ? undefined : settings.sqliteDriver);
  } catch (error) {
    const corrupt = (error as { code?: unknown }).code === 'STORE_CORRUPT';
    throw new ConfigError(corrupt ? 'DB_CORRUPT' : 'DB_UNUSABLE', `The database ${file} cannot be used: ${(error as Error).message}.`, {
      fix: corrupt ? CORRUPT_FIX(file) : 'Restore it from a backup, or move it away to start with an empty database (run `presenter-serve doctor` for the SQLite checks).',
    });
  }
}

// Every host's supervisor migrates before forking, under an advisory lock: hosts starting
// together migrate once. A database that cannot be reached stops the start (exit 1: a runtime
// failure, which systemd retries), naming it without its password and pointing at doctor.
async function migrateShared(url: string): Promise<number[]> {
  const { migratePostgresUrl, translatePgError } = await import('../../store/postgres.js');
  const shown = redactDatabaseUrl(url);
  try {
    return await migratePostgresUrl(url);
  } catch (error) {
    const translated = translatePgError(error);
    const unavailable = translated?.code === 'STORE_UNAVAILABLE';
    const message = makeRedactor(secretsOf({ databaseUrl: url }))((translated ?? (error as Error)).message);
    throw new PresenterError(unavailable ? 'DB_UNREACHABLE' : 'DB_UNUSABLE', `The database ${shown} cannot be used: ${message}.`, {
      exitCode: 1,
      fix: `Run \`presenter-serve doctor --database-url '${shown}'\`: it checks that PostgreSQL is reachable, the login and the database exist, and says how to fix each.`,
    });
  }
}
