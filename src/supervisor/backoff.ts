// PM2's restart policy: 100 ms doubling to a 15 s cap, back to 100 ms after 30 s of health;
// 10 crashes within 60 s is a crash loop.
export const RESTART_POLICY = { initialMs: 100, capMs: 15_000, healthyResetMs: 30_000, loopCrashes: 10, loopWindowMs: 60_000 };

export class RestartBackoff {
  private delay = RESTART_POLICY.initialMs;
  private readonly crashes: number[] = [];

  /** Records a crash at `now`; returns the delay before the restart, or 'loop'. */
  crashed(now: number, healthySince: number | undefined): number | 'loop' {
    if (healthySince !== undefined && now - healthySince >= RESTART_POLICY.healthyResetMs) this.delay = RESTART_POLICY.initialMs;
    this.crashes.push(now);
    while (this.crashes.length > 0 && now - this.crashes[0]! > RESTART_POLICY.loopWindowMs) this.crashes.shift();
    if (this.crashes.length >= RESTART_POLICY.loopCrashes) return 'loop';
    const delay = this.delay;
    this.delay = Math.min(RESTART_POLICY.capMs, this.delay * 2);
    return delay;
  }
}
