import type { Writable } from 'node:stream';

export interface Progress {
  add(bytes: number): void;
  done(): void;
}

const NONE: Progress = { add: () => {}, done: () => {} };
export const PROGRESS_MIN_BYTES = 50 * 1024 * 1024;

/** A one-line bar on stderr, only for a person watching (a TTY) and a read long enough to wait for. */
export function createProgress(stream: Writable & { isTTY?: boolean; columns?: number }, total: number, now: () => number): Progress {
  if (!stream.isTTY || total <= PROGRESS_MIN_BYTES) return NONE;
  const started = now();
  let read = 0;
  let last = 0;
  const draw = (): void => {
    const fraction = Math.min(1, read / total);
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 40));
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const mbs = read / 1e6 / seconds;
    stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${(read / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB  ${mbs.toFixed(0)} MB/s `);
  };
  return {
    add(bytes) {
      read += bytes;
      const t = now();
      if (t - last >= 100) {
        last = t;
        draw();
      }
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
