import type { Server } from 'node:net';

/**
 * Descriptors of the listening socket polled by all the workers of a host together. Each arriving
 * connection wakes every one of them, and all but one find nothing: with connections that arrive
 * one at a time (clients without keep-alive), 2 workers × 16 cost ~30 µs more CPU per connection
 * than 2 × 1 (~110 µs), 2 × 64 ~100 µs more. With 1,000 clients connecting at once to a busy
 * worker, 16 left the last ones waiting up to 1-2 s in some runs, 64 up to 0.5 s, 1 up to 8 s.
 */
export const ACCEPT_COPIES_TOTAL = 32;

/**
 * How many descriptors of the listening socket one worker polls, its own included: up to this many
 * connections are accepted in one turn of its event loop. The host's 32 shared among its workers
 * (safe: 32, advanced: 16 each), and one per 64 open files the worker may have (Node raises its
 * soft limit to the hard one: a hard limit of 1,024 gives 16, systemd's usual 524,288 no cap; 16
 * where the limit is not known). The copies are added to the descriptors a worker keeps for what
 * is not a connection (service.ts). One on Windows, where libuv accepts differently (AcceptEx)
 * and this was not measured.
 */
export function acceptCopiesFor(openFiles: number | null | undefined, workers: number, platform: NodeJS.Platform = process.platform): number {
  if (platform === 'win32') return 1;
  const share = Math.max(1, Math.floor(ACCEPT_COPIES_TOTAL / Math.max(1, workers)));
  if (openFiles === null) return share; // unlimited
  const byFiles = openFiles === undefined ? 16 : Math.max(1, Math.floor(openFiles / 64));
  return Math.min(share, byFiles);
}

/** A listening TCP handle received over IPC (libuv's TCPWrap, as `net.Native` sends it). */
interface ListenHandle {
  listen(backlog: number): number;
  close(): void;
  onconnection?: unknown;
  [key: symbol]: unknown;
}

/**
 * Since libuv 1.45 (Node 20 and later) a listening socket accepts one connection each time the
 * event loop polls it: one per turn (libuv pull request 3696). A worker busy with 1,000 keep-alive
 * clients takes ~25 ms a turn, so a burst of new connections (clients reconnecting after a reload,
 * nginx opening upstream connections under a peak, a load generator's start) waited in the kernel's
 * accept queue for seconds: their first requests were the multi-second tails of `npm run bench`
 * under wrk, for the plain node:http ceiling as for serve (tcpdump: the requests were acknowledged
 * by the kernel at once and answered 0.5-3.3 s later, one connection every ~27 ms).
 *
 * A worker therefore listens on several descriptors of the one socket: the supervisor sends it
 * several times over IPC (acceptCopiesFor), each a duplicate descriptor polled on its own, all
 * before the worker listens (main.ts says why). Each copy accepts into the HTTP server's own
 * accept callback (Node's `onconnection`, bound to the server by its owner symbol), so the
 * server's connection count, `maxConnections` and its `drop` event, `noDelay`, keep-alive and
 * `close()` cover every connection whichever copy accepted it. Closing the server closes the
 * copies first: a stopping worker accepts nothing more.
 *
 * Those two fields are Node internals (lib/net.js), as `net._createServerHandle` is for the
 * supervisor's socket: when a Node version lacks them, the copies are closed and the worker
 * accepts on its one descriptor, as before (`worker.ready` logs `listenDescriptors`, and
 * `worker.accept_copies_refused` warns).
 */
export class AcceptCopies {
  private readonly waiting: ListenHandle[] = [];
  private readonly listening: ListenHandle[] = [];
  private server: Server | undefined;
  private done = false;
  /** Copies that were refused (an unknown Node, a listen error): closed, never polled. */
  refused = 0;

  /**
   * @param backlog the accept queue's length, as the server listens with
   * @param wanted descriptors to poll, the server's own included (acceptCopiesFor)
   */
  constructor(
    private readonly backlog: number,
    readonly wanted: number,
  ) {}

  /** Copies accepting into the server now, besides its own descriptor. */
  get armed(): number {
    return this.listening.length;
  }

  /** The server listens on its own descriptor: copies that came before and after accept into it. */
  attach(server: Server): void {
    if (this.server || this.done) return;
    this.server = server;
    const close = server.close;
    server.close = ((...args: Parameters<Server['close']>) => {
      this.close();
      return close.apply(server, args);
    }) as Server['close'];
    for (const handle of this.waiting.splice(0)) this.arm(handle);
  }

  /** A copy of the listening socket from the supervisor. */
  add(handle: unknown): void {
    const h = handle as ListenHandle | undefined;
    if (!h || typeof h.listen !== 'function' || typeof h.close !== 'function') return;
    if (this.done) h.close();
    else if (this.server) this.arm(h);
    else this.waiting.push(h);
  }

  /** Closes every copy (the server's own descriptor is the server's to close); later copies are closed as they come. */
  close(): void {
    this.done = true;
    for (const h of [...this.waiting.splice(0), ...this.listening.splice(0)]) h.close();
  }

  private arm(handle: ListenHandle): void {
    const server = this.server!;
    const own = (server as unknown as { _handle?: ListenHandle | null })._handle;
    const owner = own ? Object.getOwnPropertySymbols(own).find((s) => s.description === 'owner_symbol') : undefined;
    if (!server.listening || !own || !owner || own[owner] !== server || typeof own.onconnection !== 'function') {
      this.refused++;
      handle.close();
      return;
    }
    handle.onconnection = own.onconnection;
    handle[owner] = server;
    if (handle.listen(this.backlog) !== 0) {
      this.refused++;
      handle.close();
      return;
    }
    this.listening.push(handle);
  }
}
