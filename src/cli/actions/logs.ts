import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { ConfigError, isPresenterError, PresenterError } from '../../errors.js';
import { analyseGroups } from '../../logs/analyse.js';
import { safeJson } from '../../logs/escape.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../logs/lines.js';
import { chalkFor, useColour } from '../colour.js';
import { checkInput, expandArgument, groupInputs, orderFiles, rotatedSet, type LogGroup } from '../../logs/files.js';
import type { Filter } from '../../logs/filters.js';
import { follow } from '../../logs/follow.js';
import { createProgress } from '../../logs/progress.js';
import { mergeGroups } from '../../logs/merge.js';
import { formatReport, oversizedNote, reportJson } from '../../logs/report.js';
import { abortOnInterrupt } from '../../logs/signals.js';
import { createPrinter } from '../../logs/view.js';
import type { LogsFlags } from '../logs.js';

const DEFAULT_WINDOW_MS = 60_000;

// `logs`: loaded when the command runs (cli/logs.ts declares its options).
export async function logs(files: string[], opts: LogsFlags, ctx: Context): Promise<void> {
  checkFlags(files, opts);
  const groups = resolveInputs(files, opts, ctx);
  if (opts.duplicates) {
    await duplicates(groups, opts, ctx);
    return;
  }
  await view(groups, opts, ctx);
}

// A closed stdout (`logs | head -1`, a pager quit early) is the reader saying "enough": not an error.
function isClosedPipe(error: NodeJS.ErrnoException | undefined): boolean {
  return error?.code === 'EPIPE' || error?.code === 'ERR_STREAM_DESTROYED';
}

function outputFailed(error: NodeJS.ErrnoException): PresenterError {
  return new PresenterError('OUTPUT_FAILED', `Cannot write the output: ${error.message}.`, { fix: 'Check where stdout goes (a full disk, a closed terminal).', cause: error });
}

function checkFlags(files: string[], opts: LogsFlags): void {
  const conflict = (message: string, fix: string): ConfigError => new ConfigError('CONFLICT', message, { fix });
  if (files.length > 0 && opts.dataDir !== undefined) throw conflict('Give log FILEs or --data-dir, not both.', 'Drop --data-dir to read the files given, or drop the files to read DIR/logs/presenter.log.');
  if (opts.duplicates && opts.follow) throw conflict('--duplicates reads the log to its end; it cannot --follow.', 'Drop --follow, or drop --duplicates to watch new lines.');
  if (opts.duplicates && (opts.level !== undefined || opts.event !== undefined)) {
    throw conflict('--level and --event filter the log view; --duplicates reads every feedback event.', 'Drop --level/--event (--since and --presentation work with --duplicates).');
  }
  if (!opts.duplicates && opts.window !== undefined) throw conflict('--window only applies to --duplicates.', 'Add --duplicates, or drop --window.');
  if (opts.follow && files.length > 1) throw conflict(`--follow follows one file, got ${files.length}.`, 'Give one FILE (or none, for DATA_DIR/logs/presenter.log).');
}

// One group per host: a file and its rotated files, read oldest first; several groups are merged by time.
function resolveInputs(files: string[], opts: LogsFlags, ctx: Context): LogGroup[] {
  if (files.length > 0) {
    const paths = [...new Set(files.flatMap((f) => expandArgument(resolve(ctx.cwd, f), Boolean(opts.duplicates))))];
    return groupInputs(orderFiles(paths).map(checkInput));
  }
  const fromEnv = opts.dataDir === undefined && Boolean(ctx.env.PRESENTER_DATA_DIR);
  const dataDir = resolve(ctx.cwd, opts.dataDir ?? (ctx.env.PRESENTER_DATA_DIR || './data'));
  try {
    return groupInputs(rotatedSet(join(dataDir, 'logs'), Boolean(opts.duplicates)).map(checkInput));
  } catch (error) {
    if (!isPresenterError(error) || opts.dataDir !== undefined) throw error;
    const source = fromEnv ? 'PRESENTER_DATA_DIR' : 'the default ./data';
    throw new ConfigError(error.code, error.message, {
      fix: `No FILE or --data-dir was given, so the data dir is ${dataDir} (${source}). Pass --data-dir DIR (the one the service runs with), set PRESENTER_DATA_DIR, or give a log FILE.`,
      cause: error,
    });
  }
}

