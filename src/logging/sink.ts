import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import PinoPretty from 'pino-pretty';
import { ensureDirSync } from '../fs/ensure-dir.js';
import { BoundedLines } from './bounded.js';
import { truncatePartialLine } from './truncate.js';

export interface SinkOptions {
  logDir: string;
  /** The file's name in logDir (default presenter.log); rotated files get .1, .2, … */
  fileName?: string;
  maxBytes: number;
  maxFiles: number;
  console: Writable & { isTTY?: boolean };
  /** Pretty-print to the console (default: when it is a TTY). */
  pretty?: boolean;
  /** Nothing to the console (tests, `serve --quiet`). */
  quiet?: boolean;
}

// Bytes queued per destination before lines are dropped: the file is the record, so it gets more.
const FILE_BUFFER_BYTES = 16 * 1024 * 1024;
const CONSOLE_BUFFER_BYTES = 4 * 1024 * 1024;
// How often dropped lines are reported, and a broken log file is tried again.
const REPORT_MS = 1000;

export const LOG_FILE = 'presenter.log';

// The supervisor is the one writer of the log file: workers write JSON lines to their stdout,
// the supervisor forwards whole lines here. So rotation is done once, by one process, in order.
export class LogSink {
  readonly file: string;
  private fileStream: RotatingFileStream;
  private readonly fileLines: BoundedLines;
  private fileError: string | undefined;
  private readonly consoleStream: Writable | undefined;
  private readonly consoleLines: BoundedLines | undefined;
  private readonly console: Writable;
  private reportTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: SinkOptions) {
    this.console = options.console;
    ensureDirSync(options.logDir);
    this.file = join(options.logDir, options.fileName ?? LOG_FILE);
    this.fileStream = this.openFile();
    this.fileLines = new BoundedLines(this.fileStream, FILE_BUFFER_BYTES);
    if (!options.quiet) {
      const pretty = options.pretty ?? Boolean(options.console.isTTY);
      this.consoleStream = pretty
        ? PinoPretty({
            destination: options.console as never,
            sync: false,
            translateTime: 'SYS:HH:MM:ss.l',
            singleLine: true,
            messageFormat: 'w{worker} {msg}',
            ignore: 'hostname,worker,event,reqId',
          })
        : options.console;
      this.consoleLines = new BoundedLines(this.consoleStream, CONSOLE_BUFFER_BYTES);
    }
  }

  private openFile(): RotatingFileStream {
    const name = this.options.fileName ?? LOG_FILE;
    const stream = createStream(((index: number | null) => (index === null ? name : `${name}.${index}`)) as never, {
      path: this.options.logDir,
      size: `${Math.max(1, Math.round(this.options.maxBytes / 1024))}K`,
      rotate: this.options.maxFiles,
      mode: 0o600, // talk ids are in the logs: private whatever the umask (private-files.ts)
    });
    // A failed write (ENOSPC, EIO) ends the stream: from then on lines are counted as dropped,
    // and the file is opened again once a second until it takes writes (the disk has room again).
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (stream !== this.fileStream || this.fileError) return;
      this.fileError = error.code ?? error.message;
      this.fileLines.addDropped(1); // the write that failed: at least one line
      this.console.write(`presenter-serve: cannot write the log file ${this.file}: ${error.message}; dropping lines until it works again\n`);
      stream.destroy();
      this.scheduleReport();
    });
    return stream;
  }

  /**
   * Opens the log file again by its name (SIGUSR1, logrotate's postrotate): after
   * `mv presenter.log presenter.log.1` the lines queued so far still go to the moved file, the
   * next ones to a new presenter.log.
   */
  reopen(): void {
    if (this.closed) return;
    const old = this.fileStream;
    this.fileStream = this.openFile();
    this.fileLines.replace(this.fileStream);
    this.fileError = undefined; // a broken file is replaced too; its dropped lines are still reported
    if (!old.destroyed) old.end();
  }

  /** Writes complete JSON lines (a chunk ending in a newline). */
  write(lines: string | Buffer): boolean {
    if (this.consoleLines && !this.consoleLines.write(lines)) this.scheduleReport();
    if (this.fileLines.write(lines)) return true;
    this.scheduleReport();
    return false;
  }

  private scheduleReport(): void {
    if (this.reportTimer || this.closed) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.report();
    }, REPORT_MS);
    this.reportTimer.unref();
  }

  // Dropped lines become one `log.dropped` line in the file (the console may be the pipe nobody
  // reads; the file is what operators look at). A broken file is reopened first.
  private report(): void {
    if (this.fileError && !this.closed) {
      truncatePartialLine(this.file);
      this.fileStream = this.openFile();
      this.fileLines.replace(this.fileStream);
      const code = this.fileError;
      this.fileError = undefined;
      this.droppedLine(this.fileLines.takeDropped(), 'file', `the log file could not be written (${code})`);
    }
    const fromConsole = this.consoleLines?.takeDropped() ?? 0;
    if (fromConsole > 0) this.droppedLine(fromConsole, 'console', 'stdout did not keep up (a pipe nobody reads?)');
    const fromFile = this.fileLines.takeDropped();
    if (fromFile > 0) this.droppedLine(fromFile, 'file', 'the log file did not keep up');
  }

  private droppedLine(dropped: number, destination: 'console' | 'file', why: string): void {
    if (dropped === 0) return;
    const line = `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, hostname: hostname(), worker: 0, event: 'log.dropped', dropped, destination, msg: `${dropped} log lines dropped: ${why}` })}\n`;
    if (!this.fileLines.write(line)) return; // counted again, reported next time
    this.scheduleCheck();
  }

  // Keep reporting while a destination stays backed up.
  private scheduleCheck(): void {
    if (this.fileError || (this.consoleLines && !this.consoleLines.open) || !this.fileLines.open) this.scheduleReport();
  }

  /** Forwards a child's output in whole lines so that two workers' lines never interleave. */
  forward(stream: Readable): void {
    forwardLines(stream, (lines) => this.write(lines));
  }

  async close(): Promise<void> {
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    this.report();
    this.closed = true;
    if (!this.fileStream.destroyed) await new Promise<void>((resolve) => this.fileStream.end(() => resolve()));
    // the pretty printer buffers: end it; a raw stdout belongs to the process and stays open
    if (this.consoleStream && this.consoleStream !== this.console) {
      await new Promise<void>((resolve) => this.consoleStream!.end(() => resolve()));
    }
  }
}

/** Hands a stream's bytes on in whole lines (a chunk up to its last newline; the rest waits). */
export function forwardLines(stream: Readable, write: (lines: Buffer) => void): void {
  // Bytes, not strings: nothing is decoded on this path, only the last newline is found.
  let partial: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    const end = chunk.lastIndexOf(10);
    if (end === -1) {
      partial.push(chunk);
      return;
    }
    const head = end === chunk.length - 1 ? chunk : chunk.subarray(0, end + 1);
    const lines = partial.length > 0 ? Buffer.concat([...partial, head]) : head;
    partial = end === chunk.length - 1 ? [] : [chunk.subarray(end + 1)];
    write(lines);
  });
  stream.on('end', () => {
    if (partial.length > 0) write(Buffer.concat([...partial, Buffer.from('\n')]));
    partial = [];
  });
}
