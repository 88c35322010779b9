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

  constructor(options: SinkOptions) {
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

  /** Forwards a child's output line by line so that two workers' lines never interleave. */
  forward(stream: Readable): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const end = chunk.lastIndexOf('\n');
      if (end === -1) {
        partial += chunk;
        return;
      }
      const lines = partial + chunk.slice(0, end + 1);
      partial = chunk.slice(end + 1);
      this.write(lines);
    });
    stream.on('end', () => {
      if (partial) this.write(`${partial}\n`);
      partial = '';
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.fileStream.end(() => resolve());
    });
    if (this.consoleStream && this.consoleStream !== (this as unknown)) {
      await new Promise<void>((resolve) => {
        const s = this.consoleStream as Writable & { flush?: () => void };
        if (s === process.stdout || s === process.stderr || typeof (s as { end?: unknown }).end !== 'function') return resolve();
        s.end(() => resolve());
      });
    }
  }
}
