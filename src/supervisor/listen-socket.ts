import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** The accept queue's length: connections wait there while no worker is accepting. */
export const LISTEN_BACKLOG = 2048;

/** The most descriptors of the socket one worker gets (worker/accept-copies.ts). */
const MAX_COPIES = 64;

/** How many times the socket is sent to a worker that asked for `asked` copies: 1 to 64. */
export function listenCopies(asked: unknown): number {
  return typeof asked === 'number' && Number.isInteger(asked) && asked >= 1 ? Math.min(asked, MAX_COPIES) : 1;
}

/** The TCP handle Node's cluster module shares (`net._createServerHandle`): bound, not yet polled. */
interface ServerHandle {
  close(callback?: () => void): void;
}
type CreateServerHandle = (address: string, port: number, addressType: number, fd: number, flags: number) => ServerHandle | number;

/**
 * The supervisor owns the listening socket for its whole life, as gunicorn's arbiter does: it
 * binds it once and gives a descriptor of it to every worker, which listens on it and accepts
 * from it directly. The supervisor never polls it, so it takes no connection away from a worker
 * and costs nothing per connection. While no worker is accepting (the only worker was killed and
 * is being replaced), the supervisor's descriptor keeps the socket open and listening: clients
 * wait in the kernel's accept queue instead of being refused, and the replacement accepts them.
 *
 * Node's cluster module shares a socket the same way (SCHED_NONE) but closes it with its last
 * worker; handing over each accepted connection instead (cluster's round-robin) costs an IPC
 * round trip per connection, one at a time, which made 200 new connections wait up to 4 s for
 * a busy worker.
 */
export class ListenSocket {
  private constructor(private handle: ServerHandle | undefined) {}

  /** Binds host:port; an error carries the system's code (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  static async bind(host: string, port: number): Promise<ListenSocket> {
    const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
    if (typeof create !== 'function') throw new Error(`this Node.js (${process.version}) has no net._createServerHandle, which serve needs to share its listening socket`);
    const { address, family } = await lookup(host);
    const handle = create(address, port, family === 6 ? 6 : 4, -1, 0);
    if (typeof handle === 'number') {
      const code = getSystemErrorName(handle);
      throw Object.assign(new Error(`cannot listen on ${host}:${port}: ${code}`), { code });
    }
    return new ListenSocket(handle);
  }

  /** What a worker listens on, sent with a message over IPC; undefined once closed. */
  get sendable(): ServerHandle | undefined {
    return this.handle;
  }

  /** The supervisor's descriptor; the socket closes when the last worker's closes too. */
  close(): void {
    this.handle?.close();
    this.handle = undefined;
  }
}
