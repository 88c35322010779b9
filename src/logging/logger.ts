import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/defaults.js';
import { makePipeBlocking } from './blocking-pipe.js';

export type { Logger };

const GENERIC_EVENT = { event: 'log' } as const;

// pino's default merge is Object.assign(mixinResult, line): a mixin that returns a shared object
// collects every line's fields into it, and each later line carries them. Lines that name their
// event are written as given; the others get a fresh object with event: 'log'.
function mergeEvent(line: object, generic: object): object {
  return 'event' in line ? line : { ...generic, ...line };
}

// Every line carries pid, hostname, worker (0 for the primary) and event, as DESIGN.md's log table says.
export function createLogger(level: LogLevel, worker: number, destination: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), worker },
      // a line without an event of ours (Fastify's own "Server listening at …") still has one
      mixin: () => GENERIC_EVENT,
      mixinMergeStrategy: mergeEvent,
      redact: { paths: ['apiKey', '*.apiKey', 'headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}

/** A worker's logger: JSON lines to its stdout, a pipe the supervisor reads and owns. */
export function createWorkerLogger(level: LogLevel, worker: number): Logger {
  makePipeBlocking(1);
  return createLogger(level, worker, pino.destination({ dest: 1, sync: false }));
}

type Destination = { write: unknown; flushSync: unknown; end: unknown; destroy: unknown };
const noop = (): void => {};

// A worker's stdout is a pipe that only its supervisor reads. Once the supervisor is gone, every
// write fails with EPIPE, and sonic-boom 4's flushSync (called by ours and by pino's exit hook)
// retries a failed write every 100 ms forever unless the error is EAGAIN — the worker never
// exits. pino neuters its stream the same way when an asynchronous write reports EPIPE
// (filterBrokenPipe in pino/lib/tools.js); this does it before any write can hang.
/** Drops every further line and flush: the reader of the log pipe is gone. */
export function dropLogOutput(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as Destination | undefined;
  if (!stream) return;
  stream.write = () => true;
  stream.flushSync = noop;
  stream.end = noop;
  stream.destroy = noop;
}

/**
 * Waits (up to `timeoutMs`) until the logger's asynchronous write in flight, if any, is done. A
 * write blocked on a full pipe (blocking-pipe.ts) still holds its chunk, and sonic-boom's
 * flushSync would write the lines after it first: a stopping worker calls this before
 * flushLoggerSync, so its last lines reach the file in order.
 */
export async function drainLogger(logger: Logger, timeoutMs: number): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { _writing?: unknown } | undefined;
  const deadline = Date.now() + timeoutMs;
  while (stream?._writing === true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Writes whatever is buffered before the process exits (pino's exit guarantee). */
export function flushLoggerSync(logger: Logger): void {
  try {
    logger.flush();
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as { flushSync?: () => void } | undefined;
    stream?.flushSync?.();
  } catch {
    // the pipe may be gone when the supervisor died first: nothing left to write to
  }
}
