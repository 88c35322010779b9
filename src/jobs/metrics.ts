export interface JobMetrics {
  started(waitedMs: number): void;
  outcome(outcome: 'done' | 'failed' | 'retried', durationMs?: number): void;
  leaseExpired(): void;
}
