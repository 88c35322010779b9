import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** A worker's load over the time since the previous sample (the supervisor asks about once a second). */
export interface LoadSample {
  /** CPU time of this process (user + system) over wall time, in % of one core. */
  cpuPercent: number;
  requestsPerSec: number;
  /** The event loop's delay, p99 over the window: how late a timer or an I/O callback ran. */
  eventLoopDelayMs: number;
}

export class LoadSampler {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private at = performance.now();
  private cpu = process.cpuUsage();
  private served = 0;

  constructor() {
    this.delay.enable();
  }

  sample(served: number): LoadSample {
    const now = performance.now();
    const elapsedMs = Math.max(1, now - this.at);
    const cpu = process.cpuUsage(this.cpu);
    const result = {
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
      requestsPerSec: Math.round(((served - this.served) / elapsedMs) * 10_000) / 10,
      eventLoopDelayMs: Math.round(this.delay.percentile(99) / 1e4) / 100,
    };
    this.at = now;
    this.cpu = process.cpuUsage();
    this.served = served;
    this.delay.reset();
    return result;
  }

  stop(): void {
    this.delay.disable();
  }
}
