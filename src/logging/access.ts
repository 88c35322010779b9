import pino from 'pino';
import { makePipeBlocking } from './blocking-pipe.js';
import { createLogger, type Logger } from './logger.js';

// The access log (`serve --access-log FILE|-`, gunicorn's --access-logfile): one JSON line per
// request, apart from the main log. JSON like the main log, so `jq` and the log tools read both
// the same way and a path or user agent cannot break a line (the combined format has no escaping
// rule for a quote in a user agent).
//
// One writer, as for the main log: a worker writes its lines to a pipe of its own (fd 4, beside
// the main log's stdout), and the supervisor forwards whole lines to the file. Several workers'
// lines never interleave, the file is rotated by one process, and SIGUSR1 reopens it in one place.
// The supervisor's end is access-sink.ts: a worker does not load the file sink and its rotation.

/** The worker's end of the access-log pipe. */
export const ACCESS_FD = 4;
/** Worker stdio when the access log is on: the usual pipes and IPC channel, and fd 4. */
export const ACCESS_STDIO = ['pipe', 'pipe', 'pipe', 'ipc', 'pipe'] as const;

/** The access logger of a forked worker: JSON lines into fd 4, which the supervisor reads. */
export function createWorkerAccessLogger(worker: number): Logger {
  makePipeBlocking(ACCESS_FD);
  return createLogger('info', worker, pino.destination({ dest: ACCESS_FD, sync: false }));
}
