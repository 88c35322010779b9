// Turns a talk into Feedback: figures first, then findings (each with a score penalty), then text.
import type { Feedback, Language, SlideFeedback } from '../types.js';
import { FILLERS } from '../lexicon.js';
import { detectLanguage } from './language.js';
import { countSyllables, spokenView, tokenizeSlides } from './measure.js';
import type { SlideStats } from './measure.js';
import { messages } from './messages.js';
import type { Messages } from './messages.js';
import { compileRules, countPhrases, indexRules } from './phrases.js';
import { readability } from './readability.js';
import { findRepeats } from './repetition.js';
import { splitSlides } from './slides.js';
import { findStructure } from './structure.js';
import { estimateTime, timeMetrics, WORDS_PER_MINUTE } from './timing.js';
import type { TimeEstimate } from './timing.js';

export const MODEL = 'local-analyser-1';
export { WORDS_PER_MINUTE };
const SLIDE_WORDS_MAX = 80; // "a slide of 80+ words is a document"
const BULLETS_MAX = 6; // 6×6 rule
const BULLET_WORDS_MAX = 12;
const SENTENCE_WORDS_MAX = 25;
const LISTED_MAX = 5; // slides named one by one per finding; the rest are summed up
const NOTES_PER_SLIDE_MAX = 8;

const FILLER_INDEX = { en: indexRules(compileRules(FILLERS.en)), de: indexRules(compileRules(FILLERS.de)) };

export interface AnalyseOptions {
  language: Language | 'auto';
  targetMinutes?: number | undefined;
  /** Called between phases; throws to abort. */
  checkpoint?: () => void;
}

