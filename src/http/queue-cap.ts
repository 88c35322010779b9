import type { Store } from '../store/types.js';
import { HttpError } from './errors.js';

const REFRESH_MS = 250;
export const QUEUE_FULL_RETRY_AFTER_S = 30;

/**
 * Refuses new jobs with 503 QUEUE_FULL while `max` or more wait (0: no cap). Counting the queue
 * costs a scan of its index, so the count is refreshed at most every 250 ms and the jobs this
 * worker queued since are added: other workers can overshoot the cap by what they queue in 250 ms.
 */
export function queueCap(store: Pick<Store, 'queueDepth'>, max: number): { admit(): Promise<void>; queued(): void } {
  let depth = 0;
  let countedAt = -Infinity;
  // One count at a time: the requests that arrive while it runs wait for it rather than each counting.
  let counting: Promise<void> | undefined;
  const count = (): Promise<void> => {
    counting ??= store
      .queueDepth()
      .then((n) => {
        depth = n;
        countedAt = Date.now();
      })
      .finally(() => {
        counting = undefined;
      });
    return counting;
  };
  return {
    async admit() {
      if (max === 0) return;
      if (Date.now() - countedAt >= REFRESH_MS) await count();
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
