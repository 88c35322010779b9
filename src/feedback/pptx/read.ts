// A .pptx → the talk's Markdown (with notes) and a title; PptxError for anything refused.
// In the server this runs in a worker thread (isolated.ts); tests call it directly.
import { PptxError } from './errors.js';
import { PPTX_LIMITS } from './limits.js';
import { toMarkdown } from './markdown.js';
import { readSlides } from './ooxml.js';
import type { PptxSlide } from './ooxml.js';
import { openZip } from './zip.js';

export interface PptxTalk {
  title: string;
  markdown: string;
  slides: PptxSlide[];
}

export async function readPptx(buffer: Buffer): Promise<PptxTalk> {
  if (buffer.length > PPTX_LIMITS.fileBytes) throw new PptxError(413, 'BODY_TOO_LARGE', `the .pptx is larger than ${PPTX_LIMITS.fileBytes / 1024 / 1024} MiB`);
  const zip = await openZip(buffer);
  try {
    const slides = await readSlides(zip);
    if (slides.length === 0) throw new PptxError(422, 'PPTX_NO_SLIDES', 'the deck has no readable slides; export it again as .pptx');
    const title = slides.find((s) => s.title !== '')?.title ?? '';
    return { title, markdown: toMarkdown(slides), slides };
  } finally {
    zip.close();
  }
}
