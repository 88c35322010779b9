// Counts every provider reports from the talk itself rather than trusting a model to count.
// They come from the local analyser's own slide splitter and tokenizer, so that both providers
// number slides and count words the same way.
import { detectLanguage } from './analysis/language.js';
import { tokenizeSlides } from './analysis/measure.js';
import { splitSlides as parseSlides } from './analysis/slides.js';
import type { Feedback, Language } from './types.js';

export interface Slide {
  /** 1-based, in the order the slides appear. */
  index: number;
  title: string;
  words: number;
}

export type ContentMetrics = Omit<Feedback['metrics'], 'targetMinutes' | 'readability'>;

/** Spoken words per minute used for `estimatedMinutes`. */
export const WORDS_PER_MINUTE = 130;

export function splitSlides(content: string): Slide[] {
  return tokenizeSlides(parseSlides(content)).slides.map((s) => ({ index: s.index, title: s.title, words: s.words }));
}

export function countWords(text: string): number {
  return tokenizeSlides(parseSlides(text)).slides.reduce((sum, s) => sum + s.words, 0);
}

export function computeMetrics(slides: readonly Slide[]): ContentMetrics {
  const words = slides.reduce((sum, slide) => sum + slide.words, 0);
  return {
    slides: slides.length,
    words,
    estimatedMinutes: Math.round((words / WORDS_PER_MINUTE) * 10) / 10,
    wordsPerSlideMax: slides.reduce((max, slide) => Math.max(max, slide.words), 0),
  };
}

/** For `language: "auto"` when the model does not say which language it found. */
export function guessLanguage(text: string): Language {
  return detectLanguage(tokenizeSlides(parseSlides(text)).slides);
}
