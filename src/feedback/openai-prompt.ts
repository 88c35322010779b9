// The chat messages sent to an OpenAI-compatible model, and reading its JSON back out of the answer.
import type { SlideText } from './metrics.js';
import type { FeedbackRequest } from './types.js';

export const SYSTEM_PROMPT = `You review talks (slides with the text shown on them and, where the presenter wrote them, speaker notes) and give the presenter feedback.
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
- Write every text in the talk's language: German for "de" (address the presenter formally with "Sie"), English for "en". For "auto", detect whether the talk is German or English, write in that language and set "language" to it.
- Be concrete: name the slide ("Slide 3 (Results): ..."), quote the words or element you would change and say what to do instead. No generic advice.
- The talk comes already split into numbered slides ("## Slide N: title"); use these numbers. "Shown:" is what the audience reads on the slide; "Notes (spoken):" is what the presenter says.
- Judge slide design (at most ~6 bullets of ~6 words, 80+ words is a document) on the shown text; judge pace, filler words, repetition and sentence length on the notes.
- Length: with notes, about 130 spoken words per minute; without notes the slide text is not a script, so estimate 1 to 2 minutes per slide and say that it is an estimate from the slide count. Judge it against the target minutes when given.
- A slide that only says "Questions" is not a closing; a summary ("Lessons", "Takeaways", "Fazit", "Ausblick") or a call to action is.
- Add a "slides" entry for each slide that needs a change; leave out slides that are fine.`;

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** The talk as the local analyser parsed it: the same slide numbers, shown text and notes. */
export function renderSlides(slides: readonly SlideText[]): string {
  const parts: string[] = [];
  for (const s of slides) {
    parts.push(`## Slide ${s.index}: ${s.title}`, 'Shown:', ...(s.shown.length > 0 ? s.shown : ['(no text)']));
    if (s.notes.length > 0) parts.push('Notes (spoken):', ...s.notes);
    parts.push('');
  }
  return parts.join('\n');
}

export function buildMessages(request: FeedbackRequest, slides: readonly SlideText[]): ChatMessage[] {
  const spoken = slides.reduce((n, s) => n + s.notesWords, 0);
  const user = [
    `Title: ${request.title}`,
    `Target minutes: ${request.targetMinutes ?? 'not given'}`,
    `Language: ${request.language}`,
    `Slides: ${slides.length}`,
    `Speaker notes: ${spoken > 0 ? `yes, ${spoken} spoken words` : 'none'}`,
    '',
    renderSlides(slides),
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
