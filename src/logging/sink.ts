import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import PinoPretty from 'pino-pretty';

export interface SinkOptions {
  logDir: string;
  maxBytes: number;
  maxFiles: number;
  console: Writable & { isTTY?: boolean };
  /** Pretty-print to the console (default: when it is a TTY). */
  pretty?: boolean;
  /** Nothing to the console (tests, `serve --quiet`). */
  quiet?: boolean;
}

export const LOG_FILE = 'presenter.log';

// The supervisor is the one writer of the log file: workers write JSON lines to their stdout,
// the supervisor forwards whole lines here. So rotation is done once, by one process, in order.
export class LogSink {
  readonly file: string;
  private readonly fileStream: RotatingFileStream;
  private readonly consoleStream: Writable | undefined;
  private readonly console: Writable;

  constructor(options: SinkOptions) {
    this.console = options.console;
    mkdirSync(options.logDir, { recursive: true });
    this.file = join(options.logDir, LOG_FILE);
    this.fileStream = createStream(((index: number | null) => (index === null ? LOG_FILE : `${LOG_FILE}.${index}`)) as never, {
      path: options.logDir,
      size: `${Math.max(1, Math.round(options.maxBytes / 1024))}K`,
      rotate: options.maxFiles,
    });
    this.fileStream.on('error', (error) => {
      options.console.write(`presenter-serve: cannot write the log file ${this.file}: ${error.message}\n`);
    });
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
    }
  }

  /** Writes complete JSON lines (a chunk ending in a newline). */
  write(lines: string | Buffer): boolean {
    this.consoleStream?.write(lines);
    return this.fileStream.write(lines);
  }

  /** Forwards a child's output in whole lines so that two workers' lines never interleave. */
  forward(stream: Readable): void {
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
      this.write(lines);
    });
    stream.on('end', () => {
      if (partial.length > 0) this.write(Buffer.concat([...partial, Buffer.from('\n')]));
      partial = [];
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.fileStream.end(() => resolve()));
    // the pretty printer buffers: end it; a raw stdout belongs to the process and stays open
    if (this.consoleStream && this.consoleStream !== this.console) {
      await new Promise<void>((resolve) => this.consoleStream!.end(() => resolve()));
    }
  }
}
