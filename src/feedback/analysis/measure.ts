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

/** Figures of one stretch of text: a slide's shown text or its speaker notes. */
export interface TextStats {
  tokens: Token[];
  words: number;
  sentences: number;
  syllables: number;
  longestSentence: number;
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
  /** The speaker notes: what is said rather than shown. */
  notes: TextStats;
}

interface Sentences {
  tokens: Token[];
  sentences: number;
  longestSentence: number;
}

// A block (bullet, paragraph, note) ends a sentence even without a full stop.
function addBlock(into: Sentences, blockTokens: readonly Token[]): void {
  let run = 0;
  for (const t of blockTokens) {
    if (t.end) {
      into.sentences++;
      into.longestSentence = Math.max(into.longestSentence, run);
      run = 0;
    }
    run++;
    into.tokens.push(t);
  }
  into.sentences++;
  into.longestSentence = Math.max(into.longestSentence, run);
}

function measureNotes(paragraphs: readonly string[]): TextStats {
  const acc: Sentences = { tokens: [], sentences: 0, longestSentence: 0 };
  for (const paragraph of paragraphs) {
    const paragraphTokens = tokenize(paragraph);
    if (paragraphTokens.length > 0) addBlock(acc, paragraphTokens);
  }
  return { ...acc, words: acc.tokens.length, syllables: 0 };
}

export function tokenizeSlides(slides: readonly ParsedSlide[]): { slides: SlideStats[]; headingWords: Set<string> } {
  const headingWords = new Set<string>();
  const stats = slides.map((slide): SlideStats => {
    const acc: Sentences = { tokens: [], sentences: 0, longestSentence: 0 };
    const bullets: BulletStats[] = [];
    for (const block of slide.blocks) {
      const blockTokens = tokenize(block.text);
      if (blockTokens.length === 0) continue;
      if (block.kind === 'heading') for (const t of blockTokens) headingWords.add(t.lower);
      if (block.kind === 'bullet') bullets.push({ position: bullets.length + 1, words: blockTokens.length, text: block.text });
      addBlock(acc, blockTokens);
    }
    return { index: slide.index, title: slide.title, ...acc, words: acc.tokens.length, bullets, syllables: 0,
      headingOnly: slide.blocks.every((b) => b.kind === 'heading'), notes: measureNotes(slide.notes) };
  });
  return { slides: stats, headingWords };
}

/**
 * What is spoken: the notes when the talk has any (each slide's figures replaced by its notes'),
 * else the slide text itself, the only script there is.
 */
export function spokenView(slides: readonly SlideStats[]): SlideStats[] {
  if (!slides.some((s) => s.notes.words > 0)) return [...slides];
  return slides.map((s) => ({ ...s, ...s.notes, bullets: [], headingOnly: false }));
}

export function countSyllables(slides: readonly SlideStats[], language: Language): void {
  // Syllables per distinct word: talks repeat words, and a megabyte holds few distinct ones.
  const cache = new Map<string, number>();
  const count = (tokens: readonly Token[]): number => {
    let n = 0;
    for (const t of tokens) {
      let s = cache.get(t.lower);
      if (s === undefined) {
        s = syllables(t.lower, language);
        cache.set(t.lower, s);
      }
      n += s;
    }
    return n;
  };
  for (const slide of slides) {
    slide.syllables = count(slide.tokens);
    slide.notes.syllables = count(slide.notes.tokens);
  }
}
