/** Exponential backoff with full jitter (AWS architecture blog): random in [0, min(cap, base·2^(attempt-1))]. */
export function retryDelayMs(attempt: number, options: { baseMs?: number; capMs?: number; random?: () => number } = {}): number {
  const base = options.baseMs ?? 1000;
  const cap = options.capMs ?? 5 * 60_000;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round((options.random ?? Math.random)() * ceiling);
}

/** Plain exponential backoff without jitter, for retries of one process against its own store: base·2^(n-1), capped. */
export function backoffMs(failures: number, options: { baseMs: number; capMs: number }): number {
  return Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
}
