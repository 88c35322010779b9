import { Option, type Command } from 'commander';
import { parseIntFlag, resolveSettings } from '../config/resolve.js';
import type { Context } from '../context.js';
import { defaultDoctorEnv } from '../doctor/env.js';
import { formatReport } from '../doctor/format.js';
import { useColour } from './colour.js';
import { exitCodeFor, runDoctor } from '../doctor/runner.js';

interface DoctorOptions {
  profile?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  json?: boolean;
  strict?: boolean;
}

export function registerDoctor(program: Command, ctx: Context): void {
  program
    .command('doctor')
    .description('Check Node, better-sqlite3, SQLite, the data dir, the port, this machine and the feedback provider')
    .option('--profile <name|file>', 'profile to check: safe, advanced, windows, auto or a JSON file')
    .option('--data-dir <dir>', 'data dir to check (default PRESENTER_DATA_DIR or ./data)')
    .option('--host <host>', 'host the port check binds')
    .addOption(new Option('--port <n>', 'port the port check binds').argParser(parseIntFlag('--port', 0, 65535)))
    .option('--json', 'print {checks, summary} as JSON')
    .option('--strict', 'exit 1 on warnings too')
    .action(async (opts: DoctorOptions) => {
      const settings = resolveSettings({ profile: opts.profile, dataDir: opts.dataDir, host: opts.host, port: opts.port }, ctx);
      const report = await runDoctor(defaultDoctorEnv(ctx, settings));
      if (opts.json) {
        ctx.stdout.write(`${JSON.stringify({ profile: settings.profile, dataDir: settings.dataDir, ...report }, null, 2)}\n`);
      } else {
        const header = `presenter-serve doctor: profile ${settings.profile} (${settings.profileReason}), data dir ${settings.dataDir}, ${report.durationMs} ms`;
        ctx.stdout.write(formatReport(report, header, useColour(ctx.stdout, ctx.env)));
      }
      process.exitCode = exitCodeFor(report, opts.strict === true);
      // An abandoned check may leave a pool thread, a socket or a child behind: they must not
      // keep doctor alive. The timer is unref'd, so it only fires when something else lingers.
      setTimeout(() => process.exit(), 100).unref();
    });
}
