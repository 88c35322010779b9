import type { ServerResponse } from 'node:http';

/**
 * What the worker's heartbeat answer says about HTTP: requests taken since the start (`served`,
 * for --max-requests and requests/s) and requests being served now (`inFlight`, in the
 * `worker.hung` line: what a frozen worker was doing). Counted by the server's one request
 * listener (fast-get.ts). A read answered in the turn it arrived in is never in flight when a
 * heartbeat is answered, so it is only counted as served; any other request is in flight until
 * its response closes. No closure and no `once` wrapper per request: one shared listener.
 */
export class RequestCounts {
  served = 0;
  private readonly open = new Set<ServerResponse>();
  private readonly closed: (this: ServerResponse) => void;

  constructor() {
    const open = this.open;
    // a listener is called with the emitter as `this`: the response that closed
    this.closed = function (this: ServerResponse) {
      open.delete(this);
    };
  }

  /** A request answered later than the turn it arrived in: in flight until its response closes. */
  track(response: ServerResponse): void {
    this.open.add(response);
    response.on('close', this.closed);
    // Where nothing reads the count often (the windows profile reads it only for `status`), the
    // dead responses below would pile up: pruned whenever the set has doubled since the last time.
    if (this.open.size >= this.pruneAt) {
      this.prune();
      this.pruneAt = Math.max(PRUNE_MIN, 2 * this.open.size);
    }
  }

  /** Responses not closed, on connections still open. */
  get inFlight(): number {
    this.prune();
    return this.open.size;
  }

  /** Responses held, dead ones not yet pruned included: at most about twice those in flight. */
  get held(): number {
    return this.open.size;
  }

  private pruneAt = PRUNE_MIN;

  // A pipelined request queued behind another whose connection closes first never gets its
  // response's 'close' (Node destroys the queued requests, not their responses): dropped here.
  private prune(): void {
    for (const response of this.open) if (response.req.socket?.destroyed !== false) this.open.delete(response);
  }
}

const PRUNE_MIN = 64;
