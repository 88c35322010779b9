import { chmodSync, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BoundedLines } from './bounded.js';
import { createLogger, type Logger } from './logger.js';
import { forwardLines, LogSink } from './sink.js';

// The supervisor's end of the access log (access.ts): whole lines from each worker's fd 4 pipe,
// and its own requests' lines for the windows profile, to one rotated file or stdout.
const STDOUT_BUFFER_BYTES = 4 * 1024 * 1024;

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
