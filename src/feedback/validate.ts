// Turns a model's parsed JSON into the Feedback shape of DESIGN.md, or says which field is wrong.
import { computeMetrics } from './metrics.js';
import type { Slide } from './metrics.js';
import type { Feedback, Language, SlideFeedback } from './types.js';

/** The model's JSON does not have the Feedback shape; `field` is a path like `slides[2].notes`. */
export class FeedbackShapeError extends Error {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`\`${field}\` ${problem}`);
    this.name = 'FeedbackShapeError';
    this.field = field;
  }
}

export interface FeedbackContext {
  provider: string;
  model?: string;
  /** The requested language; 'auto' takes the model's answer, else `fallbackLanguage`. */
  language: Language | 'auto';
  fallbackLanguage: Language;
  targetMinutes?: number;
  /** The talk's slides as we split them: the metrics and the default slide titles. */
  slides: readonly Slide[];
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  const type = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const text = JSON.stringify(value) ?? String(value);
  return `\`${text.length > 40 ? `${text.slice(0, 40)}…` : text}\` (${type})`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new FeedbackShapeError(field, `must be a string, got ${describe(value)}`);
  return value.trim();
}

function texts(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new FeedbackShapeError(field, `must be an array of strings, got ${describe(value)}`);
  return value.map((item, i) => text(item, `${field}[${i}]`)).filter((item) => item !== '');
}

function clampPercent(value: number): number {
  return Math.round(Math.min(100, Math.max(0, value)));
}

function slide(value: unknown, field: string, titles: readonly Slide[]): SlideFeedback {
  if (!isObject(value)) throw new FeedbackShapeError(field, `must be an object, got ${describe(value)}`);
  const { index } = value;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 1) {
    throw new FeedbackShapeError(`${field}.index`, `must be a slide number from 1, got ${describe(index)}`);
  }
  const title = value.title === undefined ? (titles[index - 1]?.title ?? '') : text(value.title, `${field}.title`);
  return { index, title, notes: texts(value.notes, `${field}.notes`) };
}

export function validateFeedback(value: unknown, context: FeedbackContext): Feedback {
  if (!isObject(value)) throw new FeedbackShapeError('(answer)', `must be a JSON object, got ${describe(value)}`);
  const { score } = value;
  if (typeof score !== 'number') throw new FeedbackShapeError('score', `must be a number from 0 to 100, got ${describe(score)}`);
  const summary = text(value.summary, 'summary');
  if (summary === '') throw new FeedbackShapeError('summary', 'must not be empty');
  if (!Array.isArray(value.slides)) throw new FeedbackShapeError('slides', `must be an array, got ${describe(value.slides)}`);
  const slides = value.slides.map((item, i) => slide(item, `slides[${i}]`, context.slides)).sort((a, b) => a.index - b.index);

  let language: Language = context.fallbackLanguage;
  if (context.language !== 'auto') language = context.language;
  else if (value.language === 'de' || value.language === 'en') language = value.language;

  // Counts come from the content (models miscount words); only readability is the model's judgement.
  const readability = isObject(value.metrics) ? value.metrics.readability : undefined;
  const counts = computeMetrics(context.slides);
  return {
    provider: context.provider,
    ...(context.model === undefined ? {} : { model: context.model }),
    language,
    score: clampPercent(score),
    summary,
    strengths: texts(value.strengths, 'strengths'),
    improvements: texts(value.improvements, 'improvements'),
    slides,
    metrics: {
      slides: counts.slides,
      words: counts.words,
      estimatedMinutes: counts.estimatedMinutes,
      ...(counts.timeBasis === undefined ? {} : { timeBasis: counts.timeBasis }),
      ...(counts.spokenWords === undefined ? {} : { spokenWords: counts.spokenWords }),
      ...(counts.estimatedMinutesRange === undefined ? {} : { estimatedMinutesRange: counts.estimatedMinutesRange }),
      ...(context.targetMinutes === undefined ? {} : { targetMinutes: context.targetMinutes }),
      wordsPerSlideMax: counts.wordsPerSlideMax,
      readability: typeof readability === 'number' && Number.isFinite(readability) ? clampPercent(readability) : 0,
    },
  };
}
