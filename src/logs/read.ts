import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { LogInput } from './files.js';
import { unreadable } from './files.js';
import { LineSplitter, type LineHandler } from './lines.js';

export interface ReadResult {
  lines: number;
  /** A gzip'd file that ends early (rotation or copy cut short): what came before is still read. */
  truncated: boolean;
  /** Lines over the cap, skipped unread (not in `lines`). */
  oversized: number;
}

export interface ReadOptions {
  /** Raw bytes read from disk (compressed bytes for .gz), for the progress bar. */
  onBytes?: (n: number) => void;
  /** Awaited between chunks: lets a slow stdout push back. */
  afterChunk?: () => Promise<void> | undefined;
  /** Stops reading (Ctrl+C, or stdout closed). */
  signal?: AbortSignal;
  /** Longer lines are skipped and counted. @default DEFAULT_MAX_LINE_BYTES */
  maxLineBytes?: number;
  onOversized?: (bytes: number) => void;
  /** Bytes read (and decompressed) at a time: smaller when several files are open at once. @default 1 MiB */
  chunkBytes?: number;
}

const CHUNK = 1024 * 1024;

/** Streams one file line by line, gunzipping when the file starts with the gzip magic. */
export async function readLines(input: LogInput, onLine: LineHandler, options: ReadOptions = {}): Promise<ReadResult> {
  const size = options.chunkBytes ?? CHUNK;
  const raw = createReadStream(input.path, { highWaterMark: size });
  if (options.onBytes) {
    const onBytes = options.onBytes;
    raw.on('data', (chunk) => onBytes(chunk.length));
  }
  const source = input.gzip ? raw.pipe(createGunzip({ chunkSize: size })) : raw;
  if (input.gzip) raw.on('error', (error) => source.destroy(error));
  const splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes, onOversized: options.onOversized });
  let lines = 0;
  const count: LineHandler = (line) => {
    lines++;
    onLine(line);
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      splitter.push(chunk, count);
      const wait = options.afterChunk?.();
      if (wait) await wait;
      if (options.signal?.aborted) {
        raw.destroy();
        return { lines, truncated: false, oversized: splitter.oversized };
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (input.gzip && (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR')) {
      splitter.end(count);
      raw.destroy();
      return { lines, truncated: true, oversized: splitter.oversized };
    }
    throw unreadable(input.path, error);
  }
  splitter.end(count);
  return { lines, truncated: false, oversized: splitter.oversized };
}
