import { Option, type Command } from 'commander';
import { parseIntFlag, resolveSettings } from '../config/resolve.js';
import type { Context } from '../context.js';
import { defaultDoctorEnv } from '../doctor/env.js';
import { formatReport } from '../doctor/format.js';
import { secretsOf } from '../jobs/redact.js';
import { redactDatabaseUrl } from '../store/database-url.js';
import { useColour } from './colour.js';
import { exitCodeFor, runDoctor } from '../doctor/runner.js';

interface DoctorOptions {
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
      const { profile, dataDir, host, port, workers, threads, databaseUrl } = opts;
      const settings = resolveSettings({ profile, dataDir, host, port, workers, threads, databaseUrl }, ctx);
      const report = await runDoctor(defaultDoctorEnv(ctx, settings, { hosts: opts.hosts }));
      const database = settings.databaseUrl === undefined ? undefined : redactDatabaseUrl(settings.databaseUrl);
      let out: string;
      if (opts.json) {
        out = `${JSON.stringify({ profile: settings.profile, dataDir: settings.dataDir, ...(database ? { database, hosts: opts.hosts } : {}), ...report }, null, 2)}\n`;
      } else {
        const store = database ? `, database ${database}` : '';
        const header = `presenter-serve doctor: profile ${settings.profile} (${settings.profileReason}), data dir ${settings.dataDir}${store}, ${report.durationMs} ms`;
        out = formatReport(report, header, useColour(ctx.stdout, ctx.env));
      }
      // The checks never print a password; this makes sure of it, whatever a server's message held.
      const secrets = [...secretsOf({ apiKey: settings.ai.apiKey, databaseUrl: settings.databaseUrl }), ...(ctx.env.PGPASSWORD && ctx.env.PGPASSWORD.length >= 4 ? [ctx.env.PGPASSWORD] : [])];
      for (const secret of secrets) out = out.split(secret).join('***');
      ctx.stdout.write(out);
      process.exitCode = exitCodeFor(report, opts.strict === true);
      // An abandoned check may leave a pool thread, a socket or a child behind: they must not
      // keep doctor alive. The timer is unref'd, so it only fires when something else lingers.
      setTimeout(() => process.exit(), 100).unref();
    });
}
