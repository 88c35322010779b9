// The bounds on reading a .pptx (README "PowerPoint"). Only the slide and notes XML is ever
// inflated, never media, so a deck of photos costs no more than its text.
export const PPTX_LIMITS = {
  /** The upload itself (the route's body limit for .pptx). */
  fileBytes: 20 * 1024 * 1024,
  /** Entries in the zip's central directory; a real deck has a few hundred. */
  entries: 5_000,
  slides: 500,
  /** Uncompressed size of one XML part that is read. */
  partBytes: 4 * 1024 * 1024,
  /** Uncompressed size of all XML parts read together: bounds memory and parse time. */
  readBytes: 24 * 1024 * 1024,
  /** The declared uncompressed total of every entry, read or not: more is a zip bomb. */
  declaredBytes: 1024 * 1024 * 1024,
} as const;
