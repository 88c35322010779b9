// Counts we compute from the talk itself rather than trusting a model to count.
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

const SEPARATOR = /^\s*(?:-{3,}|\*{3,}|_{3,})\s*$/;
const SLIDE_HEADING = /^\s{0,3}#{1,2}\s+\S/;
const ANY_HEADING = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s{0,3}(?:```|~~~)/;
const WORD = /[\p{L}\p{N}]+(?:['’.-][\p{L}\p{N}]+)*/gu;

// Marp/reveal front matter is `---` + `key: value` lines + `---`; it is not a slide.
function stripFrontMatter(lines: string[]): string[] {
  if (lines[0]?.trim() !== '---') return lines;
  const end = lines.findIndex((line, i) => i > 0 && line.trim() === '---');
  if (end < 0) return lines;
  const inner = lines.slice(1, end);
  return inner.every((line) => line.trim() === '' || /^\s*[\w-]+\s*:/.test(line)) ? lines.slice(end + 1) : lines;
}

/** Lines outside fenced code blocks that match `pattern`, by line number. */
function matchingLines(lines: string[], pattern: RegExp): Set<number> {
  const found = new Set<number>();
  let inFence = false;
  lines.forEach((line, i) => {
    if (FENCE.test(line)) inFence = !inFence;
    else if (!inFence && pattern.test(line)) found.add(i);
  });
  return found;
}

export function countWords(text: string): number {
  const plain = text
    .replace(/^\s*(?:```|~~~).*$/gm, ' ') // code fence lines and their language tag
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ') // images
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links keep their text
    .replace(/<[^>]+>/g, ' ') // HTML tags and comments
    .replace(/https?:\/\/\S+/g, ' ');
  return plain.match(WORD)?.length ?? 0;
}

function slideTitle(lines: string[]): string {
  for (const line of lines) {
    const heading = ANY_HEADING.exec(line);
    if (heading) return heading[1] ?? '';
  }
  const first = lines.find((line) => line.trim() !== '' && !FENCE.test(line))?.trim() ?? '';
  return first.replace(/^[-*+>]\s+|^\d+[.)]\s+/, '').slice(0, 80);
}

// Slides are separated by `---` lines when the talk has any, otherwise each `#`/`##` heading starts one.
export function splitSlides(content: string): Slide[] {
  const lines = stripFrontMatter(content.replace(/\r\n?/g, '\n').split('\n'));
  const separators = matchingLines(lines, SEPARATOR);
  const chunks: string[][] = [[]];
  if (separators.size > 0) {
    lines.forEach((line, i) => (separators.has(i) ? chunks.push([]) : chunks.at(-1)?.push(line)));
  } else {
    const headings = matchingLines(lines, SLIDE_HEADING);
    lines.forEach((line, i) => {
      if (headings.has(i)) chunks.push([]);
      chunks.at(-1)?.push(line);
    });
  }
  return chunks
    .map((chunk) => ({ title: slideTitle(chunk), words: countWords(chunk.join('\n')) }))
    .filter((slide) => slide.words > 0 || slide.title !== '')
    .map((slide, i) => ({ index: i + 1, ...slide }));
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

const GERMAN = new Set(['der', 'die', 'das', 'und', 'ist', 'nicht', 'mit', 'für', 'ein', 'eine', 'wir', 'ich', 'sie', 'auf', 'zu', 'den', 'dem', 'von', 'auch', 'wie']);
const ENGLISH = new Set(['the', 'and', 'is', 'not', 'with', 'for', 'a', 'an', 'we', 'i', 'you', 'on', 'to', 'of', 'this', 'that', 'are', 'how', 'what']);

// A fallback for `language: "auto"` when the model does not say which language it found.
export function guessLanguage(text: string): Language {
  let de = 0;
  let en = 0;
  for (const word of text.toLowerCase().match(WORD) ?? []) {
    if (GERMAN.has(word)) de += 1;
    if (ENGLISH.has(word)) en += 1;
  }
  if (/[äöüß]/i.test(text)) de += 1;
  return de > en ? 'de' : 'en';
}
