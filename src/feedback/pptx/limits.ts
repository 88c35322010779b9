// The bounds on reading a .pptx (README "PowerPoint"). Only the slide and notes XML is ever
// inflated, never media, so a deck of photos costs no more than its text. The whole read runs in
// a worker thread (isolated.ts), so the server's event loop is never held; XML parses at roughly
// 2 MB/s on a slow core, so the caps below keep a deck to ~4 s of CPU, and parseMs ends it
// regardless. Real slides are 5–50 KB of XML each.
export const PPTX_LIMITS = {
  /** The upload itself (the route's body limit for .pptx). */
  fileBytes: 20 * 1024 * 1024,
  /** Entries in the zip's central directory; a real deck has a few hundred. */
  entries: 5_000,
  slides: 500,
  /** Uncompressed size of one XML part that is read: bounds how long one parse holds the event loop. */
  partBytes: 512 * 1024,
  /** Uncompressed size of all XML parts read together: bounds memory and the request's CPU time. */
  readBytes: 8 * 1024 * 1024,
  /** The declared uncompressed total of every entry, read or not: more is a zip bomb. */
  declaredBytes: 1024 * 1024 * 1024,
  /** The worker thread's deadline and heap. */
  parseMs: 15_000,
  workerHeapMb: 128,
} as const;

export const PPTX_MEDIA_TYPE = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
