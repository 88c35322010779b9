import { resolveSettings } from '../../config/resolve.js';
import type { Context } from '../../context.js';
import { defaultDoctorEnv } from '../../doctor/env.js';
import { formatReport } from '../../doctor/format.js';
import { exitCodeFor, runDoctor } from '../../doctor/runner.js';
import { secretsOf } from '../../jobs/redact.js';
import { redactDatabaseUrl } from '../../store/database-url.js';
import { useColour } from '../colour.js';
import type { DoctorOptions } from '../doctor.js';

// `doctor`: loaded when the command runs (cli/doctor.ts declares its options).
export async function doctor(opts: DoctorOptions, ctx: Context): Promise<void> {
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
}
