import type { Settings } from '../config/defaults.js';
import { createLocalProvider } from './local.js';
import { createOpenAIProvider } from './openai.js';
import { noopFeedback } from './noop.js';
import type { FeedbackProvider } from './types.js';

/**
 * `noop` answers at once with a fixed feedback: it exists for `npm run bench` (job throughput
 * without analysis cost) and is not a user setting. `PRESENTER_AI_DELAY_MS` slows it down.
 */
function createNoopProvider(delayMs: number): FeedbackProvider {
  return {
    name: 'noop',
    async generate(request, signal) {
      if (delayMs > 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delayMs);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason as Error);
          }, { once: true });
        });
      }
      const feedback = noopFeedback(request.language === 'de' ? 'de' : 'en');
      return { feedback, raw: request.presentationId };
    },
  };
}

/** `threads`: the local analyser runs in a pool of that many worker threads (a worker's job slots); without it, inline. */
export function createProvider(ai: Settings['ai'], env: NodeJS.ProcessEnv, options: { threads?: number } = {}): FeedbackProvider {
  const delay = Number(env.PRESENTER_AI_DELAY_MS ?? 0) || 0;
  if (env.PRESENTER_AI_PROVIDER === 'noop') return createNoopProvider(delay);
  if (ai.provider === 'openai') {
    return createOpenAIProvider({ baseUrl: ai.baseUrl ?? '', apiKey: ai.apiKey, model: ai.model, timeoutMs: ai.timeoutMs });
  }
  return createLocalProvider({ threads: options.threads });
}
