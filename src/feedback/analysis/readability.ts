// Flesch reading ease (English) and Amstad's German adaptation, clamped to 0..100 (FEEDBACK.md).
import type { Language } from '../types.js';

export function readability(language: Language, words: number, sentences: number, syllables: number): number {
  if (words === 0 || sentences === 0) return 0;
  const perSentence = words / sentences;
  const perWord = syllables / words;
  const score = language === 'de'
    ? 180 - perSentence - 58.5 * perWord
    : 206.835 - 1.015 * perSentence - 84.6 * perWord;
  return Math.round(Math.min(100, Math.max(0, score)));
}
