/**
 * `path` without its trailing slashes, by a linear scan: the regex `/\/+$/` backtracks
 * quadratically on a long run of slashes followed by another character (test/redos.test.js).
 */
export function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}
