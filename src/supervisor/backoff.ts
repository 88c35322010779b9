// The restart policy. A worker that crashes after it was ready is restarted after a delay of
// its slot's own: 100 ms doubling to a 15 s cap, back to 100 ms after 30 s of health (PM2's
// numbers). Such crashes never stop the service: the other slots keep serving. Workers that die
// before they are ready, again and again, mean the service cannot boot (a broken install, a bad
// setting): at start-up, 10 of those within 60 s stop it with exit 1 and the last worker's error.
// Once it runs, a slot whose new workers keep dying before ready (a broken upgrade on disk) never
// takes the serving workers down: it keeps retrying, said at error every 10th failure; only when
// no worker is left serving does its 10th failure in a row stop the service (bootFailureVerdict).
export const RESTART_POLICY = { initialMs: 100, capMs: 15_000, healthyResetMs: 30_000, loopCrashes: 10, loopWindowMs: 60_000 };

/** One slot's restart delays. */
export class RestartBackoff {
  private delay = RESTART_POLICY.initialMs;

  /** The delay before restarting a worker that crashed at `now`; `readySince` is when it became ready. */
  next(now: number, readySince: number | undefined): number {
    if (readySince !== undefined && now - readySince >= RESTART_POLICY.healthyResetMs) this.delay = RESTART_POLICY.initialMs;
    const delay = this.delay;
    this.delay = Math.min(RESTART_POLICY.capMs, this.delay * 2);
    return delay;
  }
}

/**
 * What the supervisor remembers of one slot's past workers. A slot removed by a scale down and
 * used again by a later scale up starts with a new one: nothing of the removed slot's crashes,
 * boot failures or recycling retries carries over to the workers that come after.
 */
export class SlotHistory {
  /** Workers of this slot restarted after a crash (status: restarts). */
  restarts = 0;
  readonly backoff = new RestartBackoff();
  /** Why the previous worker went (status: lastExit). */
  lastExit: string | undefined;
  /** Workers in a row that died before they were ready (bootFailureVerdict); 0 once one is ready. */
  bootFailures = 0;
  /** After a --max-memory / --max-requests replacement that could not start: when to try again. */
  recycleRetry: { delayMs: number; retryAt: number } | undefined;
}

/** Workers that died before they were ready, over all slots: true once that is a boot loop. */
export class BootFailures {
  private readonly times: number[] = [];

  failed(now: number): boolean {
    this.times.push(now);
    while (this.times.length > 0 && now - this.times[0]! > RESTART_POLICY.loopWindowMs) this.times.shift();
    return this.times.length >= RESTART_POLICY.loopCrashes;
  }

  /** A worker became ready: the service boots, earlier failures were passing. */
  booted(): void {
    this.times.length = 0;
  }
}

/**
 * What a worker that died before it was ready means. `slotFailures`: the boot failures in a row of
 * its slot, this one included (reset when the slot has a ready worker); `bootLoop`: BootFailures
 * said 10 within 60 s; `serving`: workers ready now.
 */
export function bootFailureVerdict(o: { starting: boolean; bootLoop: boolean; serving: number; slotFailures: number }): 'stop' | 'failing' | 'retry' {
  if (o.starting) return o.bootLoop ? 'stop' : 'retry';
  if (o.slotFailures < RESTART_POLICY.loopCrashes) return 'retry';
  if (o.serving === 0) return 'stop';
  return o.slotFailures % RESTART_POLICY.loopCrashes === 0 ? 'failing' : 'retry';
}
