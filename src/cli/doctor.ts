import { Option, type Command } from 'commander';
import { parseIntFlag } from '../config/resolve.js';
import type { Context } from '../context.js';

export interface DoctorOptions {
  profile?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  workers?: number;
  threads?: number;
  databaseUrl?: string;
  hosts?: number;
  json?: boolean;
  strict?: boolean;
}

export function registerDoctor(program: Command, ctx: Context): void {
  program
    .command('doctor')
    .description('Check Node, better-sqlite3, SQLite, the data dir, the port, this machine, the feedback provider and PostgreSQL when a database URL is set')
    .option('--profile <name|file>', 'profile to check: safe, advanced, windows, auto or a JSON file')
    .option('--data-dir <dir>', 'data dir to check (default PRESENTER_DATA_DIR or ./data)')
    .option('--host <host>', 'host the port check binds')
    .addOption(new Option('--port <n>', 'port the port check binds').argParser(parseIntFlag('--port', 0, 65535)))
    .addOption(new Option('--workers <n>', 'worker processes serve will run (default: the profile\'s)').argParser(parseIntFlag('--workers', 1, 64)))
    .addOption(new Option('--threads <n>', 'job slots per worker serve will run (default: the profile\'s)').argParser(parseIntFlag('--threads', 1, 256)))
    .option('--database-url <url>', 'PostgreSQL database to check, postgres://user:password@host/db (PRESENTER_DATABASE_URL)')
    .addOption(new Option('--hosts <n>', 'hosts that will share the PostgreSQL database, for the max_connections check').argParser(parseIntFlag('--hosts', 1, 10_000)).default(1))
    .option('--json', 'print {checks, summary} as JSON')
    .option('--strict', 'exit 1 on warnings too')
    .action(async (opts: DoctorOptions) => {
      const { doctor } = await import('./actions/doctor.js');
      await doctor(opts, ctx);
    });
}
