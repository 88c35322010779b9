// Splits a talk (Markdown or plain text) into slides of headings, bullets and paragraphs, and
// the speaker notes that slide tools keep beside them: Marp/Slidev `<!-- … -->` comments,
// reveal.js `Note:`/`Notes:` blocks and remark's `???` (all to the end of the slide).

export type BlockKind = 'heading' | 'bullet' | 'text';

export interface Block {
  kind: BlockKind;
  /** Plain text: Markdown syntax, links' targets, URLs and HTML removed. */
  text: string;
}

export interface ParsedSlide {
  /** 1-based, in the order of the talk (empty slides are dropped before numbering). */
  index: number;
  title: string;
  blocks: Block[];
  /** Lines inside code fences: on the slide, but not spoken prose. */
  codeLines: number;
  /** Speaker notes, one plain-text paragraph per entry: what is said, not shown. */
  notes: string[];
}

const SEPARATOR = /^ {0,3}-{3,}\s*$/;
const FENCE = /^\s*(?:```|~~~)/;
const SLIDE_HEADING = /^ {0,3}#{1,2}[ \t]+\S/;
const HEADING = /^ {0,3}#{1,6}[ \t](.*)$/;
const BULLET = /^\s*(?:[-*+•]|\d{1,3}[.)])[ \t](.*)$/;
const SETEXT = /^ {0,3}=+\s*$/;
const FRONT_MATTER_LINE = /^(?:[\w-]+\s*:.*|\s.*|\s*)$/;
const TITLE_MAX = 60;
const INLINE_SYNTAX = /[![<*_~`|>]|https?:/;
const MULTI_SPACE = /\s\s|[\t\v\f\r\u00a0\u2000-\u200b\u3000]/;
/** Marks a line that came from an HTML comment (a private-use character, removed from the input first). */
const NOTE_MARK = '\uE000';
const REVEAL_NOTES = /^\s{0,3}notes?:(.*)$/i;
const REMARK_NOTES = /^\s{0,3}\?\?\?\s*$/;
// Marp's directives and Slidev's per-slide settings are comments too, but not notes.
const DIRECTIVE = /^\s*_?([A-Za-z]{1,20})\s*:[^\n]{0,300}$/;
const DIRECTIVES = new Set(['theme', 'paginate', 'header', 'footer', 'class', 'backgroundcolor', 'backgroundimage',
  'backgroundposition', 'backgroundrepeat', 'backgroundsize', 'color', 'size', 'style', 'headingdivider', 'math',
  'marp', 'transition', 'lang', 'layout', 'clicks', 'title', 'description', 'author', 'image', 'keywords', 'url']);

// The bounded repeats keep every pattern linear on hostile input (a megabyte of "![" or "<a").
export function stripInline(line: string): string {
  if (!INLINE_SYNTAX.test(line)) return MULTI_SPACE.test(line) ? line.replace(/\s+/g, ' ').trim() : line.trim();
  return line
    .replace(/!\[[^[\]\n]{0,300}\]\([^()\s]{0,2000}\)/g, ' ')
    .replace(/\[([^[\]\n]{0,300})\]\([^()\s]{0,2000}\)/g, '$1')
    .replace(/<https?:[^<>\s]{0,2000}>/g, ' ')
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/<\/?[a-zA-Z][^<>\n]{0,300}>/g, ' ')
    .replace(/[*_~`|]+/g, ' ')
    .replace(/^\s*>+/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

// `## Title ##`: the closing hashes are syntax (a loop, as a regex for it backtracks on long runs).
function withoutClosingHashes(text: string): string {
  const trimmed = text.trimEnd();
  let end = trimmed.length;
  while (end > 0 && trimmed[end - 1] === '#') end--;
  if (end === trimmed.length || (end > 0 && trimmed[end - 1] !== ' ' && trimmed[end - 1] !== '\t')) return trimmed;
  return trimmed.slice(0, end);
}

function isDirective(body: string): boolean {
  const trimmed = body.trim();
  if (trimmed === 'fit') return true;
  const key = DIRECTIVE.exec(trimmed)?.[1];
  return key !== undefined && DIRECTIVES.has(key.toLowerCase());
}

// HTML comments are notes (Marp, Slidev): their lines are kept, marked, on lines of their own,
// so that a `---` or `#` inside a comment neither splits a slide nor counts as shown text.
// indexOf keeps an unclosed comment linear; its rest is dropped, as a browser would hide it.
function commentsToNotes(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = text.indexOf('<!--', from);
    if (start < 0) return out + text.slice(from);
    const end = text.indexOf('-->', start + 4);
    out += text.slice(from, start);
    if (end < 0) return out;
    const body = text.slice(start + 4, end);
    if (!isDirective(body)) out += `\n${body.split('\n').map((line) => NOTE_MARK + line).join('\n')}\n`;
    from = end + 3;
  }
}

// Marp/Slidev decks open with YAML front matter between two `---` lines: not a slide.
function skipFrontMatter(lines: string[]): number {
  let first = 0;
  while (first < lines.length && (lines[first] ?? '').trim() === '') first++;
  if (first >= lines.length || !SEPARATOR.test(lines[first] ?? '')) return 0;
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (SEPARATOR.test(line)) return i > first + 1 ? i + 1 : 0;
    if (!FRONT_MATTER_LINE.test(line)) return 0;
  }
  return 0;
}

