// Finds the four parts of a talk (FEEDBACK.md): opening, agenda, summary, closing — by the role
// a slide plays, from its title, text and notes, in the talk's language.
import type { Language } from '../types.js';
import { QUESTIONS, STRUCTURE } from '../lexicon.js';
import type { Part } from '../lexicon.js';
import type { SlideStats } from './measure.js';
import { compileRules, containsAny } from './phrases.js';
import type { CompiledRule } from './phrases.js';

const SCAN_WORDS = 300;
/** A slide with at most this many shown words and no notes is "empty" (a bare "Questions?"). */
const EMPTY_WORDS = 4;

export type Structure = Partial<Record<Part, SlideStats>> & {
  /** The last slide only invites questions, with nothing else on it or in its notes. */
  bareQuestions?: SlideStats;
};

type Rules = Record<Part | 'questions', CompiledRule[]>;

const KEYWORDS: Record<Language, Rules> = {
  en: compileAll('en'),
  de: compileAll('de'),
};

function compileAll(language: Language): Rules {
  const parts = STRUCTURE[language];
  const compile = (words: readonly string[]): CompiledRule[] => compileRules(words.map((phrase) => ({ phrase })), true);
  return {
    opening: compile(parts.opening), agenda: compile(parts.agenda), summary: compile(parts.summary),
    closing: compile(parts.closing), questions: compile(QUESTIONS[language]),
  };
}

const isEmpty = (slide: SlideStats): boolean => slide.words <= EMPTY_WORDS && slide.notes.words === 0;

// Where each part is looked for: the agenda in the first 4 slides, the opening in the first
// third (at most 3, skipping the agenda), the summary in the last 3, the closing in the last 2.
// A closing is thanks, contact or a call to action, or questions with something more to say.
export function findStructure(slides: readonly SlideStats[], language: Language): Structure {
  const rules = KEYWORDS[language];
  const n = slides.length;
  // A part announces itself early on its slide or in its notes: the first words are enough, and stay cheap on a huge slide.
  const has = (slide: SlideStats, part: keyof Rules): boolean =>
    containsAny(slide.tokens.slice(0, SCAN_WORDS), rules[part]) || containsAny(slide.notes.tokens.slice(0, SCAN_WORDS), rules[part]);
  const agenda = slides.slice(0, 4).find((s) => has(s, 'agenda'));
  const opening = slides.slice(0, Math.max(1, Math.min(3, Math.ceil(n / 3)))).find((s) => s !== agenda && has(s, 'opening'));
  const summary = slides.slice(Math.max(0, n - 3)).findLast((s) => has(s, 'summary'));
  const tail = slides.slice(Math.max(0, n - 2));
  const closing = tail.findLast((s) => has(s, 'closing') || (has(s, 'questions') && !isEmpty(s)));
  const last = slides[n - 1];
  const found: Structure = {};
  if (opening !== undefined) found.opening = opening;
  if (agenda !== undefined) found.agenda = agenda;
  if (summary !== undefined) found.summary = summary;
  if (closing !== undefined) found.closing = closing;
  if (last !== undefined && n >= 2 && isEmpty(last) && has(last, 'questions') && !has(last, 'closing')) found.bareQuestions = last;
  return found;
}
