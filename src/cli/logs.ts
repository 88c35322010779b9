import { Option, type Command } from 'commander';
import type { Context } from '../context.js';
import { ConfigError } from '../errors.js';
import { parseDuration, parseEvents, parseLevel, parseSince } from '../logs/filters.js';

export interface LogsFlags {
  dataDir?: string;
  follow?: boolean;
  level?: number;
  since?: number;
  presentation?: string;
  event?: string[];
  json?: boolean;
  duplicates?: boolean;
  window?: number;
  maxLineBytes?: number;
}

export function registerLogs(program: Command, ctx: Context): void {
  program
    .command('logs')
    .description('Show the service log, follow it, or find feedback produced more than once (--duplicates)')
    .argument('[file...]', "log files or data dirs, of one host or several (merged by time); default: DATA_DIR/logs/presenter.log; with --duplicates a dir's rotated files too")
    .option('--data-dir <dir>', 'the data dir the service runs with (default: ./data or PRESENTER_DATA_DIR)')
    .option('-f, --follow', 'keep printing new lines, across rotation and truncation, until Ctrl+C')
    .addOption(new Option('--level <level>', 'only this level and above (trace, debug, info, warn, error, fatal)').argParser(parseLevel))
    .addOption(new Option('--since <when>', 'only lines since a duration ago (30m, 1h, 2d) or an ISO time').argParser((v) => parseSince(v, ctx.now())))
    .option('--presentation <id>', 'only lines about this presentation')
    .addOption(new Option('--event <event>', 'only these events: feedback.marked, a list a,b, or a prefix such as feedback').argParser(parseEvents))
    .option('--json', 'JSON lines (view) or a JSON report (--duplicates)')
    .option('--duplicates', 'report feedback produced more than once; exit 1 when there is any')
    .addOption(new Option('--window <duration>', 'with --duplicates: same response from two pids this close is a duplicate (default 60s)').argParser((v) => parseDuration(v, '--window')))
    .addOption(new Option('--max-line-bytes <size>', 'skip and count longer lines instead of holding them in memory (default 1MiB; e.g. 4MiB, 65536)').argParser(parseSize))
    .action(async (files: string[], opts: LogsFlags) => {
      const { logs } = await import('./actions/logs.js');
      await logs(files, opts, ctx);
    });
}

const SIZE = /^(\d{1,10})\s*(?:(k|m)i?b?)?$/i;

export function parseSize(value: string): number {
  const m = SIZE.exec(value.trim());
  const n = m ? Number(m[1]) * (m[2] === undefined ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024) : Number.NaN;
  if (!(n >= 1024 && n <= 1024 ** 3)) {
    throw new ConfigError('BAD_FLAG', `Expected --max-line-bytes to be a size from 1KiB to 1024MiB such as 4MiB or 65536, got \`${value}\`.`);
  }
  return n;
}