async function duplicates(groups: LogGroup[], opts: LogsFlags, ctx: Context): Promise<void> {
  const total = groups.reduce((sum, g) => sum + g.files.reduce((n, f) => n + f.size, 0), 0);
  const report = await analyseGroups(groups, {
    windowMs: opts.window ?? DEFAULT_WINDOW_MS,
    since: opts.since,
    presentation: opts.presentation,
    progress: createProgress(ctx.stderr, total, ctx.now),
    maxLineBytes: opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
  });
  const text = opts.json ? `${safeJson(JSON.stringify(reportJson(report), null, 2))}\n` : formatReport(report, chalkFor(ctx.stdout, ctx.env));
  // `logs --duplicates | head` closes stdout early: the exit code still says whether there are duplicates
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    // kept on: a failed write calls back, then emits 'error', which would otherwise go unhandled
    ctx.stdout.on('error', resolve);
    ctx.stdout.write(text, (e) => resolve(e ?? undefined));
  });
  if (error && !isClosedPipe(error)) throw outputFailed(error);
  if (report.duplicates.length > 0) process.exitCode = 1;
}

async function view(groups: LogGroup[], opts: LogsFlags, ctx: Context): Promise<void> {
  const filter: Filter = { level: opts.level, since: opts.since, presentation: opts.presentation, events: opts.event };
  const printer = createPrinter(ctx.stdout, { json: Boolean(opts.json), colour: useColour(ctx.stdout, ctx.env), filter, hosts: groups.length > 1 });
  const interrupt = abortOnInterrupt();
  // `logs | head` closes stdout early: stop reading (the printer keeps the error and writes no more)
  const onError = (): void => interrupt.abort();
  ctx.stdout.on('error', onError);
  const afterChunk = (): Promise<void> | undefined => printer.drain();
  const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let oversized = 0;
  const onOversized = (): void => {
    oversized++;
  };
  try {
    if (opts.follow) {
      if (groups.length > 1 || groups[0]!.files.length > 1) {
        throw new ConfigError('CONFLICT', `--follow follows one file, got ${groups.reduce((n, g) => n + g.files.length, 0)}.`, { fix: 'Give one FILE (or none, for DATA_DIR/logs/presenter.log).' });
      }
      const input = groups[0]!.files[0]!;
      if (input.gzip) throw new ConfigError('CONFLICT', `Cannot follow ${input.path}: it is gzip'd, so nothing is appended to it.`, { fix: 'Follow the live file (DATA_DIR/logs/presenter.log), or drop --follow.' });
      await follow({ path: input.path, onLine: (l) => printer.line(l), signal: interrupt.signal, afterChunk, maxLineBytes, onOversized });
    } else {
      await mergeGroups(groups, (l, g) => printer.line(l, g.label), { afterChunk, signal: interrupt.signal, maxLineBytes, onOversized });
    }
  } finally {
    interrupt.dispose();
    ctx.stdout.off('error', onError);
  }
  const outputError = printer.outputError;
  if (isClosedPipe(outputError)) return;
  if (outputError) throw outputFailed(outputError);
  if (printer.skipped > 0 && (opts.json || opts.level !== undefined || opts.since !== undefined || opts.presentation !== undefined || opts.event !== undefined)) {
    ctx.stderr.write(`logs: ${printer.skipped.toLocaleString('en-US')} unreadable ${printer.skipped === 1 ? 'line' : 'lines'} skipped (not pino JSON or a known text format)\n`);
  }
  if (oversized > 0) ctx.stderr.write(`logs: ${oversizedNote(oversized, maxLineBytes)} (raise --max-line-bytes to read them)\n`);
}
