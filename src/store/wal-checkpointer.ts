// WAL checkpoints off the event loop. SQLite copies the write-ahead log back into the database
// file (a checkpoint) from inside the COMMIT that takes the log past 1000 pages: that commit then
// writes ~4 MiB and fsyncs, 40-50 ms on this project's machines where the commit alone takes a
// few (bench/sections/eventloop.js: every third 1 MiB talk stored). Here the worker's connection
// never checkpoints (wal_autocheckpoint = 0); a thread with its own connection to the same file
// runs a PASSIVE checkpoint every CHECK_EVERY_MS when anything was written since the last one.
// A PASSIVE checkpoint waits for no lock: it copies what no reader still needs and leaves the
// rest for the next round, as SQLite's own automatic one does.
//
// The thread shares an Int32Array with the store: the store adds 1 per write transaction (no
// message, no syscall on the request path); the thread sleeps on it with Atomics.wait and is
// woken early only to stop. If the thread cannot start or dies, the store's connection goes back
// to SQLite's automatic checkpoints and the owner is told once.
import { Worker } from 'node:worker_threads';
import type { SqliteDriverName } from './sqlite-driver-name.js';

export const CHECK_EVERY_MS = 100;
/** Indexes into the shared Int32Array. */
export const WRITES = 0;
export const STOP = 1;
export const CHECKPOINTS = 2;

export interface CheckpointerEvents {
  /** The thread has its connection: the store may turn its own checkpoints off. */
  ready(): void;
  /** The thread failed to start or died: the store must checkpoint by itself again. */
  failed(reason: string): void;
  /** A checkpoint failed (a full disk, an I/O error); said once per kind until one succeeds. */
  error(code: string, reason: string): void;
}

export interface CheckpointThreadData {
  file: string;
  driver: SqliteDriverName | undefined;
  state: SharedArrayBuffer;
  everyMs: number;
}

export class WalCheckpointer {
  private readonly state = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private stopping = false;

  constructor(file: string, driver: SqliteDriverName | undefined, events: CheckpointerEvents, everyMs = CHECK_EVERY_MS) {
    const data: CheckpointThreadData = { file, driver, state: this.state.buffer as SharedArrayBuffer, everyMs };
    this.worker = new Worker(new URL('./wal-checkpoint-thread.js', import.meta.url), { workerData: data, name: 'presenter wal checkpoints' });
    // the thread must not keep a worker that has nothing else to do alive
    this.worker.unref();
    let failed = false;
    const fail = (reason: string): void => {
      if (failed || this.stopping) return;
      failed = true;
      events.failed(reason);
    };
    this.worker.on('message', (message: { type: string; reason?: string; code?: string }) => {
      if (message.type === 'ready') events.ready();
      else if (message.type === 'failed') fail(message.reason ?? 'unknown error');
      else if (message.type === 'checkpoint_error') events.error(message.code ?? 'unknown', message.reason ?? '');
    });
    this.worker.on('error', (error) => fail(error.message));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        fail(`the checkpoint thread exited (code ${code})`);
        resolve();
      });
    });
  }

  /** One more write transaction committed: the next round checkpoints. */
  noteWrite(): void {
    Atomics.add(this.state, WRITES, 1);
  }

  /** Checkpoints run so far (for tests). */
  get checkpoints(): number {
    return Atomics.load(this.state, CHECKPOINTS);
  }

  /**
   * Stops the thread: it closes its connection, and the last connection to close checkpoints the
   * whole log and removes it (SQLite does that at close). Terminated after `timeoutMs`.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    Atomics.store(this.state, STOP, 1);
    Atomics.notify(this.state, STOP);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}
