// One local analysis in a worker thread of the provider's pool (thread-pool.ts): the talk in, its
// feedback as JSON text and that text's SHA-256 (the log's responseHash) out, both computed here:
// the event loop only copies one string (for a 1 MiB talk, deserialising the feedback's 6,000
// slide objects took ~25 ms of it, stringifying them again for the store ~10 ms more).
import { createHash } from 'node:crypto';
import type { FeedbackJsonResult, Language } from '../types.js';
import { analyse } from './analyse.js';

export interface AnalysisTask {
  content: string;
  language: Language | 'auto';
  targetMinutes: number | undefined;
}

export default function analyseTask(task: AnalysisTask): FeedbackJsonResult {
  const feedback = analyse(task.content, { language: task.language, targetMinutes: task.targetMinutes });
  const feedbackJson = JSON.stringify(feedback);
  return { feedbackJson, provider: feedback.provider, responseHash: createHash('sha256').update(feedbackJson).digest('hex') };
}
