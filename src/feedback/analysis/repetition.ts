// Repetitive language: known pet phrases, and other phrases said over and over.
import type { Language } from '../types.js';
import { FILLERS, PET_PHRASES, STOPWORDS } from '../lexicon.js';
import type { SlideStats } from './measure.js';
import { compileRules, countPhrases, indexRules } from './phrases.js';

export interface Repeat {
  phrase: string;
  count: number;
  /** Slide indices where it occurs, ascending. */
  slides: number[];
  /** A known pet phrase (lexicon) rather than a phrase found by counting. */
  pet: boolean;
}

const PET = { en: indexRules(compileRules(PET_PHRASES.en)), de: indexRules(compileRules(PET_PHRASES.de)) };
const STOP = { en: new Set(STOPWORDS.en), de: new Set(STOPWORDS.de) };
const KNOWN = {
  en: [...PET_PHRASES.en, ...FILLERS.en].map((r) => ` ${r.phrase} `),
  de: [...PET_PHRASES.de, ...FILLERS.de].map((r) => ` ${r.phrase} `),
};
const MAX_REPEATED = 3;
const DIGIT = /\d/;

function add(map: Map<string, { count: number; slides: number[] }>, key: string, count: number, slide: number): void {
  const entry = map.get(key) ?? { count: 0, slides: [] };
  entry.count += count;
  if (entry.slides[entry.slides.length - 1] !== slide) entry.slides.push(slide);
  map.set(key, entry);
}

const byCount = (a: Repeat, b: Repeat): number => b.count - a.count || (a.phrase < b.phrase ? -1 : a.phrase > b.phrase ? 1 : 0);

// Pet phrases from 3 uses (more in long talks); other 2-3 word phrases from 4 uses, when they
// start and end with a content word that is not in any heading (headings name the topic,
// and saying the topic often is fine).
export function findRepeats(slides: readonly SlideStats[], language: Language, headingWords: ReadonlySet<string>, words: number): Repeat[] {
  const pets = new Map<string, { count: number; slides: number[] }>();
  const grams = new Map<string, { count: number; slides: number[] }>();
  const stop = STOP[language];
  const content = (w: string): boolean => !stop.has(w) && !headingWords.has(w) && !DIGIT.test(w) && w.length > 1;
  for (const slide of slides) {
    for (const [phrase, count] of countPhrases(slide.tokens, PET[language])) add(pets, phrase, count, slide.index);
    const t = slide.tokens;
    for (let i = 0; i + 1 < t.length; i++) {
      const a = t[i];
      const b = t[i + 1];
      if (a === undefined || b === undefined || b.brk || !content(a.lower)) continue;
      if (content(b.lower)) add(grams, `${a.lower} ${b.lower}`, 1, slide.index);
      const c = t[i + 2];
      if (c !== undefined && !c.brk && content(c.lower)) add(grams, `${a.lower} ${b.lower} ${c.lower}`, 1, slide.index);
    }
  }
  const petMin = Math.max(3, Math.ceil(words / 300));
  const gramMin = Math.max(4, Math.ceil(words / 200));
  const found: Repeat[] = [];
  for (const [phrase, e] of pets) if (e.count >= petMin) found.push({ phrase, count: e.count, slides: e.slides, pet: true });
  const candidates: Repeat[] = [];
  for (const [phrase, e] of grams) {
    const padded = ` ${phrase} `;
    if (e.count < gramMin || KNOWN[language].some((k) => padded.includes(k))) continue;
    candidates.push({ phrase, count: e.count, slides: e.slides, pet: false });
  }
  // A bigram inside a trigram said as often is the same finding (top 50 only: this is quadratic).
  candidates.sort(byCount).splice(50);
  const kept = candidates.filter((c) => !candidates.some((o) => o !== c && o.count >= c.count && ` ${o.phrase} `.includes(` ${c.phrase} `)));
  return [...found.sort(byCount), ...kept.slice(0, MAX_REPEATED)];
}
