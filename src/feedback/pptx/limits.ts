// The bounds on reading a .pptx (README "PowerPoint"). Only the slide and notes XML is ever
// inflated, never media, so a deck of photos costs no more than its text. Inflating is zlib's,
// off the event loop; XML parsing is synchronous, one part at a time with an await between
// parts, at roughly 2 MB/s on a slow core: one part holds the loop for at most ~0.3 s, and a
// whole deck costs at most ~4 s of CPU. Real slides are 5–50 KB of XML each.
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
} as const;
