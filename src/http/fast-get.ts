import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ROW_ID } from '../store/ids.js';
import type { Store } from '../store/types.js';
import type { ServiceMetrics } from './metrics.js';
import type { RequestCounts } from './request-counts.js';
import { API_HEADERS } from './protocol-errors.js';

const PREFIX = '/api/presentations/';

export interface FastGetOptions {
  store: Store;
  metrics: ServiceMetrics;
  /** The server is closing: answers must say `Connection: close` (Fastify's onSend does). */
  closing: () => boolean;
  /** Every request is counted here (served, in flight). */
  counts: RequestCounts;
  /** Answer reads in front of Fastify; false: only count, every request is Fastify's. */
  fastGet: boolean;
}

/**
 * Polling `GET /api/presentations/:id` is most of the traffic (the web page polls it until the
 * feedback is there). Fastify's routing, hooks and reply machinery cost about as much CPU as the
 * request itself (npm run bench --cpu-prof), so a found presentation is answered here, in front
 * of Fastify, with the same status, headers and body (test/fast-get.test.js compares the two
 * byte for byte). Everything else goes to Fastify untouched: another method or path, a query
 * string, a body, an id no store made, an unknown id, a store error, a server that is closing.
 * The fast answers are only given when nothing is logged per request (no access log, not debug):
 * those lines are Fastify's. Either way this is the server's one request listener, and counts
 * every request (request-counts.ts).
 */
export function installFastGet(app: FastifyInstance, options: FastGetOptions): void {
  const server = app.server;
  const fastify = server.listeners('request') as RequestListener[];
  if (fastify.length !== 1) throw new Error(`expected Fastify's one request listener, found ${fastify.length}`);
  const fastifyListener = fastify[0]!;
  server.removeListener('request', fastifyListener);
  const { counts } = options;
  // a request Fastify answers is in flight until its response closes
  const next = (request: IncomingMessage, response: ServerResponse): void => {
    counts.track(response);
    fastifyListener(request, response);
  };
  if (!options.fastGet) {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      counts.served++;
      next(request, response);
    });
    return;
  }
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    counts.served++;
    const url = request.url;
    if (
      request.method !== 'GET' ||
      url === undefined ||
      url.length !== PREFIX.length + 36 ||
      !url.startsWith(PREFIX) ||
      request.headers['content-length'] !== undefined ||
      request.headers['transfer-encoding'] !== undefined ||
      options.closing()
    ) {
      next(request, response);
      return;
    }
    const id = url.slice(PREFIX.length);
    if (!ROW_ID.test(id)) {
      next(request, response);
      return;
    }
    const started = performance.now();
    const answer = (body: string | Uint8Array): void => {
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
        'cache-control': API_HEADERS['cache-control'],
        'x-content-type-options': API_HEADERS['x-content-type-options'],
      });
      response.end(body);
      options.metrics.fastGet((performance.now() - started) / 1000);
    };
    const sync = options.store.presentationBody;
    if (sync) {
      // SQLite: the body comes from the query itself, in this turn of the event loop
      let body: Uint8Array | undefined;
      try {
        body = sync.call(options.store, id);
      } catch {
        // the store's error answers (503 with Retry-After, 500) are Fastify's error handler's
      }
      // bytes that are not UTF-8 (a title with a lone surrogate stored by an earlier version through
      // better-sqlite3, a row written by another tool): the route's, which reads them as text with
      // U+FFFD, as it always did (~0.1 µs per poll to check)
      if (body === undefined || !isUtf8(body)) next(request, response);
      else answer(body);
      return;
    }
    // PostgreSQL: answered after a round trip, in flight until then
    counts.track(response);
    options.store.getPresentationRaw(id).then(
      (record) => {
        if (!record || options.closing() || response.headersSent || response.destroyed) {
          if (!response.headersSent && !response.destroyed) fastifyListener(request, response);
          return;
        }
        // The feedback is stored as JSON: spliced in, as the Fastify route does.
        const { feedbackJson, ...view } = record;
        const head = JSON.stringify(view);
        answer(`${head.slice(0, -1)},"feedback":${feedbackJson ?? 'null'}}`);
      },
      () => {
        if (!response.headersSent && !response.destroyed) fastifyListener(request, response);
      },
    );
  });
}