interface Finding {
  penalty: number;
  text: string;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round10 = (n: number): number => Math.max(10, Math.round(n / 10) * 10);

// Score = 100 minus the findings' penalties, each capped per kind:
//   slides of 80+ words 8 each (max 24) · >6 bullets 4 each (max 12) · bullets of 12+ words 2 per slide (max 10)
//   overrun of the target >10 %: 5 + 1 per 4 % (max 15) · under 70 % of it: 4
//   fillers ≥1 per 100 words: 4 per 1/100 words (max 15) · each repeated phrase 3 (max 9)
//   missing opening 6, closing 6, summary 5, agenda 4 · Flesch/Amstad <30: 10, <45: 5 · a 30+ word sentence 3
//   fewer than 50 words in all: 40 and the score capped at 30 · headings only: 30
//   with notes: slides without notes 1 each (max 4) · without notes: a bare "Questions" last slide 3
// Slide text is judged as shown (6×6, words per slide); the notes, when there are any, as spoken
// (time, fillers, repetition, sentence length, readability). Without notes the slide text is all
// there is and stands in for both, but the time comes from the slide count (timing.ts).
export function analyse(content: string, options: AnalyseOptions): Feedback {
  const check = options.checkpoint ?? ((): void => undefined);
  const parsed = splitSlides(content);
  check();
  const { slides, headingWords } = tokenizeSlides(parsed);
  const shownWords = slides.reduce((n, s) => n + s.words, 0);
  const spokenWords = slides.reduce((n, s) => n + s.notes.words, 0);
  const hasNotes = spokenWords > 0;
  const language = options.language === 'auto' ? detectLanguage(hasNotes ? [...slides, ...spokenView(slides)] : slides) : options.language;
  const m = messages(language);
  const target = options.targetMinutes !== undefined && Number.isFinite(options.targetMinutes) && options.targetMinutes > 0
    ? options.targetMinutes
    : undefined;
  const estimate = estimateTime(slides.length, spokenWords);
  const minutes = estimate.minutes;
  const notes = new Map<number, string[]>(slides.map((s) => [s.index, []]));
  const note = (slide: SlideStats, text: string): void => {
    notes.get(slide.index)?.push(text);
  };
  const wordsPerSlideMax = slides.reduce((n, s) => Math.max(n, s.words), 0);
  const metrics: Feedback['metrics'] = { slides: slides.length, words: shownWords, ...timeMetrics(estimate), wordsPerSlideMax, readability: 0 };
  if (target !== undefined) metrics.targetMinutes = target;
  const words = shownWords + spokenWords;

  if (words === 0) {
    return {
      provider: 'local', model: MODEL, language, score: 0, summary: m.empty.summary, strengths: [],
      improvements: [m.empty.improvement], slides: slides.map((s) => ({ index: s.index, title: s.title, notes: [] })), metrics,
    };
  }

  countSyllables(slides, language);
  // What is said: the notes when there are any, else the slide text.
  const spoken = spokenView(slides);
  const speechWords = hasNotes ? spokenWords : shownWords;
  check();
  const findings: Finding[] = [];
  const strengths: string[] = [];
  const capped = (penalty: number, cap: number, used: { total: number }): number => {
    const p = Math.min(penalty, cap - used.total);
    used.total += Math.max(0, p);
    return Math.max(0, p);
  };

  // Structure first, so that its positive notes lead each slide's notes.
  const structure = findStructure(slides, language);
  for (const part of ['opening', 'agenda', 'summary', 'closing'] as const) {
    const slide = structure[part];
    if (slide !== undefined) note(slide, m.note[part]);
  }

  // Too little to judge: say so, and praise nothing.
  const judgeable = words >= 50;
  if (!judgeable) findings.push({ penalty: 40, text: m.tooShort(words, slides.length) });
  else if (slides.length >= 2 && slides.every((s) => s.headingOnly) && !hasNotes) findings.push({ penalty: 30, text: m.headingsOnly(slides.length) });

  if (hasNotes) {
    timing(m, spokenWords, minutes, target, findings, strengths);
    const silent = slides.filter((s) => s.notes.words === 0 && !s.headingOnly).map((s) => s.index);
    if (silent.length > 0) findings.push({ penalty: Math.min(4, silent.length), text: m.missingNotes(silent) });
  } else {
    slideTiming(m, estimate, slides.length, target, findings, strengths);
  }
  density(m, slides, findings, strengths, note, capped);
  fillers(m, spoken, speechWords, language, findings, strengths, note);
  check();

  const repeatUsed = { total: 0 };
  for (const r of findRepeats(spoken, language, headingWords, speechWords)) {
    findings.push({ penalty: capped(3, 9, repeatUsed), text: r.pet ? m.petPhrase(r.phrase, r.count, r.slides) : m.repeatedPhrase(r.phrase, r.count, r.slides) });
  }

  const first = slides[0];
  const last = slides[slides.length - 1];
  if (first !== undefined && last !== undefined && slides.length >= 3) {
    if (structure.opening !== undefined) strengths.push(m.strength.opening(structure.opening));
    else findings.push({ penalty: 6, text: m.missingOpening(first) });
    if (structure.agenda !== undefined) strengths.push(m.strength.agenda(structure.agenda));
    else if (slides.length > 8 || minutes > 10) findings.push({ penalty: 4, text: m.missingAgenda(slides.length, minutes) });
    if (structure.summary !== undefined) strengths.push(m.strength.summary(structure.summary));
    else if (slides.length >= 6 || minutes >= 5) findings.push({ penalty: 5, text: m.missingSummary(last.index) });
    if (structure.closing !== undefined) strengths.push(m.strength.closing(structure.closing));
    else findings.push({ penalty: 6, text: m.missingClosing(last.index) });
  }
  if (structure.bareQuestions !== undefined) findings.push({ penalty: 3, text: m.bareQuestions(structure.bareQuestions) });

  metrics.readability = readable(m, spoken, speechWords, language, findings, strengths);

  // Stable sort: equal penalties keep the order above (timing, density, fillers, repetition, structure).
  const improvements = findings.map((f, i) => ({ ...f, i })).sort((a, b) => b.penalty - a.penalty || a.i - b.i).map((f) => f.text);
  // A talk too short to judge cannot score as if it had been judged: at most 30.
  const score = Math.max(0, Math.min(judgeable ? 100 : 30, 100 - findings.reduce((n, f) => n + f.penalty, 0)));
  const slideFeedback: SlideFeedback[] = slides.map((s) => ({ index: s.index, title: s.title, notes: (notes.get(s.index) ?? []).slice(0, NOTES_PER_SLIDE_MAX) }));
  return {
    provider: 'local',
    model: MODEL,
    language,
    score,
    summary: m.summary(slides.length, shownWords, estimate, target, score, improvements.length, judgeable),
    strengths: judgeable ? strengths : [],
    improvements,
    slides: slideFeedback,
    metrics,
  };
}

function timing(m: Messages, words: number, minutes: number, target: number | undefined, findings: Finding[], strengths: string[]): void {
  if (target === undefined) return;
  const budget = target * WORDS_PER_MINUTE;
  if (words > budget * 1.1) {
    const cut = round10(words - budget);
    const overPct = ((words - budget) / budget) * 100;
    findings.push({ penalty: Math.min(15, 5 + Math.round(overPct / 4)), text: m.timingOver(minutes, target, cut, round1(cut / WORDS_PER_MINUTE)) });
  } else if (words < budget * 0.7) {
    findings.push({ penalty: 4, text: m.timingUnder(minutes, target, round10(budget - words)) });
  } else {
    strengths.push(m.strength.timing(minutes, target));
  }
}

// Without notes only the slide count speaks for the length: 1–2 minutes a slide.
function slideTiming(m: Messages, estimate: TimeEstimate, count: number, target: number | undefined, findings: Finding[], strengths: string[]): void {
  if (target === undefined || estimate.basis !== 'slides' || count === 0) return;
  const [low, high] = estimate.range;
  const fit: [number, number] = [Math.max(1, Math.ceil(target / 2)), Math.max(1, Math.floor(target))];
  if (low > target * 1.1) {
    const overPct = ((low - target) / target) * 100;
    findings.push({ penalty: Math.min(15, 5 + Math.round(overPct / 4)), text: m.slidesOver(count, target, low, high, fit) });
  } else if (high < target * 0.7) {
    findings.push({ penalty: 4, text: m.slidesUnder(count, target, low, high, fit) });
  } else {
    strengths.push(m.strength.slidesFit(count, target, low, high));
  }
}

function density(
  m: Messages, slides: readonly SlideStats[], findings: Finding[], strengths: string[],
  note: (s: SlideStats, t: string) => void, capped: (p: number, cap: number, used: { total: number }) => number,
): void {
  const overlong = slides.filter((s) => s.words >= SLIDE_WORDS_MAX);
  const overlongUsed = { total: 0 };
  for (const s of overlong) note(s, m.note.words(s.words));
  for (const s of overlong.slice(0, LISTED_MAX)) findings.push({ penalty: capped(8, 24, overlongUsed), text: m.overlongSlide(s, s.words) });
  if (overlong.length > LISTED_MAX) {
    const rest = overlong.slice(LISTED_MAX);
    findings.push({ penalty: 0, text: m.moreOverlongSlides(rest.length, rest.map((s) => s.index)) });
  }
  const longest = slides.reduce<SlideStats | undefined>((a, s) => (a === undefined || s.words > a.words ? s : a), undefined);
  if (overlong.length === 0 && longest !== undefined && slides.length >= 2) strengths.push(m.strength.concise(longest, longest.words));

  const bulletsUsed = { total: 0 };
  let listed = 0;
  for (const s of slides) {
    if (s.bullets.length <= BULLETS_MAX) continue;
    note(s, m.note.bullets(s.bullets.length));
    if (listed++ < LISTED_MAX) findings.push({ penalty: capped(4, 12, bulletsUsed), text: m.tooManyBullets(s, s.bullets.length) });
  }
  if (listed === 0 && slides.some((s) => s.bullets.length > 0)) strengths.push(m.strength.bullets);

  const longUsed = { total: 0 };
  listed = 0;
  for (const s of slides) {
    const long = s.bullets.filter((b) => b.words > BULLET_WORDS_MAX);
    for (const b of long.slice(0, 3)) note(s, m.note.longBullet(b.position, b.words));
    const worst = long.reduce<(typeof long)[number] | undefined>((a, b) => (a === undefined || b.words > a.words ? b : a), undefined);
    if (worst === undefined || listed++ >= LISTED_MAX) continue;
    findings.push({ penalty: capped(2, 10, longUsed), text: m.longBullets(s, long.length, worst.words, excerpt(worst.text)) });
  }
  for (const s of slides) if (s.longestSentence > SENTENCE_WORDS_MAX) note(s, m.note.longSentence(s.longestSentence));
}

function excerpt(text: string): string {
  const words = text.split(' ');
  return words.length <= 6 ? text : `${words.slice(0, 6).join(' ')} …`;
}

function fillers(
  m: Messages, slides: readonly SlideStats[], words: number, language: Language,
  findings: Finding[], strengths: string[], note: (s: SlideStats, t: string) => void,
): void {
  const total = new Map<string, number>();
  let count = 0;
  let cluster: { slide: SlideStats; count: number } | undefined;
  for (const s of slides) {
    const found = countPhrases(s.tokens, FILLER_INDEX[language]);
    if (found === undefined) continue;
    let onSlide = 0;
    for (const [phrase, n] of found) {
      total.set(phrase, (total.get(phrase) ?? 0) + n);
      onSlide += n;
    }
    count += onSlide;
    note(s, m.note.fillers(m.counted(sortCounts(found))));
    if (cluster === undefined || onSlide > cluster.count) cluster = { slide: s, count: onSlide };
  }
  const rate = round1((count / words) * 100);
  if (cluster !== undefined && count >= 3 && (rate >= 1 || cluster.count >= 3)) {
    const penalty = rate >= 1 ? Math.min(15, Math.round(rate * 4)) : 2;
    findings.push({ penalty, text: m.fillers(rate, count, m.counted(sortCounts(total).slice(0, 4)), cluster.slide, cluster.count) });
  } else if (words >= 50 && rate < 0.5) {
    strengths.push(m.strength.fewFillers(rate));
  }
}

function sortCounts(map: ReadonlyMap<string, number>): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function readable(
  m: Messages, slides: readonly SlideStats[], words: number, language: Language,
  findings: Finding[], strengths: string[],
): number {
  const sentences = slides.reduce((n, s) => n + s.sentences, 0);
  const syllables = slides.reduce((n, s) => n + s.syllables, 0);
  const score = readability(language, words, sentences, syllables);
  const longest = slides.reduce<SlideStats | undefined>((a, s) => (a === undefined || s.longestSentence > a.longestSentence ? s : a), undefined);
  const longRef = longest !== undefined && longest.longestSentence > SENTENCE_WORDS_MAX ? longest : undefined;
  if (words >= 50 && score < 45) {
    findings.push({ penalty: score < 30 ? 10 : 5, text: m.hardToRead(score, words / sentences, longRef) });
  } else if (longRef !== undefined && longRef.longestSentence >= 30) {
    findings.push({ penalty: 3, text: m.longSentence(longRef, longRef.longestSentence) });
  }
  if (words >= 50 && score >= 60) strengths.push(m.strength.readable(score));
  return score;
}
