// Words, sentence ends and syllables of plain text (Markdown already stripped).
import type { Language } from '../types.js';
import { ABBREVIATIONS } from '../lexicon.js';

export interface Token {
  /** Lower case, with ’ normalised to '. */
  lower: string;
  /** Punctuation (or a block start) before this token: no phrase runs across it. */
  brk: boolean;
  /** A comma before this token. */
  comma: boolean;
  /** A sentence ends before this token. */
  end: boolean;
}

// A word: letters/digits, joined by inner apostrophes, hyphens or dots ("let's", "e-mail", "node.js", "3.5").
const WORD = /[\p{L}\p{N}]+(?:['’.-][\p{L}\p{N}]+)*/gu;
const SENTENCE_END = /[.!?…]/;
const NOT_SPACE = /\S/;
const ABBREV = new Set(ABBREVIATIONS);

/** Tokens of one block (heading, bullet or paragraph); the first token always has `brk`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  let prev = '';
  for (const match of text.matchAll(WORD)) {
    const start = match.index;
    const sep = text.slice(last, start);
    last = start + match[0].length;
    const lower = match[0].replace(/’/g, "'").toLowerCase();
    const first = tokens.length === 0;
    tokens.push({
      lower,
      brk: first || NOT_SPACE.test(sep),
      comma: sep.includes(','),
      end: !first && SENTENCE_END.test(sep) && !ABBREV.has(prev),
    });
    prev = lower;
  }
  return tokens;
}

/** Sentences in one block: a heading or bullet without a full stop is one sentence. */
export function countSentences(tokens: readonly Token[]): number {
  if (tokens.length === 0) return 0;
  let n = 1;
  for (const t of tokens) if (t.end) n++;
  return n;
}

const DIGITS = /\p{N}/u;

// Numbers are read aloud as several syllables; one per digit, at most four, is close enough.
function numberSyllables(word: string): number {
  const digits = word.replace(/\P{N}/gu, '').length;
  return Math.min(4, Math.max(1, digits));
}

// The common English heuristic: vowel groups, minus a silent final e / -es / -ed.
function englishPart(part: string): number {
  let w = part.normalize('NFD').replace(/[^a-z]/g, '');
  if (w.length === 0) return 0;
  if (w.length <= 3) return 1;
  w = w.replace(/(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$/, '').replace(/^y/, '');
  const groups = w.match(/[aeiouy]{1,2}/g);
  return Math.max(1, groups === null ? 0 : groups.length);
}

const DE_HIATUS = new Set(['ea', 'eo', 'ia', 'io', 'iu', 'oa', 'ua', 'ue', 'uo']);

// German: one syllable per vowel group; diphthongs and long vowels (ei, au, eu, ie, ee) stay one,
// hiatus pairs (Na-ti-on, Vi-de-o, ak-tu-ell) and triples (Feu-er, Bau-er) count two.
function germanPart(part: string): number {
  const w = part.replace(/qu/g, 'qv').replace(/[^a-zäöüß]/g, '');
  const groups = w.match(/[aeiouyäöü]+/g);
  if (groups === null) return w.length > 0 ? 1 : 0;
  let n = 0;
  for (const g of groups) n += g.length >= 3 ? 2 : g.length === 2 && DE_HIATUS.has(g) ? 2 : 1;
  return n;
}

export function syllables(word: string, language: Language): number {
  if (DIGITS.test(word)) return numberSyllables(word);
  const count = language === 'de' ? germanPart : englishPart;
  let n = 0;
  for (const part of word.split(/[-.]/)) n += count(part);
  return Math.max(1, n);
}
