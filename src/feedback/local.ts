// The `local` provider: the embedded, offline, deterministic analyser (FEEDBACK.md).
import type { FeedbackProvider, FeedbackRequest, FeedbackResult } from './types.js';
import { analyse } from './analysis/analyse.js';

export function createLocalProvider(): FeedbackProvider {
  return {
    name: 'local',
    // Synchronous work behind a promise: a megabyte takes well under a second, so the event
    // loop is not held long. The signal is checked before starting and between phases.
    async generate(request: FeedbackRequest, signal: AbortSignal): Promise<FeedbackResult> {
      signal.throwIfAborted();
      const feedback = analyse(typeof request.content === 'string' ? request.content : '', {
        language: request.language === 'de' || request.language === 'en' ? request.language : 'auto',
        targetMinutes: request.targetMinutes,
        checkpoint: () => signal.throwIfAborted(),
      });
      return { feedback, raw: JSON.stringify(feedback) };
    },
  };
}
