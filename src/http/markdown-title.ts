// The title of a Markdown body: its first ATX heading (CommonMark: up to three spaces, one to six
// `#`, a space or tab, the text, an optional closing run of `#` after a space).
// Plain string scanning, linear in the body: the regular expression used before,
// /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m, backtracked cubically on "# a" + 2,000 spaces + "b"
// and blocked a worker for seconds per request (issue #10).
const OPENING = /^ {0,3}#{1,6}[ \t]/;

function headingText(line: string): string | undefined {
  const opening = OPENING.exec(line);
  if (!opening) return undefined;
  const text = line.slice(opening[0].length).trim();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  // "## Title ##" → "Title"; "C#" keeps its hash (no space before the run)
  const closed = end === 0 || text[end - 1] === ' ' || text[end - 1] === '\t' ? text.slice(0, end).trim() : text;
  return closed === '' ? undefined : closed;
}

export function markdownTitle(body: string): string | undefined {
  let start = 0;
  while (start < body.length) {
    const newline = body.indexOf('\n', start);
    const end = newline === -1 ? body.length : newline;
    const title = headingText(body.slice(start, end));
    if (title !== undefined) return title;
    start = end + 1;
  }
  return undefined;
}
