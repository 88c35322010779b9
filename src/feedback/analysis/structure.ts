// Finds the four parts of a talk (FEEDBACK.md): opening, agenda, summary, closing.
import type { Language } from '../types.js';
import { STRUCTURE } from '../lexicon.js';
import type { Part } from '../lexicon.js';
import type { SlideStats } from './measure.js';
import { compileRules, containsAny } from './phrases.js';
import type { CompiledRule } from './phrases.js';

const SCAN_WORDS = 300;

export type Structure = Partial<Record<Part, SlideStats>>;

const KEYWORDS: Record<Language, Record<Part, CompiledRule[]>> = {
  en: compileAll('en'),
  de: compileAll('de'),
};

function compileAll(language: Language): Record<Part, CompiledRule[]> {
  const parts = STRUCTURE[language];
  const compile = (words: readonly string[]): CompiledRule[] => compileRules(words.map((phrase) => ({ phrase })), true);
  return { opening: compile(parts.opening), agenda: compile(parts.agenda), summary: compile(parts.summary), closing: compile(parts.closing) };
}

// Where each part is looked for: the agenda in the first 4 slides, the opening in the first
// third (at most 3, skipping the agenda), the summary in the last 3, the closing in the last 2.
export function findStructure(slides: readonly SlideStats[], language: Language): Structure {
  const rules = KEYWORDS[language];
  const n = slides.length;
  // A part announces itself early on its slide: the first words are enough, and stay cheap on a huge slide.
  const has = (slide: SlideStats, part: Part): boolean => containsAny(slide.tokens.slice(0, SCAN_WORDS), rules[part]);
  const agenda = slides.slice(0, 4).find((s) => has(s, 'agenda'));
  const opening = slides.slice(0, Math.max(1, Math.min(3, Math.ceil(n / 3)))).find((s) => s !== agenda && has(s, 'opening'));
  const summary = slides.slice(Math.max(0, n - 3)).findLast((s) => has(s, 'summary'));
  const closing = slides.slice(Math.max(0, n - 2)).findLast((s) => has(s, 'closing'));
  const found: Structure = {};
  if (opening !== undefined) found.opening = opening;
  if (agenda !== undefined) found.agenda = agenda;
  if (summary !== undefined) found.summary = summary;
  if (closing !== undefined) found.closing = closing;
  return found;
}
