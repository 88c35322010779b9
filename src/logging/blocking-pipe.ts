import { Socket } from 'node:net';

// A worker's log pipes (stdout, and fd 4 for the access log) are sockets to its supervisor that
// libuv left non-blocking. pino's sonic-boom meets a full socket (EAGAIN) by trying again 100 ms
// later, and its flushSync by sleeping 100 ms: at 12,000 lines a second (6,000 jobs/s, two lines
// each) the socket's ~200 KiB filled well within those 100 ms, so the worker fell behind by tens
// of thousands of lines (held in its memory, written seconds after the load ended) and a stop
// after load slept seconds in flushSync. Blocking, the same writes (in libuv's thread pool) and
// the exit's flushSync go on exactly when the supervisor has read: nothing waits longer.
//
// The price: a write waits for as long as the supervisor does not read. A supervisor that is
// stopped (SIGSTOP to it alone) holds its workers' exits, since process.exit joins the thread
// pool where a write waits, until it runs again (before, an exiting worker dropped its unwritten
// lines). A dead supervisor closes the pipe: the write fails with EPIPE at once. And sonic-boom's
// flushSync writes the newer lines while an older chunk still waits in the pool, putting that
// chunk after them: a stopping worker first waits for it (logger.ts drainLogger); a crashing one
// does not (before, the chunk was lost). Lines are never split.

type BlockingHandle = { setBlocking?: (blocking: boolean) => number };
/** The sockets opened to reach an fd's handle: kept, so that no garbage collection closes the fd. */
const kept: Socket[] = [];

/** Makes a worker's pipe to the supervisor blocking; false when the fd is no socket or pipe (a file, a terminal left as it is). */
export function makePipeBlocking(fd: number): boolean {
  if (process.platform === 'win32') return false; // Node makes stdio pipes blocking there already
  let handle: BlockingHandle | undefined;
  try {
    if (fd === 1) {
      if ((process.stdout as { isTTY?: boolean }).isTTY) return false;
      handle = (process.stdout as unknown as { _handle?: BlockingHandle })._handle;
    } else {
      const socket = new Socket({ fd, readable: false, writable: true });
      kept.push(socket);
      handle = (socket as unknown as { _handle?: BlockingHandle })._handle;
    }
  } catch {
    return false; // not a pipe or socket (EINVAL): sonic-boom writes it as it is
  }
  return typeof handle?.setBlocking === 'function' && handle.setBlocking(true) === 0;
}
