import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';
import { errorHandler, HttpError, sendError } from './errors.js';
import { installFastGet } from './fast-get.js';
import type { ServiceMetrics } from './metrics.js';
import type { RequestCounts } from './request-counts.js';
import { presentationRoutes } from './presentations.js';
import { API_HEADERS, clientErrorHandler, frameworkErrors } from './protocol-errors.js';
import { queueCap } from './queue-cap.js';
import { registerRateLimit, type RateHit } from './rate-limit.js';
import { lazySerializers, precompiledValidators, type ValidatorFactory } from './validators.js';
import { webRoutes } from './web.js';

export interface AppOptions {
  store: Store;
  logger: Logger;
  /** One line per request (serve --access-log); undefined: none. Never the main log. */
  accessLog?: Logger;
  metrics: ServiceMetrics;
  bodyLimit: number;
  jobAttempts: number;
  adminToken: string | undefined;
  /** Creates (and, separately, regenerations) per minute per client; 0 = no limit. */
  rateLimit: number;
  /** Counts a client's request in the one counter of the server (see rate-counter.ts). */
  rateHit: RateHit;
  /** Queued jobs at which new ones are refused with 503 QUEUE_FULL; 0 = no cap. */
  maxQueue: number;
  /** Proxies whose X-Forwarded-For names the client (addresses, CIDR ranges); empty = none. */
  trustProxy: readonly string[];
  onEnqueue: () => void;
  /** Whether the job runner is alive, for /readyz. */
  jobsAlive: () => boolean;
  /** Prometheus text for /metrics (aggregated over all workers when there are several). */
  metricsText: () => Promise<string>;
  /** Requests served and in flight, for the heartbeat (request-counts.ts). */
  counts: RequestCounts;
  /** How request schemas become validators; default: the build's precompiled ones (validators.ts); null: Fastify's own. */
  validators?: ValidatorFactory | null;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

// Compares digests, not the tokens: their lengths are equal whatever was sent, so neither the
// comparison's time nor an early length check tells an attacker the token's length.
function tokenMatches(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** One warning per start that compiles validators: `dist/http/validators/` is missing or older than the code. */
function compiledAtStart(logger: Logger): (key: string) => void {
  let warned = false;
  return (key) => {
    if (warned) return;
    warned = true;
    logger.warn(
      { event: 'http.validators_compiled', validator: key },
      `request validators compiled at start (${key} and any others): the build's dist/http/validators/ is missing or was made for other code; run npm run build`,
    );
  };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // no request lines in the main log: one `http.request` line per request goes to the access
    // log when it is on (below), as gunicorn does; health checks and scrapes stay out of the log
    logController: new LogController({ disableRequestLogging: true }),
    // no per-request child logger: nothing per request is written with the worker's logger
    childLoggerFactory: (logger) => logger,
    // a proxy's X-Request-Id is kept (when it looks like one) so its log and ours can be joined
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: options.bodyLimit,
    // keep answering requests on open connections while closing: the stop sequence in
    // worker/service.ts drains keep-alive connections itself (zero-downtime reload)
    return503OnClosing: false,
    forceCloseConnections: false,
    trustProxy: options.trustProxy.length > 0 ? [...options.trustProxy] : false,
    // answers of Node's HTTP parser and of the router in the API's error shape
    clientErrorHandler,
    frameworkErrors,
    // bodies are validated strictly: a number is not a string. Our schemas are not checked
    // against the JSON Schema meta-schema at each start (~30 ms of a worker's start, compiling
    // the meta-schema): they are constants, and Ajv's strict mode still refuses an unknown keyword
    // or type when it compiles them.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, validateSchema: false } },
    // Validators come from `npm run build`, not from Ajv at each start, and the serializer
    // compiler is loaded only if a response schema ever needs it (validators.ts). A custom
    // validator compiler gets the headers schema as written, not lower-cased by Fastify: ours are.
    schemaController:
      options.validators === null
        ? undefined
        : { compilersFactory: { buildValidator: (options.validators ?? precompiledValidators(undefined, undefined, compiledAtStart(options.logger))) as never, buildSerializer: lazySerializers() as never } },
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  app.addContentTypeParser(['text/markdown', 'text/plain'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));

  // Hooks in callback style: an async hook costs a promise and a microtask per request.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    // the web page's assets set their own caching (web.ts); everything else is API
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', API_HEADERS['cache-control']);
    reply.header('x-content-type-options', API_HEADERS['x-content-type-options']);
    done(null, payload);
  });
  const accessLog = options.accessLog;
  const debug = options.logger.isLevelEnabled('debug');
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    options.metrics.request(request.method, route, reply.statusCode, ms / 1000);
    done();
    if (!accessLog && !debug) return;
    // the path without its query string, as the main log had it; talk ids are in it (README)
    const path = request.url.split('?', 1)[0];
    const length = Number(reply.getHeader('content-length'));
    const line = {
      event: 'http.request',
      reqId: request.id,
      remoteAddress: request.ip, // the client behind a trusted proxy (--trust-proxy)
      method: request.method,
      path,
      status: reply.statusCode,
      bytes: Number.isInteger(length) ? length : null,
      ms: Math.round(ms * 100) / 100,
      userAgent: request.headers['user-agent'] ?? null,
    };
    const msg = `${request.method} ${path} ${reply.statusCode}`;
    accessLog?.info(line, msg);
    // --log-level debug: in the main log too, for debugging (never at info: health checks and
    // metrics scrapes would drown the lines that matter)
    if (debug) options.logger.debug(line, msg);
  });

  const checkAdmin = (request: FastifyRequest): void => {
    if (!options.adminToken) throw new HttpError(403, 'ADMIN_DISABLED', 'the admin API is disabled: start the server with PRESENTER_ADMIN_TOKEN set');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!tokenMatches(token, options.adminToken)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong admin token: send Authorization: Bearer <PRESENTER_ADMIN_TOKEN>');
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const store = await options.store.health();
    const jobs = options.jobsAlive();
    if (store.ok && jobs && !closing) return { status: 'ready' };
    const why = store.ok ? {} : { storeCode: store.code, reason: store.reason };
    return reply.code(503).send({ status: 'not ready', store: store.ok ? 'open' : 'unavailable', ...why, jobs: jobs ? 'running' : 'stopped', closing });
  });
  app.get('/metrics', async (request, reply) => {
    if (options.adminToken) checkAdmin(request);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await options.metricsText());
  });

  if (options.rateLimit > 0) await registerRateLimit(app, options.rateHit);
  await app.register(presentationRoutes, {
    store: options.store,
    jobAttempts: options.jobAttempts,
    adminToken: options.adminToken,
    rateLimit: options.rateLimit,
    queue: queueCap(options.store, options.maxQueue),
    onEnqueue: options.onEnqueue,
    checkAdmin,
  });
  await app.register(webRoutes);
  // the one request listener: it counts every request, and answers the polled read in front of
  // Fastify (fast-get.ts) unless requests are logged (those lines are Fastify's)
  installFastGet(app, { store: options.store, metrics: options.metrics, closing: () => closing, counts: options.counts, fastGet: !accessLog && !debug });
  return app;
}
