import type { FeedbackProvider } from './types.js';

// Temporary stand-in until the local analyser lands (replaced wholesale).
export function createLocalProvider(): FeedbackProvider {
  return {
    name: 'local',
    async generate(request) {
      const words = request.content.split(/\s+/).filter(Boolean).length;
      const feedback = {
        provider: 'local',
        language: request.language === 'de' ? 'de' : 'en',
        score: 50,
        summary: `${words} words`,
        strengths: [],
        improvements: [],
        slides: [],
        metrics: { slides: 1, words, estimatedMinutes: Math.round((words / 130) * 10) / 10, wordsPerSlideMax: words, readability: 0 },
      } as const;
      return { feedback: { ...feedback, strengths: [], improvements: [], slides: [], metrics: { ...feedback.metrics } }, raw: JSON.stringify(feedback) };
    },
  };
}
