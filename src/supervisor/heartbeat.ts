// Hung workers (gunicorn's --timeout): the supervisor pings each serving worker over IPC; the
// answer comes from the worker's event loop, so a loop blocked by a runaway computation, a
// worker stopped with SIGSTOP or a process swapped to death never answers. A worker silent for
// longer than the timeout is killed and replaced. No I/O here: the supervisor sends the pings,
// kills, and logs; this keeps the clock and the last answers, so it is tested with a fake clock.

import type { LoadSample } from '../worker/sampler.js';

export interface LastAnswer {
  /** When the worker last answered (or became ready). */
  at: number;
  /** HTTP requests it was serving then, and jobs it held: what it was doing when it went silent. */
  requests: number;
  activeJobs: number;
  /** The worker's load over the second before that answer (status shows it). */
  load?: LoadSample & { queueDepth: number | null };
}

export interface HungWorker<W> extends LastAnswer {
  worker: W;
  silentMs: number;
}

export class Heartbeats<W> {
  private readonly last = new Map<W, LastAnswer>();

  /** `timeoutMs` 0 turns the watch off. */
  constructor(readonly timeoutMs: number) {}

  /** How often to ping: often enough to notice silence well within the timeout, at most every second. */
  get intervalMs(): number {
    if (!this.enabled) return 1000; // the pings still carry what recycling reads
    return Math.max(100, Math.min(1000, Math.floor(this.timeoutMs / 5)));
  }

  get enabled(): boolean {
    return this.timeoutMs > 0;
  }

  /** A worker became ready: its silence counts from now. */
  watch(worker: W, now: number): void {
    this.last.set(worker, { at: now, requests: 0, activeJobs: 0 });
  }

  /** It exited, or it was asked to stop (its stop has a deadline of its own). */
  forget(worker: W): void {
    this.last.delete(worker);
  }

  watched(): W[] {
    return [...this.last.keys()];
  }

  answered(worker: W, now: number, requests: number, activeJobs: number, load?: LastAnswer['load']): void {
    if (this.last.has(worker)) this.last.set(worker, { at: now, requests, activeJobs, ...(load ? { load } : {}) });
  }

  lastAnswer(worker: W): LastAnswer | undefined {
    return this.last.get(worker);
  }

  /** Silent for more than two pings (and a margin): `status` shows it as unresponsive before it is killed. */
  unresponsive(worker: W, now: number): boolean {
    const last = this.last.get(worker);
    return this.enabled && last !== undefined && now - last.at > 2 * this.intervalMs + 250;
  }

  /** The watched workers silent for longer than the timeout; each is forgotten (killed once). */
  takeHung(now: number): HungWorker<W>[] {
    if (!this.enabled) return [];
    const hung: HungWorker<W>[] = [];
    for (const [worker, last] of this.last) {
      if (now - last.at > this.timeoutMs) hung.push({ worker, silentMs: now - last.at, ...last });
    }
    for (const h of hung) this.last.delete(h.worker);
    return hung;
  }
}
