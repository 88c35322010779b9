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
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  hit(key: string, windowMs: number, now = Date.now()): RateCount {
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (window === undefined && this.windows.size >= MAX_KEYS) this.evict(now);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.delete(key);
      this.windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.endsAt - now };
  }

  get size(): number {
    return this.windows.size;
  }

  // Memory stays bounded under a flood from many addresses: drop ended windows, then the oldest.
  private evict(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_KEYS) break;
      this.windows.delete(key);
    }
  }
}
