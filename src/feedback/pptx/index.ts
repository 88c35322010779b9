// .pptx input: the request path uses readPptxIsolated (a worker thread), tests may call readPptx.
export { PptxError } from './errors.js';
export { PPTX_LIMITS } from './limits.js';
export { readPptxIsolated } from './isolated.js';
export type { PptxText } from './isolated.js';
export { readPptx } from './read.js';
export type { PptxTalk } from './read.js';
export type { PptxSlide } from './ooxml.js';

export const PPTX_MEDIA_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
