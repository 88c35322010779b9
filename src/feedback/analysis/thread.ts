// One local analysis in a worker thread of the provider's pool (thread-pool.ts): the talk in, its
// feedback and the raw JSON (hashed into the log's responseHash) out, both computed here so that
// the event loop only copies them.
import type { FeedbackResult, Language } from '../types.js';
import { analyse } from './analyse.js';

export interface AnalysisTask {
  content: string;
  language: Language | 'auto';
  targetMinutes: number | undefined;
}

export default function analyseTask(task: AnalysisTask): FeedbackResult {
  const feedback = analyse(task.content, { language: task.language, targetMinutes: task.targetMinutes });
  return { feedback, raw: JSON.stringify(feedback) };
}
