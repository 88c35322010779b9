// A deck as the Markdown the analyser reads: `---` between slides, `# title`, `- ` bullets,
// and reveal.js `Note:` blocks for the speaker notes (README "Speaker notes").
import type { PptxSlide } from './ooxml.js';

// A line of deck text that Markdown or a notes syntax would read as structure gets a backslash
// in front (the analyser counts words, so the backslash costs nothing); titles and bullets sit
// behind their own marker already. No comment may open anywhere.
const STRUCTURAL = /^\s*(?:#|[-*+•]\s|\d{1,3}[.)]\s|-{3,}|```|~~~|=+\s*$|notes?:|\?\?\?|>)/i;

const inert = (text: string): string => text.replaceAll('<!--', '<! --');

function safe(text: string): string {
  const line = inert(text);
  return STRUCTURAL.test(line) ? `\\${line}` : line;
}

export function toMarkdown(slides: readonly PptxSlide[]): string {
  return slides
    .map((s) => {
      // Every slide keeps a heading, so that an image-only slide still counts and numbers stay PowerPoint's.
      const lines = [`# ${s.title === '' ? `Slide ${s.index}` : inert(s.title)}`, ''];
      for (const p of s.body) lines.push(...(p.bullet ? [`- ${inert(p.text)}`] : ['', safe(p.text), '']));
      if (s.notes.length > 0) lines.push('', 'Note:', ...s.notes.map((n) => `${safe(n)}\n`));
      return lines.join('\n').trimEnd();
    })
    .join('\n\n---\n\n');
}
