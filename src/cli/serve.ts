import { Option, type Command } from 'commander';
import type { Context } from '../context.js';
import { parseIntFlag, parseTrustProxy, type SettingFlags } from '../config/resolve.js';

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
      const { serve } = await import('./actions/serve.js');
      await serve(flags, ctx);
    });
}
