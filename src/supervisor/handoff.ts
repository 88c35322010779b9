import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WorkerProcess } from './worker-process.js';

/** Connections held while no worker is ready, and for how long at most (then closed). */
export const HANDOFF_QUEUE_MAX = 4096;
export const HANDOFF_WAIT_MAX_MS = 30_000;

/**
 * The supervisor owns the listening socket for its whole life (gunicorn's arbiter does the
 * same): it accepts each connection without reading from it and hands it to a ready worker over
 * IPC, round-robin. While no worker is ready (the only worker was killed and is being replaced),
 * connections wait here instead of being refused, and go to the replacement once it is ready.
 * With node:cluster's own sharing the socket closes with the last worker, and clients are
 * refused until a new one listens.
 */
export class ConnectionHandoff {
  private readonly server: Server;
  private readonly waiting: { socket: Socket; at: number }[] = [];
  private next = 0;
  private expiry: NodeJS.Timeout | undefined;
  private droppedAt = 0;
  private dropped = 0;
  private seq = 0;
  /**
   * Connections sent to a worker that has not said it took them. The supervisor keeps its own
   * descriptor of each until then (keepOpen): a worker that dies with connections still in its
   * IPC queue (killed, or stopped and then killed) would otherwise take them down with it, and
   * those clients would wait forever. Its connections go to another worker instead.
   */
  private readonly unconfirmed = new Map<number, { socket: Socket; proc: WorkerProcess }>();

  constructor(
    /** The workers that take new connections now: ready and serving (not retiring). */
    private readonly targets: () => WorkerProcess[],
    private readonly logger: Logger,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (socket) => this.dispatch(socket));
    this.server.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.server.listening) return; // a listen error: listen() rejects with it
      this.logger.error({ event: 'http.accept_failed', code: error.code, err: error }, `Cannot accept a connection: ${error.message}`);
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.server.once('error', fail);
      this.server.listen({ host, port, backlog: 2048 }, () => {
        this.server.off('error', fail);
        resolve();
      });
    });
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A worker became ready: the connections that waited for one go now. */
  flush(): void {
    while (this.waiting.length > 0 && this.targets().length > 0) this.dispatch(this.waiting.shift()!.socket);
    if (this.waiting.length === 0) this.stopExpiry();
  }

  private dispatch(socket: Socket): void {
    if (socket.destroyed) return;
    const targets = this.targets();
    if (targets.length === 0) {
      this.hold(socket);
      return;
    }
    const proc = targets[this.next++ % targets.length]!;
    const id = ++this.seq;
    this.unconfirmed.set(id, { socket, proc });
    try {
      proc.worker.send({ type: 'conn', id }, socket, { keepOpen: true }, (error) => {
        // the worker went away between the choice and the send: the socket is still ours
        if (error && this.unconfirmed.delete(id) && !socket.destroyed) this.dispatch(socket);
      });
    } catch {
      this.unconfirmed.delete(id);
      if (!socket.destroyed) this.hold(socket);
    }
  }

  /** The worker took connection `id`: our descriptor of it is closed (the worker's stays open). */
  taken(id: number): void {
    const entry = this.unconfirmed.get(id);
    if (!entry) return;
    this.unconfirmed.delete(id);
    entry.socket.destroy();
  }

  /** A worker exited: the connections it never took go to another worker (or wait for one). */
  workerGone(proc: WorkerProcess): void {
    for (const [id, entry] of this.unconfirmed) {
      if (entry.proc !== proc) continue;
      this.unconfirmed.delete(id);
      if (!entry.socket.destroyed) this.dispatch(entry.socket);
    }
  }

  private hold(socket: Socket): void {
    if (this.waiting.length >= HANDOFF_QUEUE_MAX) {
      socket.destroy();
      this.reportDrop('too many connections are waiting for a worker');
      return;
    }
    socket.on('error', () => {}); // a client that gives up while waiting
    this.waiting.push({ socket, at: Date.now() });
    if (!this.expiry) {
      this.expiry = setInterval(() => this.expire(), 1000);
      this.expiry.unref();
    }
  }

  private expire(): void {
    const now = Date.now();
    while (this.waiting.length > 0 && now - this.waiting[0]!.at > HANDOFF_WAIT_MAX_MS) {
      this.waiting.shift()!.socket.destroy();
      this.reportDrop(`no worker became ready within ${HANDOFF_WAIT_MAX_MS / 1000} s`);
    }
    if (this.waiting.length === 0) this.stopExpiry();
  }

  private stopExpiry(): void {
    clearInterval(this.expiry);
    this.expiry = undefined;
  }

  private reportDrop(why: string): void {
    const now = Date.now();
    this.dropped++;
    if (now - this.droppedAt < 1000) return;
    this.droppedAt = now;
    this.logger.error({ event: 'http.connection_dropped', reason: why, dropped: this.dropped }, `Closed ${this.dropped} waiting connection(s): ${why}`);
    this.dropped = 0;
  }

  /**
   * Stops accepting (the stop of the whole server); connections still waiting are closed. The
   * listening socket closes at once; close()'s callback is not waited for: it waits until every
   * connection handed to a worker is reported closed, which a worker that exits never does.
   */
  close(): void {
    this.stopExpiry();
    for (const { socket } of this.waiting.splice(0)) socket.destroy();
    if (this.server.listening) this.server.close();
  }
}
