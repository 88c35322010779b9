import type { Store } from '../store/types.js';
import { HttpError } from './errors.js';

const REFRESH_MS = 250;
export const QUEUE_FULL_RETRY_AFTER_S = 30;

/**
 * Refuses new jobs with 503 QUEUE_FULL while `max` or more wait (0: no cap). Counting the queue
 * costs a scan of its index, so the count is refreshed at most every 250 ms and the jobs this
 * worker queued since are added: other workers can overshoot the cap by what they queue in 250 ms.
 */
export function queueCap(store: Pick<Store, 'queueDepth'>, max: number): { admit(): void; queued(): void } {
  let depth = 0;
  let countedAt = -Infinity;
  return {
    admit() {
      if (max === 0) return;
      const now = Date.now();
      if (now - countedAt >= REFRESH_MS) {
        depth = store.queueDepth();
        countedAt = now;
      }
      if (depth >= max) {
        throw new HttpError(503, 'QUEUE_FULL', `${depth} feedback jobs are waiting (the limit is ${max}): try again later`, {
          'retry-after': String(QUEUE_FULL_RETRY_AFTER_S),
        });
      }
    },
    queued() {
      depth += 1;
    },
  };
}
