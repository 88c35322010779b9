import type { Feedback } from './types.js';

/**
 * The `noop` provider's feedback (providers.ts), the same whatever the talk: also what
 * `bench/baseline-server.js --same-response` answers, so that its body is serve's byte for byte.
 */
export function noopFeedback(language: 'de' | 'en'): Feedback {
  return {
    provider: 'noop',
    language,
    score: 0,
    summary: '',
    strengths: [],
    improvements: [],
    slides: [],
    metrics: { slides: 0, words: 0, estimatedMinutes: 0, wordsPerSlideMax: 0, readability: 0 },
  };
}
