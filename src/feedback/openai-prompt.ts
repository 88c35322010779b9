// The chat messages sent to an OpenAI-compatible model, and reading its JSON back out of the answer.
import type { FeedbackRequest } from './types.js';

export const SYSTEM_PROMPT = `You review talks (slides as Markdown or text) and give the presenter feedback.
Answer with one JSON object and nothing else, exactly in this shape:
{
  "language": "de" or "en",
  "score": integer from 0 to 100 (overall quality of the talk as submitted),
  "summary": string (two or three sentences),
  "strengths": [string, ...] (2 to 5 items),
  "improvements": [string, ...] (3 to 7 items, most important first),
  "slides": [{"index": integer (slide number, starting at 1), "title": string, "notes": [string, ...]}],
  "metrics": {"readability": integer from 0 to 100 (how easy the slides are to read and follow)}
}
Rules:
- Write every text in the talk's language: German for "de", English for "en". For "auto", detect whether the talk is German or English, write in that language and set "language" to it.
- Be concrete: name the slide ("Slide 3 (Results): ..."), quote the words or element you would change and say what to do instead. No generic advice.
- Slides are separated by lines containing only "---"; a talk without such lines starts a new slide at each "#" or "##" heading. Number them from 1 in order.
- Add a "slides" entry for each slide that needs a change; leave out slides that are fine.
- When target minutes are given, judge the length against them (about 130 spoken words per minute).`;

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

export function buildMessages(request: FeedbackRequest, slideCount: number): ChatMessage[] {
  const user = [
    `Title: ${request.title}`,
    `Target minutes: ${request.targetMinutes ?? 'not given'}`,
    `Language: ${request.language}`,
    `Slides: ${slideCount}`,
    '',
    'Content:',
    request.content,
  ].join('\n');
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: user },
  ];
}

const FENCED = /```[ \t]*(?:(?:json|JSON)[ \t]*)?\r?\n([\s\S]*?)```/;

// Servers that ignore response_format (llama.cpp, some vLLM models) wrap the JSON in a fence or prose.
export function parseModelJson(content: string): { ok: true; value: unknown } | { ok: false } {
  const trimmed = content.trim();
  const candidates = [trimmed];
  const fenced = FENCED.exec(trimmed)?.[1];
  if (fenced !== undefined) candidates.push(fenced);
  const first = trimmed.indexOf('{');
  const last = trimmed.lastIndexOf('}');
  if (first >= 0 && last > first) candidates.push(trimmed.slice(first, last + 1));
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) as unknown };
    } catch {
      // try the next reading
    }
  }
  return { ok: false };
}
