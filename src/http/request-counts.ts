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
  inFlight = 0;
  private readonly closed = (): void => {
    this.inFlight--;
  };

  /** A request answered later than the turn it arrived in. Its response emits 'close' once (Node's `_closed` guard). */
  track(response: ServerResponse): void {
    this.inFlight++;
    response.on('close', this.closed);
  }
}
