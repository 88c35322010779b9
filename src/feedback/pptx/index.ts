// .pptx input: the request path uses readPptxIsolated (a worker thread), tests may call readPptx.
// The server imports isolated.js and limits.js directly: read.js loads the zip and XML parsers,
// which only the worker thread needs.
export { PptxError } from './errors.js';
export { PPTX_LIMITS, PPTX_MEDIA_TYPE } from './limits.js';
export { readPptxIsolated } from './isolated.js';
export type { PptxText } from './isolated.js';
export { readPptx } from './read.js';
export type { PptxTalk } from './read.js';
export type { PptxSlide } from './ooxml.js';
