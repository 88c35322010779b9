// Counts every provider reports from the talk itself rather than trusting a model to count.
// They come from the local analyser's own slide splitter and tokenizer, so that both providers
// number slides and count words the same way.
import { detectLanguage } from './analysis/language.js';
import { tokenizeSlides } from './analysis/measure.js';
import { splitSlides as parseSlides } from './analysis/slides.js';
import { estimateTime, timeMetrics, WORDS_PER_MINUTE } from './analysis/timing.js';
import type { Feedback, Language } from './types.js';

export interface Slide {
  /** 1-based, in the order the slides appear. */
  index: number;
  title: string;
  /** Words shown on the slide. */
  words: number;
  /** Words in its speaker notes. */
  notesWords: number;
}

/** A slide as a model is shown it: what the audience sees and what the presenter says. */
export interface SlideText extends Slide {
  shown: string[];
  notes: string[];
}

export type ContentMetrics = Omit<Feedback['metrics'], 'targetMinutes' | 'readability'>;

/** Spoken words per minute used for `estimatedMinutes` when there are notes. */
export { WORDS_PER_MINUTE };

export function splitSlides(content: string): Slide[] {
  return tokenizeSlides(parseSlides(content)).slides.map((s) => ({ index: s.index, title: s.title, words: s.words, notesWords: s.notes.words }));
}

/** The slides with their shown text (one entry per heading, bullet or paragraph) and their notes. */
export function slideTexts(content: string): SlideText[] {
  const parsed = parseSlides(content);
  const { slides } = tokenizeSlides(parsed);
  return slides.map((s, i) => ({
    index: s.index, title: s.title, words: s.words, notesWords: s.notes.words,
    shown: (parsed[i]?.blocks ?? []).map((b) => (b.kind === 'bullet' ? `- ${b.text}` : b.text)),
    notes: parsed[i]?.notes ?? [],
  }));
}

export function countWords(text: string): number {
  return tokenizeSlides(parseSlides(text)).slides.reduce((sum, s) => sum + s.words, 0);
}

export function computeMetrics(slides: readonly Slide[]): ContentMetrics {
  const words = slides.reduce((sum, slide) => sum + slide.words, 0);
  const spoken = slides.reduce((sum, slide) => sum + slide.notesWords, 0);
  return {
    slides: slides.length,
    words,
    ...timeMetrics(estimateTime(slides.length, spoken)),
    wordsPerSlideMax: slides.reduce((max, slide) => Math.max(max, slide.words), 0),
  };
}

/** For `language: "auto"` when the model does not say which language it found. */
export function guessLanguage(text: string): Language {
  return detectLanguage(tokenizeSlides(parseSlides(text)).slides);
}
