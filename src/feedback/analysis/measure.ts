// Per-slide figures: words, bullets, sentences and syllables.
import type { Language } from '../types.js';
import type { ParsedSlide } from './slides.js';
import { syllables, tokenize } from './text.js';
import type { Token } from './text.js';

export interface BulletStats {
  /** 1-based position among the slide's bullets. */
  position: number;
  words: number;
  text: string;
}

export interface SlideStats {
  index: number;
  title: string;
  /** All blocks' tokens in order; each block's first token has `brk`. */
  tokens: Token[];
  words: number;
  bullets: BulletStats[];
  sentences: number;
  syllables: number;
  longestSentence: number;
  /** Only headings (a title or section slide). */
  headingOnly: boolean;
}

export function tokenizeSlides(slides: readonly ParsedSlide[]): { slides: SlideStats[]; headingWords: Set<string> } {
  const headingWords = new Set<string>();
  const stats = slides.map((slide): SlideStats => {
    const tokens: Token[] = [];
    const bullets: BulletStats[] = [];
    let sentences = 0;
    let longestSentence = 0;
    for (const block of slide.blocks) {
      const blockTokens = tokenize(block.text);
      if (blockTokens.length === 0) continue;
      if (block.kind === 'heading') for (const t of blockTokens) headingWords.add(t.lower);
      if (block.kind === 'bullet') bullets.push({ position: bullets.length + 1, words: blockTokens.length, text: block.text });
      let run = 0;
      for (const t of blockTokens) {
        if (t.end) {
          sentences++;
          longestSentence = Math.max(longestSentence, run);
          run = 0;
        }
        run++;
        tokens.push(t);
      }
      sentences++;
      longestSentence = Math.max(longestSentence, run);
    }
    return { index: slide.index, title: slide.title, tokens, words: tokens.length, bullets, sentences, syllables: 0, longestSentence,
      headingOnly: slide.blocks.every((b) => b.kind === 'heading') };
  });
  return { slides: stats, headingWords };
}

export function countSyllables(slides: readonly SlideStats[], language: Language): void {
  // Syllables per distinct word: talks repeat words, and a megabyte holds few distinct ones.
  const cache = new Map<string, number>();
  for (const slide of slides) {
    let n = 0;
    for (const t of slide.tokens) {
      let s = cache.get(t.lower);
      if (s === undefined) {
        s = syllables(t.lower, language);
        cache.set(t.lower, s);
      }
      n += s;
    }
    slide.syllables = n;
  }
}
