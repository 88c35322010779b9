import { chmodSync, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import pino from 'pino';
import { BoundedLines } from './bounded.js';
import { createLogger, type Logger } from './logger.js';
import { forwardLines, LogSink } from './sink.js';

// The access log (`serve --access-log FILE|-`, gunicorn's --access-logfile): one JSON line per
// request, apart from the main log. JSON like the main log, so `jq` and the log tools read both
// the same way and a path or user agent cannot break a line (the combined format has no escaping
// rule for a quote in a user agent).
//
// One writer, as for the main log: a worker writes its lines to a pipe of its own (fd 4, beside
// the main log's stdout), and the supervisor forwards whole lines to the file. Several workers'
// lines never interleave, the file is rotated by one process, and SIGUSR1 reopens it in one place.

/** The worker's end of the access-log pipe. */
export const ACCESS_FD = 4;
/** Worker stdio when the access log is on: the usual pipes and IPC channel, and fd 4. */
export const ACCESS_STDIO = ['pipe', 'pipe', 'pipe', 'ipc', 'pipe'] as const;
const STDOUT_BUFFER_BYTES = 4 * 1024 * 1024;

/** The access logger of a forked worker: JSON lines into fd 4, which the supervisor reads. */
export function createWorkerAccessLogger(worker: number): Logger {
  return createLogger('info', worker, pino.destination({ dest: ACCESS_FD, sync: false }));
}

export interface AccessSinkOptions {
  /** An absolute file name, or '-' for stdout. */
  target: string;
  maxBytes: number;
  maxFiles: number;
  stdout: Writable;
}

/** The supervisor's end: a rotated file (0600) like the main log, or stdout. */
export class AccessSink {
  private readonly file: LogSink | undefined;
  private readonly stdout: BoundedLines | undefined;

  constructor(options: AccessSinkOptions) {
    if (options.target === '-') {
      this.stdout = new BoundedLines(options.stdout, STDOUT_BUFFER_BYTES);
      return;
    }
    // an access log from before, made under another umask: it holds talk ids, so private it is
    if (process.platform !== 'win32' && existsSync(options.target)) {
      try {
        chmodSync(options.target, 0o600);
      } catch {
        // not ours to change (another owner): the sink reports a file it cannot write
      }
    }
    this.file = new LogSink({ logDir: dirname(options.target), fileName: basename(options.target), maxBytes: options.maxBytes, maxFiles: options.maxFiles, console: options.stdout, quiet: true });
  }

  /** A logger for requests served in this process (the windows profile). */
  logger(): Logger {
    return createLogger('info', 0, this);
  }

  write(lines: string | Buffer): boolean {
    return this.file ? this.file.write(lines) : this.stdout!.write(lines);
  }

  forward(stream: Readable): void {
    forwardLines(stream, (lines) => this.write(lines));
  }

  reopen(): void {
    this.file?.reopen();
  }

  async close(): Promise<void> {
    await this.file?.close();
  }
}
