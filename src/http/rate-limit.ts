import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';
import type { RateCount } from './rate-counter.js';

/** Counts one request of `key` in a window of `windowMs` (in this process or the supervisor). */
export type RateHit = (key: string, windowMs: number) => Promise<RateCount>;

export const RATE_WINDOW_MS = 60_000;

// @fastify/rate-limit's store interface over the one counter of the whole server. Routes need no
// child stores of their own: the plugin appends the route's groupId to the key, so create and
// regenerate are counted apart.
function storeOver(hit: RateHit): FastifyRateLimitStoreCtor {
  return class SharedStore implements FastifyRateLimitStore {
    incr(key: string, done: (error: Error | null, result?: RateCount) => void, timeWindow: number): void {
      hit(key, timeWindow).then((result) => done(null, result), (error: Error) => done(error));
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

/**
 * Registers the limiter; routes opt in with `config: { rateLimit: routeLimit('create', max) }`.
 * The client is request.ip: the peer, or X-Forwarded-For's address when the peer is a trusted proxy.
 */
export async function registerRateLimit(app: FastifyInstance, hit: RateHit): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    store: storeOver(hit),
    // the counter lives in another process: if it does not answer, serve rather than refuse
    skipOnError: true,
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, 'RATE_LIMITED', `too many requests from this client: at most ${context.max} a minute; retry in ${context.after}`),
  });
}

export function routeLimit(groupId: string, max: number) {
  return { max, timeWindow: RATE_WINDOW_MS, groupId };
}
