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

const byCount = (a: Repeat, b: Repeat): number => b.count - a.count || (a.phrase < b.phrase ? -1 : a.phrase > b.phrase ? 1 : 0);

function petPhrases(slides: readonly SlideStats[], language: Language, min: number): Repeat[] {
  const pets = new Map<string, Repeat>();
  for (const slide of slides) {
    for (const [phrase, count] of countPhrases(slide.tokens, PET[language]) ?? []) {
      const entry = pets.get(phrase) ?? { phrase, count: 0, slides: [], pet: true };
      entry.count += count;
      entry.slides.push(slide.index);
      pets.set(phrase, entry);
    }
  }
  return [...pets.values()].filter((r) => r.count >= min).sort(byCount);
}

// Pet phrases from 3 uses (more in long talks); other 2-3 word phrases from 4 uses, when they
// start and end with a content word that is not in any heading (headings name the topic,
// and saying the topic often is fine). Word ids and numeric keys keep a megabyte cheap.
export function findRepeats(slides: readonly SlideStats[], language: Language, headingWords: ReadonlySet<string>, words: number): Repeat[] {
  const stop = STOP[language];
  const gramMin = Math.max(4, Math.ceil(words / 200));
  const ids = new Map<string, number>();
  const vocabulary: string[] = [];
  const seqs = slides.map((slide) => slide.tokens.map((t) => {
    let id = ids.get(t.lower);
    if (id === undefined) {
      const content = !stop.has(t.lower) && !headingWords.has(t.lower) && !DIGIT.test(t.lower) && t.lower.length > 1;
      id = content ? vocabulary.push(t.lower) - 1 : -1;
      ids.set(t.lower, id);
    }
    return id;
  }));
  // Keys below 2^30 are small integers for V8 (fast Map keys): true for vocabularies under 32k.
  const base = vocabulary.length;
  const pairKey = (tokens: SlideStats['tokens'], seq: readonly number[], i: number): number => {
    const a = seq[i] ?? -1;
    const b = seq[i + 1] ?? -1;
    return a < 0 || b < 0 || tokens[i + 1]?.brk !== false ? -1 : a * base + b;
  };
  const pairs = new Map<number, number>();
  slides.forEach((slide, n) => {
    const seq = seqs[n] ?? [];
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = pairKey(slide.tokens, seq, i);
      if (key >= 0) pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  });
  // A trigram is said at most as often as its first pair: only frequent pairs can start one.
  const triples = new Map<string, number>();
  slides.forEach((slide, n) => {
    const seq = seqs[n] ?? [];
    for (let i = 0; i + 2 < seq.length; i++) {
      const key = pairKey(slide.tokens, seq, i);
      const c = seq[i + 2] ?? -1;
      if (key < 0 || c < 0 || slide.tokens[i + 2]?.brk !== false || (pairs.get(key) ?? 0) < gramMin) continue;
      const k3 = `${key},${c}`;
      triples.set(k3, (triples.get(k3) ?? 0) + 1);
    }
  });
  const known = KNOWN[language];
  const candidates: Array<{ phrase: string; count: number; ids: number[] }> = [];
  const consider = (gram: number[], count: number): void => {
    const phrase = gram.map((id) => vocabulary[id] ?? '').join(' ');
    if (!known.some((k) => ` ${phrase} `.includes(k))) candidates.push({ phrase, count, ids: gram });
  };
  for (const [key, count] of pairs) if (count >= gramMin) consider([Math.floor(key / base), key % base], count);
  for (const [key, count] of triples) {
    const [pair = 0, c = 0] = key.split(',').map(Number);
    if (count >= gramMin) consider([Math.floor(pair / base), pair % base, c], count);
  }
  // A pair inside a trigram said as often is the same finding (top 50 only: this is quadratic).
  candidates.sort((a, b) => b.count - a.count || (a.phrase < b.phrase ? -1 : a.phrase > b.phrase ? 1 : 0)).splice(50);
  const kept = candidates
    .filter((c) => !candidates.some((o) => o !== c && o.count >= c.count && ` ${o.phrase} `.includes(` ${c.phrase} `)))
    .slice(0, MAX_REPEATED)
    .map((c): Repeat => ({ phrase: c.phrase, count: c.count, slides: slidesWith(slides, seqs, c.ids), pet: false }));
  return [...petPhrases(slides, language, Math.max(3, Math.ceil(words / 300))), ...kept];
}

function slidesWith(slides: readonly SlideStats[], seqs: readonly number[][], gram: readonly number[]): number[] {
  const found: number[] = [];
  slides.forEach((slide, n) => {
    const seq = seqs[n] ?? [];
    for (let i = 0; i + gram.length <= seq.length; i++) {
      if (gram.every((id, k) => seq[i + k] === id && (k === 0 || slide.tokens[i + k]?.brk === false))) {
        found.push(slide.index);
        return;
      }
    }
  });
  return found;
}
