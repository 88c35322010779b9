import type { FeedbackProvider } from './types.js';

// Temporary stand-in until the OpenAI-compatible provider lands (replaced wholesale).
export function createOpenAIProvider(_options: { baseUrl: string; apiKey?: string; model?: string; timeoutMs?: number }): FeedbackProvider {
  return {
    name: 'openai',
    async generate() {
      throw new Error('not built yet');
    },
  };
}
