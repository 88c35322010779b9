import { Option, type Command } from 'commander';
import type { Settings } from '../config/defaults.js';
import type { Context } from '../context.js';
import { parseIntFlag, parseTrustProxy, resolveSettings, type SettingFlags } from '../config/resolve.js';
import { join } from 'node:path';
import { ConfigError, PresenterError } from '../errors.js';
import { makeRedactor, secretsOf } from '../jobs/redact.js';
import { redactDatabaseUrl } from '../store/database-url.js';
import { createProvider } from '../feedback/providers.js';
import { CORRUPT_FIX, migrateDatabase } from '../store/sqlite.js';
import { selectSqliteDriver } from '../store/sqlite-driver.js';
import { removePidFile } from '../supervisor/pidfile.js';
import { disableInspectorSignal } from '../supervisor/signals.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { DB_FILE } from '../worker/service.js';
import { checkPortFree, claimDataDir } from './preflight.js';

export function registerServe(program: Command, ctx: Context): void {
  program
    .command('serve')
    .description('Start the service: a supervisor and its workers, as the profile says')
    .addOption(new Option('--profile <name|file>', 'auto, safe, advanced, windows, or a JSON profile file (default: auto, or PRESENTER_PROFILE)'))
    .addOption(new Option('--host <host>', 'address to bind (PRESENTER_HOST)'))
    .addOption(new Option('--port <n>', 'port to bind (PRESENTER_PORT)').argParser(parseIntFlag('--port', 0, 65535)))
    .addOption(new Option('--workers <n>', 'worker processes').argParser(parseIntFlag('--workers', 1, 64)))
    .addOption(new Option('--threads <n>', 'feedback jobs each worker runs at once').argParser(parseIntFlag('--threads', 1, 256)))
    .addOption(new Option('--data-dir <dir>', 'database, logs and pid file (PRESENTER_DATA_DIR, default ./data)'))
    .addOption(new Option('--graceful-timeout <seconds>', 'how long in-flight requests and jobs may take at stop (default 30)').argParser(parseIntFlag('--graceful-timeout', 0, 3600)))
    .addOption(new Option('--timeout <seconds>', 'kill and replace a worker whose event loop has not answered for this long (default 30, 0 = off; PRESENTER_TIMEOUT)').argParser(parseIntFlag('--timeout', 0, 3600)))
    .addOption(new Option('--max-memory <MB>', 'replace a worker whose memory (RSS) passes this, with no failed request (PRESENTER_MAX_MEMORY; default off)').argParser(parseIntFlag('--max-memory', 16, 1024 * 1024)))
    .addOption(new Option('--max-requests <n>', 'replace a worker after this many requests, with no failed request (PRESENTER_MAX_REQUESTS; default off)').argParser(parseIntFlag('--max-requests', 1, 1_000_000_000)))
    .addOption(new Option('--max-requests-jitter <n>', 'add 0..n to each worker\'s --max-requests, so workers are not replaced all at once').argParser(parseIntFlag('--max-requests-jitter', 0, 1_000_000_000)))
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent (PRESENTER_LOG_LEVEL)'))
    .addOption(new Option('--trust-proxy <addresses>', 'proxies (IPs, CIDR ranges) whose X-Forwarded-For names the client (PRESENTER_TRUST_PROXY)').argParser((value) => parseTrustProxy(value)))
    .option('--database-url <url>', 'PostgreSQL store shared by several hosts, postgres://user:password@host/db (PRESENTER_DATABASE_URL); default: SQLite in the data dir')
    .option('--access-log <file|->', 'one JSON line per request to FILE (rotated like the main log) or - for stdout; off by default (PRESENTER_ACCESS_LOG)')
    .option('--quiet', 'log to the file only, nothing to stdout')
    .action(async (flags: SettingFlags & { quiet?: boolean }) => {
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
    });
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
  const { migratePostgresUrl, translatePgError } = await import('../store/postgres.js');
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