// Slides: `---` lines separate them if there are any; else `#`/`##` headings start them;
// plain text without either gets one slide per blank-line-separated block.
function groupLines(lines: string[]): string[][] {
  const inFence: boolean[] = [];
  let fence = false;
  let separators = false;
  let headings = false;
  for (const line of lines) {
    const toggles = FENCE.test(line);
    inFence.push(fence || toggles);
    if (toggles) fence = !fence;
    else if (!fence) {
      separators ||= SEPARATOR.test(line);
      headings ||= SLIDE_HEADING.test(line);
    }
  }
  const groups: string[][] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length > 0) groups.push(current);
    current = [];
  };
  lines.forEach((line, i) => {
    const code = inFence[i] === true;
    if (separators) {
      if (!code && SEPARATOR.test(line)) return flush();
    } else if (headings) {
      if (!code && SLIDE_HEADING.test(line)) flush();
    } else if (!code && line.trim() === '') {
      return flush();
    }
    current.push(line);
  });
  flush();
  return groups;
}

// Note lines become paragraphs: blank lines end one; list markers and heading hashes go.
function noteParagraphs(lines: readonly string[]): string[] {
  const paragraphs: string[] = [];
  let open = '';
  for (const line of lines) {
    const content = HEADING.exec(line)?.[1] ?? BULLET.exec(line)?.[1] ?? line;
    const text = line.trim() === '' ? '' : stripInline(content);
    if (text === '') {
      if (open !== '') paragraphs.push(open);
      open = '';
    } else {
      open = open === '' ? text : `${open} ${text}`;
    }
  }
  if (open !== '') paragraphs.push(open);
  return paragraphs;
}

function parseGroup(lines: string[]): { blocks: Block[]; codeLines: number; notes: string[] } {
  const blocks: Block[] = [];
  const noteLines: string[] = [];
  let codeLines = 0;
  let fence = false;
  let notesToEnd = false; // after `Note:` or `???`, the rest of the slide is notes
  let open: Block | undefined; // a paragraph or bullet that the next plain line continues
  for (const line of lines) {
    if (line.startsWith(NOTE_MARK)) {
      noteLines.push(line.slice(1));
      continue;
    }
    if (notesToEnd) {
      noteLines.push(line);
      continue;
    }
    if (!fence) {
      const reveal = REVEAL_NOTES.exec(line);
      if (reveal !== null || REMARK_NOTES.test(line)) {
        notesToEnd = true;
        noteLines.push('', (reveal?.[1] ?? '').trim());
        open = undefined;
        continue;
      }
    }
    if (FENCE.test(line)) {
      fence = !fence;
      open = undefined;
      continue;
    }
    if (fence) {
      codeLines++;
      continue;
    }
    if (line.trim() === '' || SETEXT.test(line) || SEPARATOR.test(line)) {
      open = undefined;
      continue;
    }
    const heading = HEADING.exec(line);
    const bullet = heading === null ? BULLET.exec(line) : null;
    const table = line.includes('|');
    const text = stripInline(heading !== null ? withoutClosingHashes(heading[1] ?? '') : bullet?.[1] ?? line);
    if (text === '') continue;
    if (heading !== null || bullet !== null || table) {
      const block: Block = { kind: heading !== null ? 'heading' : bullet !== null ? 'bullet' : 'text', text };
      blocks.push(block);
      open = block.kind === 'heading' || table ? undefined : block;
    } else if (open !== undefined) {
      open.text += ` ${text}`;
    } else {
      open = { kind: 'text', text };
      blocks.push(open);
    }
  }
  return { blocks, codeLines, notes: noteParagraphs(noteLines) };
}

function titleOf(blocks: readonly Block[]): string {
  const block = blocks.find((b) => b.kind === 'heading') ?? blocks[0];
  if (block === undefined) return '';
  const text = block.text.trim();
  if (text.length <= TITLE_MAX) return text;
  const cut = text.slice(0, TITLE_MAX);
  const space = cut.lastIndexOf(' ');
  return `${(space > TITLE_MAX / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function splitSlides(content: string): ParsedSlide[] {
  const normalised = content.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const text = commentsToNotes(normalised.replaceAll(NOTE_MARK, ''));
  const lines = text.split('\n');
  const body = lines.slice(skipFrontMatter(lines));
  const slides: ParsedSlide[] = [];
  for (const group of groupLines(body)) {
    const { blocks, codeLines, notes } = parseGroup(group);
    if (blocks.length === 0 && codeLines === 0) {
      // Notes alone (a comment after a blank line in plain text) belong to the slide before.
      slides.at(-1)?.notes.push(...notes);
      continue;
    }
    slides.push({ index: slides.length + 1, title: titleOf(blocks), blocks, codeLines, notes });
  }
  return slides;
}
