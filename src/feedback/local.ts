// The `local` provider: the embedded, offline, deterministic analyser (FEEDBACK.md).
import type { FeedbackJsonResult, FeedbackProvider, FeedbackRequest, FeedbackResult } from './types.js';
import type { AnalysisTask } from './analysis/thread.js';
import { ThreadPool } from './thread-pool.js';

export interface LocalProviderOptions {
  /**
   * Analyses run in a pool of this many worker threads (the profile's `threads`), off the event
   * loop; undefined: inline, on the caller's thread (tests, one-off calls).
   */
  threads?: number;
}

export interface LocalProvider extends FeedbackProvider {
  /** Threads of the pool alive now (0 inline or before the first analysis). */
  readonly threads: number;
  /** Starts the pool's first thread in the background (no-op inline). */
  warm(): void;
  /** Terminates the pool's threads; running analyses fail. */
  close(): Promise<void>;
}

const taskOf = (request: FeedbackRequest): AnalysisTask => ({
  content: typeof request.content === 'string' ? request.content : '',
  language: request.language === 'de' || request.language === 'en' ? request.language : 'auto',
  targetMinutes: request.targetMinutes,
});

export function createLocalProvider(options: LocalProviderOptions = {}): LocalProvider {
  const pool = options.threads === undefined
    ? undefined
    : new ThreadPool<AnalysisTask, FeedbackJsonResult>({ size: options.threads, filename: new URL('./analysis/thread-entry.cjs', import.meta.url) });
  return {
    name: 'local',
    get threads() {
      return pool?.threads ?? 0;
    },
    async generate(request: FeedbackRequest, signal: AbortSignal): Promise<FeedbackResult> {
      signal.throwIfAborted();
      if (pool) return pool.run(taskOf(request), signal);
      // Inline: synchronous, so the signal is only checked between the analyser's phases. Loaded
      // here, not at start-up: a worker's analyses run in its threads, which load it themselves.
      const { analyse } = await import('./analysis/analyse.js');
      signal.throwIfAborted();
      const task = taskOf(request);
      const feedback = analyse(task.content, { language: task.language, targetMinutes: task.targetMinutes, checkpoint: () => signal.throwIfAborted() });
      return { feedback, raw: JSON.stringify(feedback) };
    },
    warm() {
      pool?.warm();
    },
    async close() {
      await pool?.close();
    },
  };
}
