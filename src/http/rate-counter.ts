// Fixed-window request counts per client key, the same rule as @fastify/rate-limit's own store.
// It lives in ONE process for the whole server: the supervisor when there are workers (they ask
// it over IPC, so N workers do not multiply the limit by N), the process itself otherwise.
export interface RateCount {
  /** Requests in the current window, this one included. */
  current: number;
  /** Milliseconds until the window ends. */
  ttl: number;
}

const MAX_KEYS = 50_000;

export class RateCounter {
  // in order of last use: the first keys are the ones to forget
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  hit(key: string, windowMs: number, now = Date.now()): RateCount {
    let window = this.windows.get(key);
    if (window !== undefined) this.windows.delete(key);
    if (window === undefined || window.endsAt <= now) window = { count: 0, endsAt: now + windowMs };
    window.count += 1;
    this.windows.set(key, window);
    if (this.windows.size > MAX_KEYS) this.forgetLeastRecent();
    return { current: window.count, ttl: window.endsAt - now };
  }

  get size(): number {
    return this.windows.size;
  }

  // Memory stays bounded under a flood from more addresses than MAX_KEYS a minute: the least
  // recently seen tenth is dropped at once (amortised O(1) a hit); those clients start afresh.
  private forgetLeastRecent(): void {
    let n = Math.ceil(MAX_KEYS / 10);
    for (const key of this.windows.keys()) {
      if (n-- <= 0) break;
      this.windows.delete(key);
    }
  }
}
